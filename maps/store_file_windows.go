package maps

import (
	"os"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// pidAlive reports whether a process with the id exists.
func pidAlive(pid uint32) bool {
	p, err := os.FindProcess(int(pid))
	if err != nil {
		return false
	}
	p.Release()
	return true
}

// mapFile fails: file-backed (pinned) maps need mmap'd files, which gobee
// implements only on Unix hosts so far.
func mapFile(f *os.File, size int) (*fileStore, error) {
	return nil, errorf(unix.EOPNOTSUPP, "mmap %s: file-backed pinned maps are not supported on windows", f.Name())
}
