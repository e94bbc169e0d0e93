package maps

import (
	"sync"
	"sync/atomic"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// Map is a map with the kernel's semantics. It has two faces: the user
// space API of the bpf() syscall (Lookup, Update, ..., subject to
// BPF_F_RDONLY / BPF_F_WRONLY and Freeze), and the program API that the
// helpers use (LookupElem, UpdateElem, DeleteElem), which runs on a
// virtual CPU and is subject to BPF_F_RDONLY_PROG.
//
// Values in the user API of per-CPU maps are all CPUs' values one after
// another, each rounded up to 8 bytes (ValueSize rounded up × NumCPU), as
// the kernel's. Every method is safe for concurrent use.
type Map interface {
	// Spec returns the map's spec as created; MaxEntries is the effective
	// one (rounded up to a multiple of NumCPU for per-CPU LRU lists) and
	// NumCPU is filled in.
	Spec() Spec
	// UserValueSize is the size of a value in the user API.
	UserValueSize() int

	// Lookup returns a copy of key's value (BPF_MAP_LOOKUP_ELEM).
	Lookup(key []byte) ([]byte, error)
	// LookupFlags is Lookup with flags: UpdateLock (BPF_F_LOCK) copies
	// the value holding its bpf_spin_lock (EINVAL without one).
	LookupFlags(key []byte, flags uint64) ([]byte, error)
	// Update creates or replaces key's value (BPF_MAP_UPDATE_ELEM);
	// flags is UpdateAny, UpdateNoExist or UpdateExist, optionally with
	// UpdateLock (BPF_F_LOCK: copy holding the value's bpf_spin_lock).
	Update(key, value []byte, flags uint64) error
	// Delete removes key (BPF_MAP_DELETE_ELEM). Arrays: EINVAL.
	Delete(key []byte) error
	// NextKey returns the key after key (BPF_MAP_GET_NEXT_KEY). A nil or
	// missing key gives the first key; after the last key it fails with
	// ENOENT.
	NextKey(key []byte) ([]byte, error)
	// LookupAndDelete returns key's value and removes it
	// (BPF_MAP_LOOKUP_AND_DELETE_ELEM). Arrays: ENOTSUPP.
	LookupAndDelete(key []byte) ([]byte, error)

	// BatchLookup copies up to len(keys)/KeySize elements, starting at the
	// batch cursor (nil: from the start), into keys and values
	// (BPF_MAP_LOOKUP_BATCH), and returns how many it copied and the
	// cursor to continue from. ENOENT means the walk reached the end (n
	// may still be > 0); for hash maps ENOSPC means the next bucket does
	// not fit in the buffers. Hash cursors are 4-byte bucket indexes;
	// array cursors are the last key returned.
	BatchLookup(cursor, keys, values []byte, elemFlags uint64) (n int, next []byte, err error)
	// BatchLookupAndDelete is BatchLookup that also deletes what it
	// returns (BPF_MAP_LOOKUP_AND_DELETE_BATCH). Arrays: ENOTSUPP.
	BatchLookupAndDelete(cursor, keys, values []byte, elemFlags uint64) (n int, next []byte, err error)
	// BatchUpdate updates len(keys)/KeySize elements as Update(key, value,
	// UpdateAny) would, stopping at the first error; it returns how many
	// it updated (BPF_MAP_UPDATE_BATCH).
	BatchUpdate(keys, values []byte, elemFlags uint64) (int, error)
	// BatchDelete deletes keys, stopping at the first error
	// (BPF_MAP_DELETE_BATCH). Arrays: ENOTSUPP.
	BatchDelete(keys []byte, elemFlags uint64) (int, error)

	// Freeze makes the map read-only to user space (BPF_MAP_FREEZE).
	// Programs may still write to it unless it has BPF_F_RDONLY_PROG.
	Freeze() error
	// Frozen reports whether Freeze was called.
	Frozen() bool

	// LookupElem is bpf_map_lookup_elem on virtual CPU cpu: a slice into
	// the live value (this CPU's for per-CPU maps), nil if absent. The
	// slice stays valid after the element is deleted or replaced: gobee
	// never reuses element memory.
	LookupElem(key []byte, cpu int) []byte
	// UpdateElem is bpf_map_update_elem on virtual CPU cpu: per-CPU maps
	// take one CPU's value and set that CPU's slot (a new element has the
	// other CPUs' values zeroed).
	UpdateElem(key, value []byte, flags uint64, cpu int) error
	// DeleteElem is bpf_map_delete_elem.
	DeleteElem(key []byte) error

	// Push, Pop and Peek are the user-space operations of the maps
	// without keys (QUEUE, STACK, BLOOM_FILTER): BPF_MAP_UPDATE_ELEM,
	// BPF_MAP_LOOKUP_AND_DELETE_ELEM and BPF_MAP_LOOKUP_ELEM with value as
	// the value buffer. Pop and Peek of a queue or stack copy the element
	// into value; Peek of a bloom filter reads value and returns nil if it
	// may be in the set, ENOENT if it is not. Maps with keys: EINVAL.
	Push(value []byte, flags uint64) error
	Pop(value []byte) error
	Peek(value []byte) error
	// PushElem, PopElem and PeekElem are bpf_map_push_elem,
	// bpf_map_pop_elem and bpf_map_peek_elem on virtual CPU cpu.
	PushElem(value []byte, flags uint64, cpu int) error
	PopElem(value []byte, cpu int) error
	PeekElem(value []byte, cpu int) error

	// Mmap returns the live value storage of a BPF_F_MMAPABLE array, as
	// a writable shared mmap of its fd; Munmap releases it (see mmap.go).
	Mmap() ([]byte, error)
	Munmap(b []byte) error
}

// core is one map family's storage. The object around it checks sizes and
// permissions; the core implements the kernel's map ops.
type core interface {
	// lookup copies key's value in user format into dst.
	lookup(key, dst []byte) error
	// update; user selects the user format and user-space CPU.
	update(key, value []byte, flags uint64, cpu int, user bool) error
	delete(key []byte) error
	nextKey(key []byte) ([]byte, error)
	// lookupAndDelete copies the value in user format into dst and deletes.
	lookupAndDelete(key, dst []byte) error
	// lookupBatch is the map's BPF_MAP_LOOKUP(_AND_DELETE)_BATCH.
	lookupBatch(o *object, cursor, keys, values []byte, del bool) (int, []byte, error)
	lookupElem(key []byte, cpu int) []byte
}

// userCPU is the virtual CPU that user-space operations run on: it matters
// only to LRU maps with BPF_F_NO_COMMON_LRU, where an update takes an
// element from the CPU's own list (the kernel uses the CPU the syscall
// happens to run on).
const userCPU = 0

// object is the map: common state, permissions and checks around a core.
// Its address is the map's handle in programs.
type object struct {
	spec          Spec
	rule          typeRule
	core          core
	keySize       int
	valueSize     int
	stride        int // valueSize rounded up to 8
	ncpu          int
	userValueSize int
	frozen        atomic.Bool
	freezeMu      sync.Mutex
	// special locates the value's bpf_spin_lock and bpf_timer (lock.go).
	special special
}

func (o *object) Spec() Spec         { return o.spec }
func (o *object) UserValueSize() int { return o.userValueSize }
func (o *object) Frozen() bool       { return o.frozen.Load() }

// canRead and canWrite are map_get_sys_perms: the fd's mode, less write
// once frozen.
func (o *object) canRead() error {
	if o.spec.Flags&FlagWronly != 0 {
		return errNoRead
	}
	return nil
}

func (o *object) canWrite() error {
	if o.spec.Flags&FlagRdonly != 0 || o.frozen.Load() {
		return errFrozenWrite
	}
	return nil
}

func (o *object) checkKey(key []byte) error {
	if len(key) != o.keySize {
		return errorf(unix.EINVAL, "key is %d bytes, map has key_size %d", len(key), o.keySize)
	}
	return nil
}

func (o *object) checkUserValue(v []byte) error {
	if len(v) != o.userValueSize {
		return errorf(unix.EINVAL, "value is %d bytes, map wants %d", len(v), o.userValueSize)
	}
	return nil
}

func (o *object) Lookup(key []byte) ([]byte, error) {
	if err := o.canRead(); err != nil {
		return nil, err
	}
	if err := o.checkKey(key); err != nil {
		return nil, err
	}
	v := make([]byte, o.userValueSize)
	if err := o.core.lookup(key, v); err != nil {
		return nil, err
	}
	return v, nil
}

func (o *object) Update(key, value []byte, flags uint64) error {
	if err := o.canWrite(); err != nil {
		return err
	}
	// map_update_elem checks BPF_F_LOCK against the value's record
	// before it copies the key and value in.
	if err := o.lockFlagOK(flags); err != nil {
		return err
	}
	if err := o.checkKey(key); err != nil {
		return err
	}
	if err := o.checkUserValue(value); err != nil {
		return err
	}
	return o.core.update(key, value, flags, userCPU, true)
}

func (o *object) Delete(key []byte) error {
	if err := o.canWrite(); err != nil {
		return err
	}
	if err := o.checkKey(key); err != nil {
		return err
	}
	return o.core.delete(key)
}

func (o *object) NextKey(key []byte) ([]byte, error) {
	if err := o.canRead(); err != nil {
		return nil, err
	}
	if key != nil {
		if err := o.checkKey(key); err != nil {
			return nil, err
		}
	}
	return o.core.nextKey(key)
}

func (o *object) LookupAndDelete(key []byte) ([]byte, error) {
	if err := o.canRead(); err != nil {
		return nil, err
	}
	if err := o.canWrite(); err != nil {
		return nil, err
	}
	if err := o.checkKey(key); err != nil {
		return nil, err
	}
	v := make([]byte, o.userValueSize)
	if err := o.core.lookupAndDelete(key, v); err != nil {
		return nil, err
	}
	return v, nil
}

func (o *object) Freeze() error {
	o.freezeMu.Lock()
	defer o.freezeMu.Unlock()
	// A frozen map's fd has lost write permission, so freezing twice is
	// EPERM, as in the kernel.
	if err := o.canWrite(); err != nil {
		return err
	}
	if o.writeMapped() {
		return errorf(unix.EBUSY, "map has writable mappings (Mmap)")
	}
	o.frozen.Store(true)
	return nil
}

func (o *object) LookupElem(key []byte, cpu int) []byte {
	if len(key) != o.keySize || uint(cpu) >= uint(o.ncpu) {
		return nil
	}
	return o.core.lookupElem(key, cpu)
}

func (o *object) UpdateElem(key, value []byte, flags uint64, cpu int) error {
	if o.spec.Flags&FlagRdonlyProg != 0 {
		return errProgWrite
	}
	if err := o.checkKey(key); err != nil {
		return err
	}
	if len(value) != o.valueSize {
		return errorf(unix.EINVAL, "value is %d bytes, map has value_size %d", len(value), o.valueSize)
	}
	if uint(cpu) >= uint(o.ncpu) {
		return errBadCPU
	}
	// Programs may pass BPF_F_LOCK too: the map's update op checks it
	// (HASH and ARRAY take the lock; the other types' flag checks refuse
	// it).
	return o.core.update(key, value, flags, cpu, false)
}

func (o *object) DeleteElem(key []byte) error {
	if o.spec.Flags&FlagRdonlyProg != 0 {
		return errProgWrite
	}
	if err := o.checkKey(key); err != nil {
		return err
	}
	return o.core.delete(key)
}
