package helpers

import (
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The shared trace pipe: trace_printk output of every gobee process, for
// readers in other processes (`gobee trace pipe`), the analogue of the
// kernel's /sys/kernel/tracing/trace_pipe.
//
// It is a FIFO named SharedTraceName in the pin root. A reader
// (OpenSharedTrace) creates it on demand and opens it read-write, so it
// never sees end-of-file when writers come and go. Writers open it
// O_WRONLY|O_NONBLOCK: with no reader the open fails (ENXIO) and the line
// is dropped; with a reader that does not keep up the write fails
// (EAGAIN) once the FIFO's 64 KiB buffer is full and the line is dropped,
// as the kernel's ring buffer drops when full. Every line is written with
// one write(2) of at most PIPE_BUF (4096) bytes, so lines from concurrent
// processes never interleave. Several readers share the lines between
// them, as readers of trace_pipe do.
//
// FIFOs need a Unix host (trace_shared_unix.go); elsewhere writers drop
// every line and OpenSharedTrace fails (trace_shared_other.go).

// SharedTraceName is the shared trace pipe's file name in the pin root.
const SharedTraceName = ".trace_pipe"

// SharedTracePath is the shared trace pipe of a pin root.
func SharedTracePath(pinRoot string) string { return filepath.Join(pinRoot, SharedTraceName) }

// DefaultPinRoot mirrors objects' pin root choice ($GOBEE_PIN_ROOT, else
// /run/gobee) without importing it.
func DefaultPinRoot() string {
	if v := os.Getenv("GOBEE_PIN_ROOT"); v != "" {
		return v
	}
	return "/run/gobee"
}

// pipeBuf is PIPE_BUF: writes up to this size to a FIFO are atomic.
const pipeBuf = 4096

var (
	sharedMu      sync.Mutex
	sharedWriters = map[string]*SharedTraceWriter{}
)

// sharedWriterFor returns the process's writer for a pin root's pipe.
func sharedWriterFor(pinRoot string) *SharedTraceWriter {
	if abs, err := filepath.Abs(pinRoot); err == nil {
		pinRoot = abs
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	w := sharedWriters[pinRoot]
	if w == nil {
		w = NewSharedTraceWriter(pinRoot)
		sharedWriters[pinRoot] = w
	}
	return w
}

// sharedRetry is how long a writer waits before trying to open the FIFO
// again after finding no reader (to keep trace_printk cheap when nobody
// listens).
const sharedRetry = 50 * time.Millisecond

// SharedTraceWriter writes trace lines to a pin root's shared trace pipe,
// dropping them when nobody reads. It is safe for concurrent use.
type SharedTraceWriter struct {
	path    string
	mu      sync.Mutex
	fd      int
	retryAt time.Time
}

// NewSharedTraceWriter returns a writer for pinRoot's shared trace pipe.
// Nothing is opened until the first line.
func NewSharedTraceWriter(pinRoot string) *SharedTraceWriter {
	return &SharedTraceWriter{path: SharedTracePath(pinRoot), fd: -1}
}
