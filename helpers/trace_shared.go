package helpers

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
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

// Write sends one line (or a few whole lines); it never blocks and never
// fails: a line nobody can take is dropped. Lines longer than PIPE_BUF
// are cut.
func (w *SharedTraceWriter) Write(b []byte) (int, error) {
	n := len(b)
	if len(b) > pipeBuf {
		b = append(b[:pipeBuf-1:pipeBuf-1], '\n')
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for try := 0; try < 2; try++ {
		if w.fd < 0 {
			if time.Now().Before(w.retryAt) {
				return n, nil
			}
			fd, err := unix.Open(w.path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
			if err != nil {
				w.retryAt = time.Now().Add(sharedRetry)
				return n, nil
			}
			var st unix.Stat_t
			if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
				unix.Close(fd)
				w.retryAt = time.Now().Add(sharedRetry)
				return n, nil
			}
			w.fd = fd
		}
		_, err := unix.Write(w.fd, b)
		switch {
		case err == nil, errors.Is(err, unix.EAGAIN):
			return n, nil // written, or the reader is behind: dropped
		}
		// EPIPE: the reader went away (maybe a new one opened a new
		// FIFO); reopen once.
		unix.Close(w.fd)
		w.fd = -1
		w.retryAt = time.Time{}
	}
	return n, nil
}

// Close closes the writer's FIFO descriptor.
func (w *SharedTraceWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd >= 0 {
		unix.Close(w.fd)
		w.fd = -1
	}
	return nil
}

// OpenSharedTrace opens pinRoot's shared trace pipe for reading, creating
// the pin root and the FIFO if needed. Reads block until a line arrives;
// Close (or SetReadDeadline) ends them.
func OpenSharedTrace(pinRoot string) (*os.File, error) {
	if err := os.MkdirAll(pinRoot, 0o755); err != nil {
		return nil, err
	}
	p := SharedTracePath(pinRoot)
	if err := unix.Mkfifo(p, 0o666); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, &os.PathError{Op: "mkfifo", Path: p, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: p, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil, &os.PathError{Op: "open", Path: p, Err: errors.New("not a FIFO")}
	}
	// Read-write: the open does not wait for a writer, and reads block
	// rather than return end-of-file while no writer is there.
	return os.OpenFile(p, os.O_RDWR, 0)
}
