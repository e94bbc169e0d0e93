package maps

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// BPF_MAP_TYPE_RINGBUF, laid out as the kernel's kernel/bpf/ringbuf.c: a
// data area of max_entries bytes (a power of 2, page-aligned), a consumer
// and a producer position that only grow, and records of an 8-byte header
// (u32 len with the BUSY bit 31 and the DISCARD bit 30, u32 pg_off) and
// the sample, each record rounded up to 8 bytes. Producers (programs)
// serialise on a lock as on the kernel's spinlock; the consumer (a
// RingbufReader) runs without it and only moves the consumer position.
//
// The kernel maps the data pages twice in a row so that a record that
// wraps around the end is contiguous. gobee allocates twice the data
// size instead: a record that wraps is written into the second half
// (the mirror), and its wrapped part is copied to the start of the ring
// when the record is committed, so that the first half always holds the
// kernel's byte stream; readers read a wrapped record from the mirror.

// Ring buffer record header bits and sizes (include/uapi/linux/bpf.h).
const (
	RingbufBusyBit    = 1 << 31 // BPF_RINGBUF_BUSY_BIT
	RingbufDiscardBit = 1 << 30 // BPF_RINGBUF_DISCARD_BIT
	RingbufHdrSize    = 8       // BPF_RINGBUF_HDR_SZ
)

// Flags of bpf_ringbuf_output, submit and discard.
const (
	RingbufNoWakeup    = 1 << 0 // BPF_RB_NO_WAKEUP
	RingbufForceWakeup = 1 << 1 // BPF_RB_FORCE_WAKEUP
)

// Queries of bpf_ringbuf_query.
const (
	RingbufAvailData = 0 // BPF_RB_AVAIL_DATA
	RingbufRingSize  = 1 // BPF_RB_RING_SIZE
	RingbufConsPos   = 2 // BPF_RB_CONS_POS
	RingbufProdPos   = 3 // BPF_RB_PROD_POS
)

const (
	pageSize = 4096
	// ringbufMaxRecordSize is RINGBUF_MAX_RECORD_SZ.
	ringbufMaxRecordSize = 1<<32/4 - 1
	// ringbufPgOff is the page of the data area in struct bpf_ringbuf
	// (the non-mmapable page, the consumer and the producer pages): the
	// kernel's pg_off of a record is this plus the record's data page.
	ringbufPgOff = 3
	// ringbufMaxData bounds the data area gobee allocates (twice this).
	ringbufMaxData = 1 << 30
)

// ringbufCreateFlagMask is RINGBUF_CREATE_FLAG_MASK.
const ringbufCreateFlagMask = FlagNumaNode

var (
	errRingbufOp = &Error{ENOTSUPP, "ring buffers have no elements: use a RingbufReader"}
	errNotRing   = &Error{unix.EINVAL, "map is not a ring buffer"}
)

// ringbufAllocCheck is the check of ringbuf_map_alloc.
func ringbufAllocCheck(s *Spec) error {
	switch {
	case s.Flags&^ringbufCreateFlagMask != 0:
		return errorf(unix.EINVAL, "flags %#x not valid for ringbuf", s.Flags&^ringbufCreateFlagMask)
	case s.KeySize != 0 || s.ValueSize != 0:
		return errorf(unix.EINVAL, "ringbuf key_size and value_size must be 0 (have %d, %d)", s.KeySize, s.ValueSize)
	case s.MaxEntries == 0 || s.MaxEntries&(s.MaxEntries-1) != 0 || s.MaxEntries%pageSize != 0:
		return errorf(unix.EINVAL, "ringbuf max_entries %d must be a power of 2 and a multiple of the page size", s.MaxEntries)
	case s.MaxEntries > ringbufMaxData:
		return errorf(unix.ENOMEM, "ringbuf of %d bytes exceeds gobee's limit of %d", s.MaxEntries, ringbufMaxData)
	}
	return nil
}

type ringbufCore struct {
	o    *object
	mask uint64
	// mu is the producers' spinlock; pending is rb->pending_pos.
	mu      sync.Mutex
	pending uint64
	cons    atomic.Uint64
	prod    atomic.Uint64
	// cmu serialises consumers (the kernel leaves that to user space).
	cmu  sync.Mutex
	data []byte // 2 × size: the ring, then its mirror
	// wake has a token when a reader should wake up.
	wake chan struct{}
}

// ring registry: the submit and discard helpers get a sample pointer and
// must find its ring, as the kernel does from the header's pg_off.
type ringEntry struct {
	lo, hi uintptr
	rb     weak.Pointer[ringbufCore]
}

var (
	ringsMu sync.RWMutex
	rings   []ringEntry
)

func newRingbufCore(o *object) (core, error) {
	size := uint64(o.spec.MaxEntries)
	words := make([]uint64, 2*size/8)
	rb := &ringbufCore{
		o:    o,
		mask: size - 1,
		data: unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), 2*size),
		wake: make(chan struct{}, 1),
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(rb.data)))
	ringsMu.Lock()
	live := rings[:0]
	for _, e := range rings {
		if e.rb.Value() != nil {
			live = append(live, e)
		}
	}
	rings = append(live, ringEntry{lo: lo, hi: lo + uintptr(2*size), rb: weak.Make(rb)})
	ringsMu.Unlock()
	return rb, nil
}

// ringOf finds the ring whose data holds addr.
func ringOf(addr uint64) *ringbufCore {
	ringsMu.RLock()
	defer ringsMu.RUnlock()
	for _, e := range rings {
		if uintptr(addr) >= e.lo && uintptr(addr) < e.hi {
			return e.rb.Value()
		}
	}
	return nil
}

// The bpf() element commands: ringbuf_map_lookup_elem and friends all
// return -ENOTSUPP.
func (rb *ringbufCore) lookup(key, dst []byte) error { return errRingbufOp }
func (rb *ringbufCore) update(key, value []byte, flags uint64, cpu int, user bool) error {
	return errRingbufOp
}
func (rb *ringbufCore) delete(key []byte) error               { return errRingbufOp }
func (rb *ringbufCore) nextKey(key []byte) ([]byte, error)    { return nil, errRingbufOp }
func (rb *ringbufCore) lookupAndDelete(key, dst []byte) error { return errRingbufOp }
func (rb *ringbufCore) lookupElem(key []byte, cpu int) []byte { return nil }
func (rb *ringbufCore) lookupBatch(o *object, cursor, keys, values []byte, del bool) (int, []byte, error) {
	return 0, nil, errNotSupp
}

func (rb *ringbufCore) size() uint64 { return rb.mask + 1 }

// hdr returns the header word of the record at position pos.
func (rb *ringbufCore) hdr(pos uint64) *uint32 {
	return (*uint32)(unsafe.Pointer(&rb.data[pos&rb.mask]))
}

// recLen is the space a record of sample length n takes.
func recLen(n uint32) uint64 {
	return (uint64(n&^(RingbufBusyBit|RingbufDiscardBit)) + RingbufHdrSize + 7) &^ 7
}

// reserve is __bpf_ringbuf_reserve: the data offset of a new record,
// BUSY, or false when the ring has no room. Its sample is
// rb.sample(off).
func (rb *ringbufCore) reserve(size uint64) (uint64, bool) {
	if size > ringbufMaxRecordSize {
		return 0, false
	}
	n := (size + RingbufHdrSize + 7) &^ 7
	cons := rb.cons.Load()
	rb.mu.Lock()
	defer rb.mu.Unlock()
	pend, prod := rb.pending, rb.prod.Load()
	// Move the pending position past the records committed since.
	for pend < prod {
		l := atomic.LoadUint32(rb.hdr(pend))
		if l&RingbufBusyBit != 0 {
			break
		}
		pend += recLen(l)
	}
	rb.pending = pend
	next := prod + n
	// The producer may not get more than size-1 bytes ahead of the
	// consumer, nor of the oldest record not yet committed.
	if next-cons > rb.mask || next-pend > rb.mask {
		return 0, false
	}
	off := prod & rb.mask
	if end := off + n; end > rb.size() {
		// The record wraps: its mirror starts as the ring's bytes, so
		// that the bytes the program leaves alone (padding) stay as the
		// kernel's double mapping would show them.
		copy(rb.data[rb.size():end], rb.data[:end-rb.size()])
	}
	binary.NativeEndian.PutUint32(rb.data[off+4:], uint32(ringbufPgOff+off/pageSize))
	atomic.StoreUint32(rb.hdr(prod), uint32(size)|RingbufBusyBit)
	rb.prod.Store(next)
	return off, true
}

// sample is the sample of the record at data offset off.
func (rb *ringbufCore) sample(off uint64) []byte {
	l := uint64(atomic.LoadUint32(rb.hdr(off)) &^ (RingbufBusyBit | RingbufDiscardBit))
	start := off + RingbufHdrSize
	return rb.data[start : start+l : start+l]
}

// commit is bpf_ringbuf_commit for the record whose header is at offset
// off of the data area.
func (rb *ringbufCore) commit(off uint64, flags uint64, discard bool) {
	h := rb.hdr(off)
	l := atomic.LoadUint32(h)
	if end := off + recLen(l); end > rb.size() {
		// The record wraps: the part past the end goes to the start.
		copy(rb.data[:end-rb.size()], rb.data[rb.size():end])
	}
	nl := l &^ RingbufBusyBit
	if discard {
		nl |= RingbufDiscardBit
	}
	atomic.StoreUint32(h, nl)
	cons := rb.cons.Load() & rb.mask
	if flags&RingbufForceWakeup != 0 || cons == off && flags&RingbufNoWakeup == 0 {
		rb.notify()
	}
}

func (rb *ringbufCore) notify() {
	select {
	case rb.wake <- struct{}{}:
	default:
	}
}

// output is bpf_ringbuf_output.
func (rb *ringbufCore) output(data []byte, flags uint64) int64 {
	if flags&^(RingbufNoWakeup|RingbufForceWakeup) != 0 {
		return -int64(unix.EINVAL)
	}
	off, ok := rb.reserve(uint64(len(data)))
	if !ok {
		return -int64(unix.EAGAIN)
	}
	copy(rb.sample(off), data)
	rb.commit(off, flags, false)
	return 0
}

// query is bpf_ringbuf_query.
func (rb *ringbufCore) query(flags uint64) uint64 {
	switch flags {
	case RingbufAvailData:
		return rb.prod.Load() - rb.cons.Load()
	case RingbufRingSize:
		return rb.size()
	case RingbufConsPos:
		return rb.cons.Load()
	case RingbufProdPos:
		return rb.prod.Load()
	}
	return 0
}

// consume copies the next committed record into buf (grown as needed),
// skipping discarded ones, and advances the consumer position. ok is
// false when no committed record is next.
func (rb *ringbufCore) consume(buf []byte) (sample []byte, ok bool) {
	rb.cmu.Lock()
	defer rb.cmu.Unlock()
	cons := rb.cons.Load()
	for {
		prod := rb.prod.Load()
		if cons >= prod {
			return buf, false
		}
		l := atomic.LoadUint32(rb.hdr(cons))
		if l&RingbufBusyBit != 0 {
			return buf, false
		}
		n := recLen(l)
		if l&RingbufDiscardBit == 0 {
			start := cons&rb.mask + RingbufHdrSize
			size := uint64(l)
			if uint64(cap(buf)) < size {
				buf = make([]byte, size)
			}
			buf = buf[:size]
			copy(buf, rb.data[start:start+size])
			rb.cons.Store(cons + n)
			return buf, true
		}
		cons += n
		rb.cons.Store(cons)
	}
}

// ringbuf returns m's ring, or errNotRing.
func ringbufOf(m Map) (*ringbufCore, error) {
	o, ok := m.(*object)
	if !ok || o == nil {
		return nil, errNotRing
	}
	rb, ok := o.core.(*ringbufCore)
	if !ok {
		return nil, errNotRing
	}
	return rb, nil
}

// RingbufStream returns a copy of the ring's data area (max_entries
// bytes) and its consumer and producer positions: the bytes a consumer
// that maps a kernel ring buffer would see. Call it while no program
// writes to the ring.
func RingbufStream(m Map) (data []byte, cons, prod uint64, err error) {
	rb, err := ringbufOf(m)
	if err != nil {
		return nil, 0, 0, err
	}
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return append([]byte(nil), rb.data[:rb.size()]...), rb.cons.Load(), rb.prod.Load(), nil
}
