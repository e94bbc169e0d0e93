//go:build unix

package helpers

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

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
