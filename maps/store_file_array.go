package maps

import "encoding/binary"

// fileArray is ARRAY and PERCPU_ARRAY in a pinned map file: the same
// layout as arrayCore (element i at i*slot), in the file's storage. User
// space copies run under the file lock; programs write through their
// pointers without it, as in the kernel.
type fileArray struct {
	o      *object
	s      *fileStore
	max    uint32
	percpu bool
	slot   int
}

func newFileArray(o *object, s *fileStore) *fileArray {
	a := &fileArray{o: o, s: s, max: o.spec.MaxEntries, percpu: o.spec.Type == PerCPUArray, slot: o.stride}
	if a.percpu {
		a.slot *= o.ncpu
	}
	return a
}

func (a *fileArray) store() *fileStore { return a.s }

func (a *fileArray) index(key []byte) (uint32, bool) {
	i := binary.NativeEndian.Uint32(key)
	return i, i < a.max
}

func (a *fileArray) elem(i uint32) []byte {
	off := int(i) * a.slot
	return a.s.data[off : off+a.slot : off+a.slot]
}

func (a *fileArray) lookup(key, dst []byte) error {
	i, ok := a.index(key)
	if !ok {
		return errNoKey
	}
	if err := a.s.lock(); err != nil {
		return err
	}
	copy(dst, a.elem(i))
	a.s.unlock()
	return nil
}

func (a *fileArray) update(key, value []byte, flags uint64, cpu int, user bool) error {
	if flags > UpdateExist {
		return errUpdateFlags
	}
	i, ok := a.index(key)
	if !ok {
		return errIndex
	}
	if flags == UpdateNoExist {
		return errArrayNoExist
	}
	if err := a.s.lock(); err != nil {
		return err
	}
	defer a.s.unlock()
	if user && a.s.frozen() {
		return errFrozenWrite
	}
	e := a.elem(i)
	switch {
	case !a.percpu:
		copy(e, value[:a.o.valueSize])
	case user:
		copy(e, value)
	default:
		copy(e[cpu*a.o.stride:], value[:a.o.valueSize])
	}
	return nil
}

func (a *fileArray) delete(key []byte) error { return errArrayDelete }

func (a *fileArray) nextKey(key []byte) ([]byte, error) { return arrayNextKey(key, a.max) }

func (a *fileArray) lookupAndDelete(key, dst []byte) error { return errNotSupp }

func (a *fileArray) lookupBatch(o *object, cursor, keys, values []byte, del bool) (int, []byte, error) {
	return genericLookupBatch(o, cursor, keys, values)
}

func (a *fileArray) lookupElem(key []byte, cpu int) []byte {
	i, ok := a.index(key)
	if !ok {
		return nil
	}
	a.s.local.mu.Lock()
	closed := a.s.closed
	a.s.local.mu.Unlock()
	if closed {
		return nil
	}
	e := a.elem(i)
	if a.percpu {
		e = e[cpu*a.o.stride:]
	}
	return e[:a.o.valueSize:a.o.valueSize]
}
