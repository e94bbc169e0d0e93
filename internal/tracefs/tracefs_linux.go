package tracefs

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Mount returns the directory of a mounted tracefs, mounting it at
// /sys/kernel/tracing first when it is not mounted (which needs root).
func Mount() (string, error) {
	if d, err := Find(); err == nil {
		return d, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%w: not mounted at /sys/kernel/tracing, and mounting it needs root", ErrUnavailable)
	}
	if err := unix.Mount("nodev", dirs[0], "tracefs", 0, ""); err != nil {
		return "", fmt.Errorf("%w: mount -t tracefs nodev %s: %v", ErrUnavailable, dirs[0], err)
	}
	return Find()
}

// OpenPipe opens dir's trace_pipe without blocking.
func OpenPipe(dir string) (*Pipe, error) {
	fd, err := unix.Open(dir+"/trace_pipe", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir + "/trace_pipe", Err: err}
	}
	return &Pipe{fd: fd}, nil
}

// ReadAvailable returns the complete lines the pipe holds now, without
// their newlines; a partial last line is kept for the next call.
func (p *Pipe) ReadAvailable() ([]string, error) {
	buf := make([]byte, 1<<16)
	for {
		n, err := unix.Read(p.fd, buf)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) || n == 0 && err == nil {
			break
		}
		if err != nil {
			return p.lines(), err
		}
		p.partial = append(p.partial, buf[:n]...)
	}
	return p.lines(), nil
}

// wait waits for the pipe to become readable, at most 20 ms and not
// much past deadline.
func (p *Pipe) wait(deadline time.Time) {
	pfd := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
	ms := min(int(time.Until(deadline)/time.Millisecond)+1, 20)
	_, _ = unix.Poll(pfd, ms)
}

// Close closes the pipe.
func (p *Pipe) Close() error { return unix.Close(p.fd) }

// Comm returns the calling thread's comm.
func Comm() string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/comm", unix.Gettid()))
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

// Gettid returns the calling thread's id: the pid the kernel prints in
// the trace lines of that thread.
func Gettid() int { return unix.Gettid() }
