//go:build !linux

package linuxerr

import (
	"errors"
	"io/fs"
	"strconv"
	"syscall"
)

// Errno is a Linux errno value.
type Errno uintptr

// Error returns Linux's strerror text.
func (e Errno) Error() string {
	if s, ok := errorText[e]; ok {
		return s
	}
	return "errno " + strconv.Itoa(int(e))
}

// Is matches the io/fs and errors sentinels as syscall.Errno does on
// Linux.
func (e Errno) Is(target error) bool {
	switch target {
	case fs.ErrPermission:
		return e == EACCES || e == EPERM
	case fs.ErrExist:
		return e == EEXIST || e == ENOTEMPTY
	case fs.ErrNotExist:
		return e == ENOENT
	case errors.ErrUnsupported:
		return e == ENOSYS || e == ENOTSUP || e == EOPNOTSUPP
	}
	return false
}

// Temporary reports whether the error may go away on retry.
func (e Errno) Temporary() bool {
	return e == EINTR || e == EMFILE || e == ENFILE || e.Timeout()
}

// Timeout reports whether the error is a timeout.
func (e Errno) Timeout() bool {
	return e == EAGAIN || e == ETIMEDOUT
}

// FromHost returns the Linux errno a host error carries (an errno from a
// system call, usually inside an *os.PathError), or 0: the host's errno
// translated to Linux's number, else the errno matching the error's io/fs
// sentinel.
func FromHost(err error) Errno {
	if err == nil {
		return 0
	}
	var le Errno
	if errors.As(err, &le) {
		return le
	}
	var se syscall.Errno
	if errors.As(err, &se) {
		if e, ok := hostErrnos[se]; ok {
			return e
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ENOENT
	case errors.Is(err, fs.ErrExist):
		return EEXIST
	case errors.Is(err, fs.ErrPermission):
		return EACCES
	case errors.Is(err, errors.ErrUnsupported):
		return EOPNOTSUPP
	}
	return 0
}
