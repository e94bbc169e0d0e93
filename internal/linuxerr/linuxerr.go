// Package linuxerr gives gobee the Linux kernel's errno values on every
// host. gobee is kernel-faithful: a map operation fails with the errno
// Linux would return, and a helper returns -errno with Linux's number, so
// the numbers cannot come from the host (EAGAIN is 11 on Linux, 35 on
// macOS and FreeBSD; Windows has no errnos at all).
//
// On Linux, Errno and the constants are golang.org/x/sys/unix's, so code
// that uses this package behaves exactly as code using x/sys/unix does.
// Elsewhere Errno is a type of its own with Linux's numbers and strerror
// texts, matching io/fs's ErrNotExist, ErrExist, ErrPermission and
// errors.ErrUnsupported as syscall.Errno does. Packages import it under
// the name unix:
//
//	unix "github.com/gobee-dev/gobee/internal/linuxerr"
//
// so that their errno code reads the same as it does with x/sys/unix, and
// keep the real golang.org/x/sys/unix for system calls in their
// OS-specific files.
package linuxerr
