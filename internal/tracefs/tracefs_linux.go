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

// lockPath serialises gobee's readers of trace_pipe across processes.
var lockPath = os.TempDir() + "/gobee-trace_pipe.lock"

// OpenPipe opens dir's trace_pipe without blocking. trace_pipe is one
// consuming stream for the whole machine: a line read by one reader is
// gone for the others, and Clear empties it for everybody. So OpenPipe
// first takes an exclusive lock (flock on lockPath) that Close releases,
// and gobee's readers — `gobee run --engine kernel`, the differential
// tests of parallel test packages — take turns instead of stealing each
// other's lines. It waits for the lock.
func OpenPipe(dir string) (*Pipe, error) {
	lock, err := unix.Open(lockPath, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o666)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: lockPath, Err: err}
	}
	for {
		err = unix.Flock(lock, unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(lock)
		return nil, &os.PathError{Op: "flock", Path: lockPath, Err: err}
	}
	fd, err := unix.Open(dir+"/trace_pipe", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(lock)
		return nil, &os.PathError{Op: "open", Path: dir + "/trace_pipe", Err: err}
	}
	return &Pipe{fd: fd, lock: lock}, nil
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

// Close closes the pipe and lets the next reader in.
func (p *Pipe) Close() error {
	err := unix.Close(p.fd)
	unix.Close(p.lock) // releases the flock
	return err
}

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
