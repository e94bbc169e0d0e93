package maps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

func mustNew(t testing.TB, s Spec) Map {
	t.Helper()
	m, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

func wantErrno(t *testing.T, what string, err error, want unix.Errno) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v, want %v", what, err, want)
	}
}

func TestTypeString(t *testing.T) {
	for typ, want := range map[Type]string{Hash: "hash", LRUPerCPUHash: "lru_percpu_hash", Arena: "arena", Type(77): "type(77)"} {
		if got := typ.String(); got != want {
			t.Errorf("%d: %q, want %q", typ, got, want)
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, typ := range []Type{Hash, PerCPUHash, LRUHash, LRUPerCPUHash, Array, PerCPUArray} {
		t.Run(typ.String(), func(t *testing.T) {
			m := mustNew(t, Spec{Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 4, NumCPU: 2})
			uv := make([]byte, m.UserValueSize())
			wantErrno(t, "short key", m.Update([]byte{1}, uv, 0), unix.EINVAL)
			wantErrno(t, "long value", m.Update(u32(0), make([]byte, m.UserValueSize()+1), 0), unix.EINVAL)
			_, err := m.Lookup(nil)
			wantErrno(t, "nil key", err, unix.EINVAL)
			_, err = m.NextKey([]byte{1, 2})
			wantErrno(t, "next short key", err, unix.EINVAL)
			wantErrno(t, "flags 3", m.Update(u32(0), uv, 3), unix.EINVAL)
			wantErrno(t, "BPF_F_LOCK", m.Update(u32(0), uv, UpdateLock), unix.EINVAL)
			wantErrno(t, "prog value size", m.UpdateElem(u32(0), make([]byte, 9), 0, 0), unix.EINVAL)
			wantErrno(t, "prog cpu", m.UpdateElem(u32(0), make([]byte, 8), 0, 2), unix.EINVAL)
			if m.LookupElem(u32(0), -1) != nil || m.LookupElem([]byte{0}, 0) != nil {
				t.Error("LookupElem with a bad cpu or key returned a value")
			}
			_, err = m.BatchUpdate(make([]byte, 5), nil, 0)
			wantErrno(t, "batch keys", err, unix.EINVAL)
			_, _, err = m.BatchLookup(nil, make([]byte, 8), make([]byte, 3), 0)
			wantErrno(t, "batch values", err, unix.EINVAL)
			_, _, err = m.BatchLookup(nil, make([]byte, 8), make([]byte, 2*m.UserValueSize()), UpdateExist)
			wantErrno(t, "batch elem flags", err, unix.EINVAL)
			if typ == Array || typ == PerCPUArray {
				wantErrno(t, "array delete", m.Delete(u32(0)), unix.EINVAL)
				wantErrno(t, "array noexist", m.Update(u32(0), uv, UpdateNoExist), unix.EEXIST)
				wantErrno(t, "array index", m.Update(u32(4), uv, 0), unix.E2BIG)
				_, err = m.LookupAndDelete(u32(0))
				wantErrno(t, "array lookup_and_delete", err, ENOTSUPP)
				_, err = m.BatchDelete(u32(0), 0)
				wantErrno(t, "array delete batch", err, ENOTSUPP)
			} else {
				wantErrno(t, "delete missing", m.Delete(u32(0)), unix.ENOENT)
				wantErrno(t, "exist missing", m.Update(u32(0), uv, UpdateExist), unix.ENOENT)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	for _, c := range []struct {
		spec Spec
		want unix.Errno
	}{
		{Spec{Type: Hash, KeySize: 4, ValueSize: 8}, unix.EINVAL},
		{Spec{Type: Hash, KeySize: 0, ValueSize: 8, MaxEntries: 1}, unix.EINVAL},
		{Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Name: "sixteen_chars_xx"}, unix.EINVAL},
		{Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Name: "bad name"}, unix.EINVAL},
		{Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1 << 29}, unix.E2BIG},
		{Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: 1 << 25}, unix.EINVAL},
		{Spec{Type: Array, KeySize: 4, ValueSize: 1 << 20, MaxEntries: 1 << 20}, unix.ENOMEM},
		{Spec{Type: Type(1000), KeySize: 4, ValueSize: 8, MaxEntries: 1}, unix.EINVAL},
		{Spec{Type: UserRingBuf, KeySize: 0, ValueSize: 0, MaxEntries: 4096}, ENOTSUPP},
		{Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, NumCPU: -1}, unix.EINVAL},
	} {
		_, err := New(c.spec)
		wantErrno(t, fmt.Sprintf("%+v", c.spec), err, c.want)
		if err != nil && !bytes.Contains([]byte(err.Error()), []byte("maps: ")) {
			t.Errorf("%v: error without context", err)
		}
	}
}

func TestHashFullAndReplace(t *testing.T) {
	m := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 2})
	for i := range uint32(2) {
		if err := m.Update(u32(i), u64(uint64(i)), UpdateNoExist); err != nil {
			t.Fatal(err)
		}
	}
	wantErrno(t, "full", m.Update(u32(2), u64(2), 0), unix.E2BIG)
	if err := m.Update(u32(1), u64(7), UpdateExist); err != nil {
		t.Fatal("replace in a full map:", err)
	}
	wantErrno(t, "noexist", m.Update(u32(1), u64(7), UpdateNoExist), unix.EEXIST)
	v, err := m.LookupAndDelete(u32(1))
	if err != nil || binary.NativeEndian.Uint64(v) != 7 {
		t.Fatal(v, err)
	}
	if err := m.Update(u32(2), u64(2), 0); err != nil {
		t.Fatal("room after delete:", err)
	}
}

func TestDeletedValueStaysValid(t *testing.T) {
	m := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	m.Update(u32(1), u64(11), 0)
	p := m.LookupElem(u32(1), 0)
	m.Delete(u32(1))
	m.Update(u32(2), u64(22), 0)
	if binary.NativeEndian.Uint64(p) != 11 {
		t.Fatalf("deleted element's memory was reused: %x", p)
	}
}

func TestPerCPU(t *testing.T) {
	for _, typ := range []Type{PerCPUHash, PerCPUArray, LRUPerCPUHash} {
		m := mustNew(t, Spec{Type: typ, KeySize: 4, ValueSize: 4, MaxEntries: 4, NumCPU: 3})
		if m.UserValueSize() != 24 {
			t.Fatalf("%v: user value size %d", typ, m.UserValueSize())
		}
		if err := m.UpdateElem(u32(1), u32(0xaabbccdd), 0, 2); err != nil {
			t.Fatal(err)
		}
		v, err := m.Lookup(u32(1))
		if err != nil || !bytes.Equal(v, append(make([]byte, 16), 0xdd, 0xcc, 0xbb, 0xaa, 0, 0, 0, 0)) {
			t.Fatalf("%v: %x %v", typ, v, err)
		}
		p := m.LookupElem(u32(1), 2)
		if len(p) != 4 || binary.NativeEndian.Uint32(p) != 0xaabbccdd {
			t.Fatalf("%v: cpu 2 value %x", typ, p)
		}
		if p := m.LookupElem(u32(1), 0); len(p) != 4 || binary.NativeEndian.Uint32(p) != 0 {
			t.Fatalf("%v: cpu 0 value %x", typ, p)
		}
		if interpAddr(p)%8 != 0 {
			t.Fatalf("%v: value not 8-byte aligned", typ)
		}
	}
}

func TestLRUEvictsUnreferenced(t *testing.T) {
	m := mustNew(t, Spec{Type: LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 4})
	for i := range uint32(4) {
		m.Update(u32(i), u64(uint64(i)), 0)
	}
	// A program touched key 0, the oldest: key 1 goes instead.
	m.LookupElem(u32(0), 0)
	if err := m.Update(u32(9), u64(9), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Lookup(u32(1)); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("key 1 not evicted: %v", err)
	}
	for _, k := range []uint32{0, 2, 3, 9} {
		if _, err := m.Lookup(u32(k)); err != nil {
			t.Fatalf("key %d: %v", k, err)
		}
	}
}

func TestLRUPerCPULists(t *testing.T) {
	m := mustNew(t, Spec{Type: LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 5, NumCPU: 2, Flags: FlagNoCommonLRU})
	if m.Spec().MaxEntries != 6 {
		t.Fatalf("max_entries %d, want 6", m.Spec().MaxEntries)
	}
	// CPU 1's share is 3: a fourth element from CPU 1 evicts one of
	// CPU 1's, never CPU 0's.
	m.UpdateElem(u32(100), u64(0), 0, 0)
	for i := range uint32(4) {
		m.UpdateElem(u32(i), u64(0), 0, 1)
	}
	if _, err := m.Lookup(u32(100)); err != nil {
		t.Fatal("CPU 0's element evicted by CPU 1")
	}
	if _, err := m.Lookup(u32(0)); !errors.Is(err, unix.ENOENT) {
		t.Fatal("CPU 1's oldest element not evicted")
	}
}

func TestFreezeAndAccessFlags(t *testing.T) {
	m := mustNew(t, Spec{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 2})
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "update frozen", m.Update(u32(0), u64(1), 0), unix.EPERM)
	wantErrno(t, "freeze twice", m.Freeze(), unix.EPERM)
	if err := m.UpdateElem(u32(0), u64(1), 0, 0); err != nil {
		t.Fatal("programs may write to frozen maps:", err)
	}
	if v, err := m.Lookup(u32(0)); err != nil || binary.NativeEndian.Uint64(v) != 1 {
		t.Fatal(v, err)
	}
	ro := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 2, Flags: FlagRdonlyProg})
	wantErrno(t, "rdonly_prog", ro.UpdateElem(u32(0), u64(1), 0, 0), unix.EACCES)
	wo := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 2, Flags: FlagWronly})
	_, err := wo.Lookup(u32(0))
	wantErrno(t, "wronly lookup", err, unix.EPERM)
}

func TestArrayBatch(t *testing.T) {
	m := mustNew(t, Spec{Type: Array, KeySize: 4, ValueSize: 4, MaxEntries: 5})
	keys := append(append(u32(1), u32(3)...), u32(7)...)
	n, err := m.BatchUpdate(keys, append(append(u32(10), u32(30)...), u32(70)...), 0)
	if n != 2 || !errors.Is(err, unix.E2BIG) {
		t.Fatalf("batch update: %d %v", n, err)
	}
	k, v := make([]byte, 12), make([]byte, 12)
	n, next, err := m.BatchLookup(nil, k, v, 0)
	if n != 3 || err != nil || !bytes.Equal(next, u32(2)) || !bytes.Equal(v[4:8], u32(10)) {
		t.Fatalf("batch lookup: %d %x %v %x", n, next, err, v)
	}
	n, next, err = m.BatchLookup(next, k, v, 0)
	if n != 2 || !errors.Is(err, unix.ENOENT) || !bytes.Equal(next, u32(4)) || !bytes.Equal(v[:4], u32(30)) {
		t.Fatalf("batch lookup 2: %d %x %v %x", n, next, err, v)
	}
}

// TestConcurrent runs user-space and program-side operations on every type
// from many goroutines; run it with -race.
func TestConcurrent(t *testing.T) {
	for _, typ := range []Type{Hash, PerCPUHash, LRUHash, LRUPerCPUHash, Array, PerCPUArray} {
		m := mustNew(t, Spec{Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 16, NumCPU: 4})
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				uv := make([]byte, m.UserValueSize())
				keys := make([]byte, 4*4)
				vals := make([]byte, 4*m.UserValueSize())
				for i := range 2000 {
					k := u32(uint32((i*7 + g) % 20))
					switch i % 9 {
					case 0:
						m.Update(k, uv, 0)
					case 1:
						m.Lookup(k)
					case 2:
						m.Delete(k)
					case 3:
						m.NextKey(k)
					case 4:
						m.UpdateElem(k, u64(uint64(i)), 0, g%4)
					case 5:
						m.LookupElem(k, g%4)
					case 6:
						m.BatchLookup(nil, keys, vals, 0)
					case 7:
						m.LookupAndDelete(k)
					case 8:
						m.DeleteElem(k)
					}
				}
			}()
		}
		wg.Wait()
	}
}
