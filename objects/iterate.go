package objects

import (
	"encoding/binary"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/maps"
)

// MapIterator walks a map's keys with NextKey and looks each one up, like
// cilium/ebpf's. A key deleted between the two steps is skipped.
type MapIterator struct {
	m    *Map
	prev []byte
	done bool
	err  error
}

// Iterate returns an iterator over the map.
func (m *Map) Iterate() *MapIterator { return &MapIterator{m: m} }

// Next copies the next key and value into keyOut and valueOut and reports
// whether there was one. At the end, or on an error, it returns false;
// Err tells which.
func (it *MapIterator) Next(keyOut, valueOut any) bool {
	if it.done {
		return false
	}
	s, err := it.m.use()
	if err != nil {
		return it.fail(err)
	}
	defer it.m.done()
	max := int(s.Spec().MaxEntries) + 1
	for range max {
		next, err := s.NextKey(it.prev)
		if maps.Errno(err) == unix.ENOENT {
			it.done = true
			return false
		}
		if err != nil {
			return it.fail(err)
		}
		v, err := s.Lookup(next)
		if maps.Errno(err) == unix.ENOENT {
			// Deleted meanwhile: NextKey(prev) now skips it (or, if prev
			// went too, restarts; bounded by max).
			continue
		}
		if err != nil {
			return it.fail(err)
		}
		it.prev = next
		if err := unmarshal(keyOut, next); err != nil {
			return it.fail(err)
		}
		if err := unmarshalValue(s, valueOut, v); err != nil {
			return it.fail(err)
		}
		return true
	}
	return it.fail(errorf(unix.EAGAIN, "iteration aborted: keys deleted faster than the walk advances"))
}

func (it *MapIterator) fail(err error) bool {
	it.err, it.done = err, true
	return false
}

// Err is the error that ended the iteration, nil at a normal end.
func (it *MapIterator) Err() error { return it.err }

// MapBatchCursor holds a batch walk's position between BatchLookup calls.
type MapBatchCursor struct {
	c    []byte
	done bool
}

// BatchLookup copies up to as many elements as keysOut holds, continuing
// from cursor (BPF_MAP_LOOKUP_BATCH). keysOut and valuesOut are []byte or
// slices of fixed-size keys and values (per-CPU maps: valuesOut holds
// NumCPU values per key). It returns the count; at the end of the map the
// error is ErrKeyNotExist (with a count that may be > 0).
func (m *Map) BatchLookup(cursor *MapBatchCursor, keysOut, valuesOut any) (int, error) {
	if cursor == nil {
		return 0, errorf(unix.EINVAL, "nil batch cursor")
	}
	s, err := m.use()
	if err != nil {
		return 0, err
	}
	defer m.done()
	if cursor.done {
		return 0, errorf(unix.ENOENT, "batch walk is over")
	}
	ks := int(s.Spec().KeySize)
	kbytes, err := byteLen(keysOut)
	if err != nil {
		return 0, err
	}
	n := kbytes / ks
	if n*ks != kbytes {
		return 0, errorf(unix.EINVAL, "keys buffer of %d bytes is not a whole number of %d-byte keys", kbytes, ks)
	}
	vbytes, err := byteLen(valuesOut)
	if err != nil {
		return 0, err
	}
	if vbytes != n*s.UserValueSize() {
		return 0, errorf(unix.EINVAL, "values buffer is %d bytes, %d keys need %d", vbytes, n, n*s.UserValueSize())
	}
	kb, vb := make([]byte, kbytes), make([]byte, vbytes)
	cnt, next, err := s.BatchLookup(cursor.c, kb, vb, 0)
	if next != nil {
		cursor.c = next
	}
	if maps.Errno(err) == unix.ENOENT {
		cursor.done = true
	}
	if cnt > 0 {
		if e := unmarshal(keysOut, kb); e != nil {
			return 0, e
		}
		if e := unmarshal(valuesOut, vb); e != nil {
			return 0, e
		}
	}
	return cnt, err
}

func byteLen(v any) (int, error) {
	if b, ok := v.([]byte); ok {
		return len(b), nil
	}
	n := binary.Size(v)
	if n < 0 {
		return 0, errorf(unix.EINVAL, "batch buffer %T has no fixed size", v)
	}
	return n, nil
}
