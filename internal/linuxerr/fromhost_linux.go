package linuxerr

import (
	"errors"

	"golang.org/x/sys/unix"
)

// FromHost returns the Linux errno a host error carries (an errno from a
// system call, usually inside an *os.PathError), or 0. On Linux that is
// the error's own unix.Errno.
func FromHost(err error) Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}
