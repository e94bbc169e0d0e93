package linuxerr

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// hostErrnos maps Win32 error codes, and the errnos Go's syscall package
// invents on Windows, to Linux's errnos.
var hostErrnos = map[syscall.Errno]Errno{
	windows.ERROR_FILE_NOT_FOUND:       ENOENT,
	windows.ERROR_PATH_NOT_FOUND:       ENOENT,
	windows.ERROR_ACCESS_DENIED:        EACCES,
	windows.ERROR_INVALID_HANDLE:       EBADF,
	windows.ERROR_NOT_ENOUGH_MEMORY:    ENOMEM,
	windows.ERROR_OUTOFMEMORY:          ENOMEM,
	windows.ERROR_SHARING_VIOLATION:    EBUSY,
	windows.ERROR_LOCK_VIOLATION:       EBUSY,
	windows.ERROR_NOT_SUPPORTED:        EOPNOTSUPP,
	windows.ERROR_FILE_EXISTS:          EEXIST,
	windows.ERROR_ALREADY_EXISTS:       EEXIST,
	windows.ERROR_INVALID_PARAMETER:    EINVAL,
	windows.ERROR_BROKEN_PIPE:          EPIPE,
	windows.ERROR_DISK_FULL:            ENOSPC,
	windows.ERROR_DIR_NOT_EMPTY:        ENOTEMPTY,
	windows.ERROR_FILENAME_EXCED_RANGE: ENAMETOOLONG,
	windows.ERROR_DIRECTORY:            ENOTDIR,
	syscall.EINVAL:                     EINVAL,
	syscall.EEXIST:                     EEXIST,
	syscall.EACCES:                     EACCES,
	syscall.EPERM:                      EPERM,
	syscall.EBADF:                      EBADF,
	syscall.ENOMEM:                     ENOMEM,
	syscall.EIO:                        EIO,
	syscall.ENOSPC:                     ENOSPC,
	syscall.EAGAIN:                     EAGAIN,
	syscall.ENOSYS:                     ENOSYS,
	syscall.EOPNOTSUPP:                 EOPNOTSUPP,
}
