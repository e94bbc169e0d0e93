package maps

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/gobee-dev/gobee/interp"
)

// Helper ids of the ring buffer and perf event helpers (enum bpf_func_id).
const (
	HelperPerfEventOutput = 25
	HelperRingbufOutput   = 130
	HelperRingbufReserve  = 131
	HelperRingbufSubmit   = 132
	HelperRingbufDiscard  = 133
	HelperRingbufQuery    = 134
)

func ringArg(name string, handle uint64) (*ringbufCore, error) {
	o, ok := lookupHandle(handle)
	if !ok {
		return nil, fmt.Errorf("%s: %#x is not a map", name, handle)
	}
	rb, ok := o.core.(*ringbufCore)
	if !ok {
		return nil, fmt.Errorf("%s: not allowed on a %v map", name, o.spec.Type)
	}
	return rb, nil
}

// RingbufOutput is bpf_ringbuf_output(ringbuf, data, size, flags): 0,
// -EAGAIN when the ring has no room, -EINVAL for unknown flags.
func RingbufOutput(r *interp.Run, m, data, size, flags, _ uint64) (uint64, error) {
	rb, err := ringArg("bpf_ringbuf_output", m)
	if err != nil {
		return 0, err
	}
	d, err := r.Mem(data, size, false)
	if err != nil {
		return 0, fmt.Errorf("bpf_ringbuf_output: data: %w", err)
	}
	return uint64(rb.output(d, flags)), nil
}

// RingbufReserve is bpf_ringbuf_reserve(ringbuf, size, flags): a pointer
// to size bytes of a new record, granted to the run, or 0 (NULL) when the
// ring has no room or flags is not 0. The program must submit or discard
// the record before it exits, as the verifier enforces.
func RingbufReserve(r *interp.Run, m, size, flags, _, _ uint64) (uint64, error) {
	rb, err := ringArg("bpf_ringbuf_reserve", m)
	if err != nil {
		return 0, err
	}
	if flags != 0 {
		return 0, nil
	}
	off, ok := rb.reserve(size)
	if !ok {
		return 0, nil
	}
	r.Grant(rb.sample(off), true)
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(rb.data)))) + off + RingbufHdrSize, nil
}

// ringbufCommit resolves the sample of submit and discard.
func ringbufCommit(name string, sample, flags uint64, discard bool) (uint64, error) {
	rb := ringOf(sample)
	if rb == nil {
		return 0, fmt.Errorf("%s: %#x is not a ring buffer record", name, sample)
	}
	base := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(rb.data))))
	off := sample - base - RingbufHdrSize
	if sample < base+RingbufHdrSize || off > rb.mask || off%8 != 0 ||
		atomic.LoadUint32(rb.hdr(off))&RingbufBusyBit == 0 {
		return 0, fmt.Errorf("%s: %#x is not a reserved ring buffer record", name, sample)
	}
	rb.commit(off, flags, discard)
	return 0, nil
}

// RingbufSubmit is bpf_ringbuf_submit(sample, flags).
func RingbufSubmit(_ *interp.Run, sample, flags, _, _, _ uint64) (uint64, error) {
	return ringbufCommit("bpf_ringbuf_submit", sample, flags, false)
}

// RingbufDiscard is bpf_ringbuf_discard(sample, flags).
func RingbufDiscard(_ *interp.Run, sample, flags, _, _, _ uint64) (uint64, error) {
	return ringbufCommit("bpf_ringbuf_discard", sample, flags, true)
}

// RingbufQuery is bpf_ringbuf_query(ringbuf, flags): BPF_RB_AVAIL_DATA,
// BPF_RB_RING_SIZE, BPF_RB_CONS_POS or BPF_RB_PROD_POS, 0 for others.
func RingbufQuery(_ *interp.Run, m, flags, _, _, _ uint64) (uint64, error) {
	rb, err := ringArg("bpf_ringbuf_query", m)
	if err != nil {
		return 0, err
	}
	return rb.query(flags), nil
}
