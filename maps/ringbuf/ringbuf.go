// Package ringbuf reads gobee BPF_MAP_TYPE_RINGBUF maps with the API of
// github.com/cilium/ebpf/ringbuf: NewReader, Read, ReadInto,
// SetDeadline, AvailableBytes, Flush, Close.
package ringbuf

import "github.com/gobee-dev/gobee/maps"

// Reader reads the records of a ring buffer in order, skipping discarded
// ones.
type Reader = maps.RingbufReader

// Record is one sample.
type Record = maps.RingbufRecord

// ErrClosed is returned by Read after Close; ErrFlushed when Flush
// interrupted it.
var (
	ErrClosed  = maps.ErrClosed
	ErrFlushed = maps.ErrFlushed
)

// NewReader creates a reader of the ring buffer m.
func NewReader(m maps.Map) (*Reader, error) { return maps.NewRingbufReader(m) }
