// Package perf reads the samples that programs write to gobee
// BPF_MAP_TYPE_PERF_EVENT_ARRAY maps with bpf_perf_event_output, with the
// API of github.com/cilium/ebpf/perf: NewReader, Read, SetDeadline,
// Close.
package perf

import "github.com/gobee-dev/gobee/maps"

// Reader reads every CPU's buffer of a perf event array.
type Reader = maps.PerfReader

// Record is a sample of one CPU, or a count of lost samples.
type Record = maps.PerfRecord

// ErrClosed is returned by Read after Close.
var ErrClosed = maps.ErrClosed

// NewReader attaches perCPUBuffer bytes per CPU (rounded up to a power
// of 2 pages) to the slots 0..NumCPU-1 of the perf event array m.
func NewReader(m maps.Map, perCPUBuffer int) (*Reader, error) {
	return maps.NewPerfReader(m, perCPUBuffer)
}
