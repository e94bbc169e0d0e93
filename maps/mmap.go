package maps

import (
	"sync"
	"unsafe"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// BPF_F_MMAPABLE arrays: the kernel lets user space mmap the value
// storage of such an array (array_map_mmap); gobee hands out the storage
// itself. It is page-aligned, holds element i's value at i × value_size
// rounded up to 8, and spans max_entries such slots rounded up to a page.
// While a writable mapping exists the map cannot be frozen (EBUSY); a
// frozen map cannot be mapped writable (EPERM), nor one that programs may
// only read (BPF_F_RDONLY_PROG: EACCES).

// mmapWriters counts the writable mappings of each map (map->writecnt).
var (
	mmapMu      sync.Mutex
	mmapWriters = map[*object]int{}
)

// arrayStorage allocates an array's values: page-aligned and rounded up to
// a page for BPF_F_MMAPABLE arrays.
func arrayStorage(o *object, total uint64) []byte {
	if o.spec.Flags&FlagMmapable == 0 {
		return make([]byte, total)
	}
	n := (total + pageSize - 1) &^ (pageSize - 1)
	words := make([]uint64, (n+pageSize)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)
	skip := (pageSize - uintptr(unsafe.Pointer(unsafe.SliceData(b)))%pageSize) % pageSize
	return b[skip : skip+uintptr(total) : skip+uintptr(n)]
}

// Mmap returns the live values of a BPF_F_MMAPABLE array for reading and
// writing, as a shared writable mmap of the map's fd does. Release it
// with Munmap. Maps of other types: ENOTSUPP (no map_mmap); arrays
// without BPF_F_MMAPABLE: EINVAL.
func (o *object) Mmap() ([]byte, error) {
	a, ok := o.core.(*arrayCore)
	if !ok || o.spec.Type != Array {
		return nil, errorf(ENOTSUPP, "%v maps cannot be mapped", o.spec.Type)
	}
	if o.spec.Flags&FlagMmapable == 0 {
		return nil, errorf(unix.EINVAL, "array was not created with BPF_F_MMAPABLE")
	}
	if o.spec.Flags&FlagRdonly != 0 {
		return nil, errorf(unix.EACCES, "map is read-only to user space (BPF_F_RDONLY)")
	}
	o.freezeMu.Lock()
	defer o.freezeMu.Unlock()
	if o.frozen.Load() {
		return nil, errorf(unix.EPERM, "a frozen map cannot be mapped writable")
	}
	if o.spec.Flags&FlagRdonlyProg != 0 {
		return nil, errorf(unix.EACCES, "a BPF_F_RDONLY_PROG map cannot be mapped writable")
	}
	mmapMu.Lock()
	mmapWriters[o]++
	mmapMu.Unlock()
	return a.data[:cap(a.data):cap(a.data)], nil
}

// Munmap releases a mapping that Mmap returned.
func (o *object) Munmap(b []byte) error {
	a, ok := o.core.(*arrayCore)
	if !ok || len(b) == 0 || cap(a.data) == 0 || unsafe.SliceData(b) != unsafe.SliceData(a.data) {
		return errorf(unix.EINVAL, "not a mapping of this map")
	}
	mmapMu.Lock()
	defer mmapMu.Unlock()
	if mmapWriters[o] == 0 {
		return errorf(unix.EINVAL, "map has no mapping left")
	}
	if mmapWriters[o]--; mmapWriters[o] == 0 {
		delete(mmapWriters, o)
	}
	return nil
}

// writeMapped reports whether o has writable mappings
// (bpf_map_write_active); freezeMu must be held.
func (o *object) writeMapped() bool {
	mmapMu.Lock()
	defer mmapMu.Unlock()
	return mmapWriters[o] > 0
}
