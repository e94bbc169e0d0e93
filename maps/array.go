package maps

import (
	"encoding/binary"
	"sync"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// arrayCore is BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY: fixed,
// zero-initialised storage indexed by a 4-byte key, values updated in
// place (as the kernel does). Element i's value starts at i*stride (per-CPU:
// CPU c's at (i*ncpu+c)*stride), so values are 8-byte aligned and a
// per-CPU element's user-format value is one contiguous slice.
type arrayCore struct {
	o      *object
	max    uint32
	percpu bool
	slot   int // bytes per element: stride, or stride*ncpu
	// mu orders user-space copies against updates so that the Go API is
	// race-free; programs write through their pointers without it, like
	// the kernel's.
	mu   sync.RWMutex
	data []byte
	// words: data is 8-byte aligned, so user-space copies use word-atomic
	// loads and stores and lookups need no lock.
	words bool
}

func newArrayCore(o *object) (core, error) {
	a := &arrayCore{o: o, max: o.spec.MaxEntries, percpu: o.spec.Type == PerCPUArray}
	a.slot = o.stride
	if a.percpu {
		a.slot *= o.ncpu
	}
	total := uint64(a.max) * uint64(a.slot)
	if total > maxPrealloc {
		return nil, errorf(unix.ENOMEM, "array of %d bytes exceeds gobee's limit of %d", total, uint64(maxPrealloc))
	}
	a.data = arrayStorage(o, total)
	a.words = aligned8(a.data)
	return a, nil
}

func (a *arrayCore) index(key []byte) (uint32, bool) {
	i := binary.NativeEndian.Uint32(key)
	return i, i < a.max
}

// elem returns element i in user format (all CPUs for per-CPU arrays).
func (a *arrayCore) elem(i uint32) []byte {
	off := int(i) * a.slot
	return a.data[off : off+a.slot : off+a.slot]
}

func (a *arrayCore) lookup(key, dst []byte) error {
	i, ok := a.index(key)
	if !ok {
		return errNoKey
	}
	// Plain arrays copy value_size bytes; per-CPU arrays copy each CPU's
	// rounded-up slot, padding included (copy_map_value_long). Special
	// fields are left out (zero in dst), as copy_map_value does.
	if a.o.special.skip != nil || !a.words {
		a.mu.RLock()
		if a.o.special.skip != nil {
			a.o.special.zero(dst)
			a.o.special.copy(dst, a.elem(i))
		} else {
			copy(dst, a.elem(i))
		}
		a.mu.RUnlock()
		return nil
	}
	// No lock, as the kernel's lookups: word-atomic copies keep readers
	// on different CPUs from contending on a shared reader count.
	loadWords(dst, a.elem(i))
	return nil
}

// update is array_map_update_elem: unknown flags, then the index, then
// BPF_NOEXIST (array elements always exist), then BPF_F_LOCK without a
// spin lock. A value with special fields is copied around them (holding
// its spin lock with BPF_F_LOCK), and then its timer is cancelled and
// freed (bpf_obj_free_fields), with or without BPF_F_LOCK.
func (a *arrayCore) update(key, value []byte, flags uint64, cpu int, user bool) error {
	if flags&^uint64(UpdateLock) > UpdateExist {
		return errUpdateFlags
	}
	i, ok := a.index(key)
	if !ok {
		return errIndex
	}
	if flags&UpdateNoExist != 0 {
		return errArrayNoExist
	}
	if err := a.o.lockFlagOK(flags); err != nil {
		return err
	}
	e := a.elem(i)
	if sp := &a.o.special; sp.skip != nil {
		// Only plain arrays have special fields.
		v := value[:a.o.valueSize]
		a.mu.Lock()
		if flags&UpdateLock != 0 {
			sp.copyLocked(e, v, e)
		} else {
			sp.copy(e, v)
		}
		a.mu.Unlock()
		sp.freeFields(e)
		return nil
	}
	cp := copyBytes
	if a.words {
		cp = storeWords
	}
	a.mu.Lock()
	switch {
	case !a.percpu:
		cp(e, value[:a.o.valueSize])
	case user:
		cp(e, value)
	default:
		cp(e[cpu*a.o.stride:], value[:a.o.valueSize])
	}
	a.mu.Unlock()
	return nil
}

func copyBytes(dst, src []byte) { copy(dst, src) }

func (a *arrayCore) delete(key []byte) error { return errArrayDelete }

func (a *arrayCore) nextKey(key []byte) ([]byte, error) { return arrayNextKey(key, a.max) }

// arrayNextKey is array_map_get_next_key for every array-shaped map: a
// missing or out-of-range key gives index 0, the last index ENOENT.
func arrayNextKey(key []byte, max uint32) ([]byte, error) {
	i := uint32(1<<32 - 1)
	if key != nil {
		i = binary.NativeEndian.Uint32(key)
	}
	switch {
	case i >= max:
		i = 0
	case i == max-1:
		return nil, errLastKey
	default:
		i++
	}
	return binary.NativeEndian.AppendUint32(make([]byte, 0, 4), i), nil
}

func (a *arrayCore) lookupAndDelete(key, dst []byte) error { return errNotSupp }

func (a *arrayCore) lookupBatch(o *object, cursor, keys, values []byte, del bool) (int, []byte, error) {
	return genericLookupBatch(o, cursor, keys, values)
}

func (a *arrayCore) lookupElem(key []byte, cpu int) []byte {
	i, ok := a.index(key)
	if !ok {
		return nil
	}
	e := a.elem(i)
	if a.percpu {
		e = e[cpu*a.o.stride:]
	}
	return e[:a.o.valueSize:a.o.valueSize]
}
