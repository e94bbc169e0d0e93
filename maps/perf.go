package maps

import (
	"encoding/binary"
	"os"
	"sync"
	"time"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/interp"
)

// BPF_MAP_TYPE_PERF_EVENT_ARRAY with user-space readers in place of perf
// events: slot i of the map holds CPU i's buffer of a PerfReader (the
// kernel's slot holds a perf event fd, which cilium/ebpf's perf.Reader
// opens on CPU i). bpf_perf_event_output appends a sample to a slot's
// buffer; a sample that does not fit is lost and counted, and the reader
// sees the count (a PERF_RECORD_LOST) before the next sample of that CPU,
// as with a perf ring.

// PerfCurrentCPU is BPF_F_CURRENT_CPU, the index of the run's own CPU.
const PerfCurrentCPU = 0xffffffff

const (
	perfIndexMask  = 0xffffffff // BPF_F_INDEX_MASK
	perfCtxLenMask = 0xfffff << 32
	// perfHeaderSize is sizeof(struct perf_event_header); a raw sample
	// adds its u32 size and the data, padded so that both are 8-aligned.
	perfHeaderSize = 8
	// perfLostSize is the size of a PERF_RECORD_LOST (header, id, lost).
	perfLostSize = 24
)

var (
	errPerfUpdate = &Error{unix.EBADF, "perf event array slots take a PerfReader, not a perf event fd"}
	errNotPerf    = &Error{unix.EINVAL, "map is not a perf event array"}
	errPerfFlags  = &Error{unix.EINVAL, "bad bpf_perf_event_output flags"}
	errPerfCtxLen = &Error{unix.EFAULT, "BPF_F_CTXLEN_MASK asks for more than the packet"}
)

func init() {
	rules[RingBuf] = typeRule{check: ringbufAllocCheck, alloc: newRingbufCore, noBatch: true}
	rules[PerfEventArray] = typeRule{check: perfAllocCheck, alloc: newPerfCore, noBatch: true}
}

// perfAllocCheck is fd_array_map_alloc_check followed by
// array_map_alloc_check. MaxEntries 0 becomes NumCPU, as cilium/ebpf
// does for perf event arrays (the kernel itself refuses 0).
func perfAllocCheck(s *Spec) error {
	if s.ValueSize != 4 {
		return errorf(unix.EINVAL, "perf event array value_size %d: values are 4-byte fds", s.ValueSize)
	}
	if s.Flags&(FlagRdonlyProg|FlagWronlyProg) != 0 {
		return errorf(unix.EINVAL, "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG are not for perf event arrays")
	}
	if s.MaxEntries == 0 {
		s.MaxEntries = uint32(s.NumCPU)
	}
	return arrayAllocCheck(s)
}

type perfCore struct {
	o     *object
	mu    sync.RWMutex
	slots []*perfBuf
}

// perfBuf is one CPU's buffer of a reader.
type perfBuf struct {
	r    *PerfReader
	cpu  int
	size int // data bytes, a power of 2 pages
	mu   sync.Mutex
	used int
	recs []perfRec
	lost uint64 // lost since the last record written
}

type perfRec struct {
	sample []byte // nil for a lost record
	lost   uint64
	size   int
}

func newPerfCore(o *object) (core, error) {
	return &perfCore{o: o, slots: make([]*perfBuf, o.spec.MaxEntries)}, nil
}

func (p *perfCore) index(key []byte) uint32 { return binary.NativeEndian.Uint32(key) }

// lookup is bpf_fd_array_map_lookup_elem: perf event arrays have no
// map_fd_sys_lookup_elem.
func (p *perfCore) lookup(key, dst []byte) error { return errNotSupp }

func (p *perfCore) update(key, value []byte, flags uint64, cpu int, user bool) error {
	if flags > UpdateExist {
		return errUpdateFlags
	}
	if p.index(key) >= uint32(len(p.slots)) {
		return errIndex
	}
	return errPerfUpdate
}

// delete is fd_array_map_delete_elem: it detaches the slot's reader.
func (p *perfCore) delete(key []byte) error {
	i := p.index(key)
	if i >= uint32(len(p.slots)) {
		return errIndex
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.slots[i] == nil {
		return errNoKey
	}
	p.slots[i] = nil
	return nil
}

func (p *perfCore) nextKey(key []byte) ([]byte, error) {
	return arrayNextKey(key, uint32(len(p.slots)))
}

func (p *perfCore) lookupAndDelete(key, dst []byte) error { return errNotSupp }
func (p *perfCore) lookupElem(key []byte, cpu int) []byte { return nil }
func (p *perfCore) lookupBatch(o *object, cursor, keys, values []byte, del bool) (int, []byte, error) {
	return 0, nil, errNotSupp
}

// output is __bpf_perf_event_output for one sample on CPU cpu.
func (p *perfCore) output(cpu int, flags uint64, data []byte) int64 {
	index := flags & perfIndexMask
	if index == PerfCurrentCPU {
		index = uint64(cpu)
	}
	if index >= uint64(len(p.slots)) {
		return -int64(unix.E2BIG)
	}
	p.mu.RLock()
	b := p.slots[index]
	p.mu.RUnlock()
	if b == nil {
		return -int64(unix.ENOENT)
	}
	if b.cpu != cpu {
		// The slot's event is bound to another CPU.
		return -int64(unix.EOPNOTSUPP)
	}
	return b.write(data)
}

// write appends a sample; -ENOSPC and a lost sample when it does not fit.
func (b *perfBuf) write(data []byte) int64 {
	raw := (len(data)+4+7)&^7 - 4
	size := perfHeaderSize + 4 + raw
	b.mu.Lock()
	need := size
	if b.lost > 0 {
		need += perfLostSize
	}
	// A perf ring keeps one byte free (CIRC_SPACE).
	if b.used+need > b.size-1 {
		b.lost++
		b.mu.Unlock()
		return -int64(unix.ENOSPC)
	}
	if b.lost > 0 {
		b.recs = append(b.recs, perfRec{lost: b.lost, size: perfLostSize})
		b.lost = 0
	}
	s := make([]byte, raw)
	copy(s, data)
	b.recs = append(b.recs, perfRec{sample: s, size: size})
	b.used += need
	b.mu.Unlock()
	b.r.notify()
	return 0
}

// PerfEventOutput is bpf_perf_event_output(ctx, map, flags, data, size):
// 0, or -E2BIG (index out of range), -ENOENT (no reader on the slot),
// -EOPNOTSUPP (the slot is another CPU's), -ENOSPC (buffer full: lost),
// -EINVAL (bad flags). The upper 32 bits of flags (BPF_F_CTXLEN_MASK)
// append that many bytes of the run's packet, as for skb programs
// (-EFAULT if the packet is shorter).
func PerfEventOutput(r *interp.Run, _, m, flags, data, size uint64) (uint64, error) {
	o, ok := lookupHandle(m)
	if !ok {
		return 0, errorf(unix.EINVAL, "bpf_perf_event_output: %#x is not a map", m)
	}
	p, ok := o.core.(*perfCore)
	if !ok {
		return 0, errorf(unix.EINVAL, "bpf_perf_event_output: not allowed on a %v map", o.spec.Type)
	}
	d, err := r.Mem(data, size, false)
	if err != nil {
		return 0, err
	}
	if flags&^(perfIndexMask|perfCtxLenMask) != 0 {
		return errnoRet(errPerfFlags), nil
	}
	if ctxLen := flags & perfCtxLenMask >> 32; ctxLen != 0 {
		pkt := r.Packet()
		if pkt == nil {
			return errnoRet(errPerfFlags), nil
		}
		if ctxLen > uint64(len(pkt)) {
			return errnoRet(errPerfCtxLen), nil
		}
		d = append(append([]byte(nil), d...), pkt[:ctxLen]...)
	}
	return uint64(p.output(r.CPU(), flags&perfIndexMask, d)), nil
}

// PerfRecord is one record of a PerfReader: a sample, or a count of
// samples lost on CPU because its buffer was full.
type PerfRecord struct {
	CPU int
	// RawSample is the sample, padded with zeros as the kernel pads it
	// (len+4 rounded up to 8, less 4).
	RawSample   []byte
	LostSamples uint64
	// Remaining is the number of bytes left in CPU's buffer.
	Remaining int
}

// PerfReader reads the samples that programs write to a perf event array
// with bpf_perf_event_output, like cilium/ebpf's perf.Reader: one buffer
// per CPU, attached to the slot of that CPU.
type PerfReader struct {
	p        *perfCore
	bufs     []*perfBuf
	mu       sync.Mutex
	next     int
	wake     chan struct{}
	closed   chan struct{}
	once     sync.Once
	dmu      sync.Mutex
	deadline time.Time
}

// NewPerfReader attaches a reader with perCPUBuffer bytes per CPU
// (rounded up to a power of 2 number of pages) to the slots 0..NumCPU-1
// of the perf event array m, replacing what was there. E2BIG if m has
// fewer slots than CPUs.
func NewPerfReader(m Map, perCPUBuffer int) (*PerfReader, error) {
	o, ok := m.(*object)
	if !ok || o == nil {
		return nil, errNotPerf
	}
	p, ok := o.core.(*perfCore)
	if !ok {
		return nil, errNotPerf
	}
	if perCPUBuffer < 1 {
		return nil, errorf(unix.EINVAL, "perCPUBuffer %d must be positive", perCPUBuffer)
	}
	if o.ncpu > len(p.slots) {
		return nil, errorf(unix.E2BIG, "perf event array has %d slots for %d CPUs", len(p.slots), o.ncpu)
	}
	pages := (perCPUBuffer + pageSize - 1) / pageSize
	np := 1
	for np < pages {
		np <<= 1
	}
	r := &PerfReader{p: p, wake: make(chan struct{}, 1), closed: make(chan struct{})}
	for cpu := 0; cpu < o.ncpu; cpu++ {
		r.bufs = append(r.bufs, &perfBuf{r: r, cpu: cpu, size: np * pageSize})
	}
	p.mu.Lock()
	for cpu, b := range r.bufs {
		p.slots[cpu] = b
	}
	p.mu.Unlock()
	return r, nil
}

func (r *PerfReader) notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Close detaches the reader from the map; Reads fail with ErrClosed.
func (r *PerfReader) Close() error {
	r.once.Do(func() {
		r.p.mu.Lock()
		for i, b := range r.p.slots {
			if b != nil && b.r == r {
				r.p.slots[i] = nil
			}
		}
		r.p.mu.Unlock()
		close(r.closed)
	})
	return nil
}

// SetDeadline makes Read fail with os.ErrDeadlineExceeded after t.
func (r *PerfReader) SetDeadline(t time.Time) {
	r.dmu.Lock()
	r.deadline = t
	r.dmu.Unlock()
}

// BufferSize is the size of each CPU's buffer.
func (r *PerfReader) BufferSize() int { return r.bufs[0].size }

// take removes the next record of some CPU, round robin.
func (r *PerfReader) take() (PerfRecord, bool) {
	for k := range r.bufs {
		i := (r.next + k) % len(r.bufs)
		b := r.bufs[i]
		b.mu.Lock()
		if len(b.recs) == 0 {
			b.mu.Unlock()
			continue
		}
		rec := b.recs[0]
		b.recs[0] = perfRec{}
		b.recs = b.recs[1:]
		b.used -= rec.size
		rem := b.used
		b.mu.Unlock()
		r.next = i
		return PerfRecord{CPU: b.cpu, RawSample: rec.sample, LostSamples: rec.lost, Remaining: rem}, true
	}
	r.next = (r.next + 1) % len(r.bufs)
	return PerfRecord{}, false
}

// Read returns the next record of any CPU, blocking until there is one,
// the deadline passes or the reader is closed.
func (r *PerfReader) Read() (PerfRecord, error) {
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
			return PerfRecord{}, ErrClosed
		default:
		}
		if rec, ok := r.take(); ok {
			return rec, nil
		}
		r.dmu.Lock()
		d := r.deadline
		r.dmu.Unlock()
		var expired <-chan time.Time
		if !d.IsZero() {
			wait := time.Until(d)
			if wait <= 0 {
				return PerfRecord{}, os.ErrDeadlineExceeded
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
			return PerfRecord{}, ErrClosed
		case <-expired:
			return PerfRecord{}, os.ErrDeadlineExceeded
		case <-r.wake:
		}
	}
}
