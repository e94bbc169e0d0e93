package maps

import (
	"errors"
	"fmt"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// ENOTSUPP is the kernel-internal errno 524 that bpf() returns for an
// operation a map type does not implement (lookup_and_delete on an array,
// batch delete on an array). It has no name in userspace headers.
const ENOTSUPP = unix.Errno(524)

// Error is a map operation's failure: the kernel's errno and what was wrong.
// errors.Is(err, unix.ENOENT) and friends work on it.
type Error struct {
	Errno unix.Errno
	Msg   string
}

func (e *Error) Error() string {
	name := e.Errno.Error()
	if e.Errno == ENOTSUPP {
		name = "operation not supported (ENOTSUPP)"
	}
	return "maps: " + e.Msg + ": " + name
}

// Unwrap returns the errno.
func (e *Error) Unwrap() error { return e.Errno }

func errorf(errno unix.Errno, format string, args ...any) error {
	return &Error{Errno: errno, Msg: fmt.Sprintf(format, args...)}
}

// Errno returns the errno an error carries, or 0 for nil and for errors
// without one. A host system call's error (inside an *os.PathError, say)
// gives Linux's errno for it on any host.
func Errno(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.FromHost(err)
}

// Preallocated errors of the hot paths, so a miss does not allocate.
var (
	errNoKey        = &Error{unix.ENOENT, "key does not exist"}
	errExists       = &Error{unix.EEXIST, "key already exists (BPF_NOEXIST)"}
	errFull         = &Error{unix.E2BIG, "map is full"}
	errIndex        = &Error{unix.E2BIG, "array index out of range"}
	errArrayNoExist = &Error{unix.EEXIST, "array elements always exist (BPF_NOEXIST)"}
	errLastKey      = &Error{unix.ENOENT, "no next key"}
	errFrozenWrite  = &Error{unix.EPERM, "map is frozen or read-only to user space"}
	errNoRead       = &Error{unix.EPERM, "map is write-only to user space (BPF_F_WRONLY)"}
	errProgWrite    = &Error{unix.EACCES, "map is read-only to programs (BPF_F_RDONLY_PROG)"}
	errUpdateFlags  = &Error{unix.EINVAL, "unknown update flags"}
	errLockFlag     = &Error{unix.EINVAL, "BPF_F_LOCK needs a bpf_spin_lock in the value"}
	errArrayDelete  = &Error{unix.EINVAL, "array elements cannot be deleted"}
	errNotSupp      = &Error{ENOTSUPP, "operation not supported by this map type"}
	errBadCPU       = &Error{unix.EINVAL, "cpu out of range"}
)
