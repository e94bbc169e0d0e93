package maps

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// fdArrayCore is the storage of the kernel's "fd arrays" that gobee
// implements: BPF_MAP_TYPE_PROG_ARRAY and BPF_MAP_TYPE_ARRAY_OF_MAPS. Each
// slot holds a reference to an object (a program or a map) or nothing.
// User space writes a 4-byte reference (gobee's stand-in for the fd, see
// RegisterProgram and MapID) and reads back the object's id, as
// bpf_fd_array_map_lookup_elem does.
type fdArrayCore struct {
	o     *object
	max   uint32
	slots []atomic.Pointer[fdEntry]
	// get turns a user-space reference into an entry, or fails with the
	// kernel's errno (EBADF, EINVAL for an incompatible object).
	get func(ref uint32) (*fdEntry, error)
	// mu serialises updates that must check and set state together (the
	// prog array's owner type).
	mu sync.Mutex
}

// fdEntry is what a slot holds.
type fdEntry struct {
	id   uint32
	prog ProgramRef // PROG_ARRAY
	m    *object    // ARRAY_OF_MAPS
}

// fdArrayAllocCheck is fd_array_map_alloc_check: value_size 4, no
// BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG, then array_map_alloc_check.
func fdArrayAllocCheck(s *Spec) error {
	if s.ValueSize != 4 {
		return errorf(unix.EINVAL, "value_size %d: %v values are 4 bytes", s.ValueSize, s.Type)
	}
	if s.Flags&(FlagRdonlyProg|FlagWronlyProg) != 0 {
		return errorf(unix.EINVAL, "BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG on a %v", s.Type)
	}
	return arrayAllocCheck(s)
}

func newFdArray(o *object, get func(uint32) (*fdEntry, error)) *fdArrayCore {
	return &fdArrayCore{o: o, max: o.spec.MaxEntries, slots: make([]atomic.Pointer[fdEntry], o.spec.MaxEntries), get: get}
}

func (a *fdArrayCore) index(key []byte) (uint32, bool) {
	i := binary.NativeEndian.Uint32(key)
	return i, i < a.max
}

// lookup is bpf_fd_array_map_lookup_elem: the object's id, ENOENT for an
// empty slot or an index out of range.
func (a *fdArrayCore) lookup(key, dst []byte) error {
	i, ok := a.index(key)
	if !ok {
		return errNoKey
	}
	e := a.slots[i].Load()
	if e == nil {
		return errNoKey
	}
	binary.NativeEndian.PutUint32(dst, e.id)
	return nil
}

// update is bpf_fd_array_map_update_elem: BPF_ANY only (EINVAL), the
// index (E2BIG), then the reference.
func (a *fdArrayCore) update(key, value []byte, flags uint64, cpu int, user bool) error {
	if !user {
		// The verifier does not let programs update fd arrays.
		return errNotSupp
	}
	if flags != UpdateAny {
		return errorf(unix.EINVAL, "%v updates take BPF_ANY only", a.o.spec.Type)
	}
	i, ok := a.index(key)
	if !ok {
		return errIndex
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e, err := a.get(binary.NativeEndian.Uint32(value))
	if err != nil {
		return err
	}
	a.slots[i].Store(e)
	return nil
}

// delete is fd_array_map_delete_elem: E2BIG out of range, ENOENT empty.
func (a *fdArrayCore) delete(key []byte) error {
	i, ok := a.index(key)
	if !ok {
		return errIndex
	}
	if a.slots[i].Swap(nil) == nil {
		return errNoKey
	}
	return nil
}

func (a *fdArrayCore) nextKey(key []byte) ([]byte, error) { return arrayNextKey(key, a.max) }

func (a *fdArrayCore) lookupAndDelete(key, dst []byte) error { return errNotSupp }

func (a *fdArrayCore) lookupBatch(o *object, cursor, keys, values []byte, del bool) (int, []byte, error) {
	return genericLookupBatch(o, cursor, keys, values)
}

// lookupElem: programs never get a pointer into an fd array (prog arrays
// are only for bpf_tail_call; map-in-map lookups go through
// lookupHandle).
func (a *fdArrayCore) lookupElem(key []byte, cpu int) []byte { return nil }

// entry returns slot i's entry, nil if empty or out of range.
func (a *fdArrayCore) entry(i uint64) *fdEntry {
	if i >= uint64(a.max) {
		return nil
	}
	return a.slots[i].Load()
}
