//go:build !linux

package objects

import "os"

// renameNoReplace moves a pin file to a new path, failing with EEXIST
// when the path is taken. Without renameat2's RENAME_NOREPLACE it links
// the file at its new path (which fails if the path exists) and then
// removes the old name: still atomic for anyone opening the new path.
func renameNoReplace(from, to string) error {
	if err := os.Link(from, to); err != nil {
		return err
	}
	return os.Remove(from)
}
