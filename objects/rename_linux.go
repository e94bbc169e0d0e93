package objects

import "golang.org/x/sys/unix"

// renameNoReplace moves a pin file to a new path, failing with EEXIST
// when the path is taken.
func renameNoReplace(from, to string) error {
	return unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
}
