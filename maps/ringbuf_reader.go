package maps

import (
	"errors"
	"os"
	"sync"
	"time"
)

// ErrClosed is returned by the readers' Read after Close (os.ErrClosed,
// as cilium/ebpf's ringbuf.ErrClosed and perf.ErrClosed).
var ErrClosed = os.ErrClosed

// ErrFlushed is returned by Read when Flush interrupted it.
var ErrFlushed = errors.New("data was flushed")

// RingbufRecord is one sample read from a ring buffer.
type RingbufRecord struct {
	RawSample []byte
	// Remaining is the number of bytes the producers have written after
	// this record and the reader has not read yet.
	Remaining int
}

// RingbufReader reads the records of a ring buffer in order, skipping
// discarded ones, like cilium/ebpf's ringbuf.Reader. Read blocks until a
// record is committed with a wakeup (see BPF_RB_NO_WAKEUP), the deadline
// passes or the reader is closed. A reader is safe for concurrent use;
// two readers of one ring share its records.
type RingbufReader struct {
	rb       *ringbufCore
	mu       sync.Mutex // one Read at a time, as cilium's
	closed   chan struct{}
	flush    chan struct{}
	once     sync.Once
	dmu      sync.Mutex
	deadline time.Time
}

// NewRingbufReader creates a reader of the ring buffer m.
func NewRingbufReader(m Map) (*RingbufReader, error) {
	rb, err := ringbufOf(m)
	if err != nil {
		return nil, err
	}
	return &RingbufReader{rb: rb, closed: make(chan struct{}), flush: make(chan struct{}, 1)}, nil
}

// Close makes pending and later Reads fail with ErrClosed.
func (r *RingbufReader) Close() error {
	r.once.Do(func() { close(r.closed) })
	return nil
}

// SetDeadline makes Read fail with os.ErrDeadlineExceeded after t; the
// zero time means no deadline.
func (r *RingbufReader) SetDeadline(t time.Time) {
	r.dmu.Lock()
	r.deadline = t
	r.dmu.Unlock()
}

// BufferSize is the size of the ring's data area.
func (r *RingbufReader) BufferSize() int { return int(r.rb.size()) }

// AvailableBytes is the number of bytes between the consumer and the
// producer position (BPF_RB_AVAIL_DATA).
func (r *RingbufReader) AvailableBytes() int { return int(r.rb.query(RingbufAvailData)) }

// Flush wakes up a blocked Read, which returns ErrFlushed once no
// committed record is left.
func (r *RingbufReader) Flush() error {
	select {
	case r.flush <- struct{}{}:
	default:
	}
	return nil
}

// Read returns the next record.
func (r *RingbufReader) Read() (RingbufRecord, error) {
	var rec RingbufRecord
	err := r.ReadInto(&rec)
	return rec, err
}

// ReadInto reads the next record into rec, reusing rec.RawSample's
// storage.
func (r *RingbufReader) ReadInto(rec *RingbufRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-r.closed:
			return ErrClosed
		default:
		}
		if s, ok := r.rb.consume(rec.RawSample[:0]); ok {
			rec.RawSample = s
			rec.Remaining = r.AvailableBytes()
			return nil
		}
		r.dmu.Lock()
		d := r.deadline
		r.dmu.Unlock()
		var expired <-chan time.Time
		if !d.IsZero() {
			wait := time.Until(d)
			if wait <= 0 {
				return os.ErrDeadlineExceeded
			}
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			expired = timer.C
		}
		select {
		case <-r.closed:
			return ErrClosed
		case <-r.flush:
			if s, ok := r.rb.consume(rec.RawSample[:0]); ok {
				rec.RawSample = s
				rec.Remaining = r.AvailableBytes()
				return nil
			}
			return ErrFlushed
		case <-expired:
			return os.ErrDeadlineExceeded
		case <-r.rb.wake:
		}
	}
}
