//go:build unix

package maps

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func pidAlive(pid uint32) bool {
	if pid > 1<<22 {
		return false // above PID_MAX_LIMIT
	}
	return !errors.Is(unix.Kill(int(pid), 0), unix.ESRCH)
}

func mapFile(f *os.File, size int) (*fileStore, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, err
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("maps: mmap %s: %w", f.Name(), err)
	}
	s := &fileStore{mem: mem, data: mem[fileHeaderSize:], id: fileID{uint64(st.Dev), st.Ino}, pid: uint32(os.Getpid())}
	s.local = acquireLocal(s.id)
	return s, nil
}
