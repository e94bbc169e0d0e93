package loader

import "golang.org/x/sys/unix"

// hostRelease is the running kernel's release (uname -r).
func hostRelease() (string, bool) {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "", false
	}
	return unix.ByteSliceToString(u.Release[:]), true
}
