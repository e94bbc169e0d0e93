package objects

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

func newReg(t *testing.T) *Registry {
	t.Helper()
	return NewRegistry(WithPinRoot(t.TempDir()))
}

type pair struct {
	A uint32
	B uint16
	C uint16
}

func TestMapAPI(t *testing.T) {
	r := newReg(t)
	m, err := r.NewMap(&MapSpec{Name: "api", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.ID() != 1 {
		t.Fatalf("first ID %d", m.ID())
	}
	if err := m.Update(uint32(1), pair{1, 2, 3}, UpdateAny); err != nil {
		t.Fatal(err)
	}
	if err := m.Update(uint32(2), []byte{1, 2, 3, 4, 5, 6, 7, 8}, UpdateNoExist); err != nil {
		t.Fatal(err)
	}
	if err := m.Update(uint32(2), uint64(9), UpdateNoExist); !errors.Is(err, ErrKeyExist) {
		t.Fatalf("NOEXIST: %v", err)
	}
	var p pair
	if err := m.Lookup(uint32(1), &p); err != nil || p != (pair{1, 2, 3}) {
		t.Fatalf("lookup %+v %v", p, err)
	}
	if err := m.Lookup(uint32(7), &p); !errors.Is(err, ErrKeyNotExist) {
		t.Fatalf("missing: %v", err)
	}
	if err := m.Update(uint16(1), uint64(1), UpdateAny); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("short key: %v", err)
	}
	var u uint64
	var k uint32
	seen := map[uint32]bool{}
	it := m.Iterate()
	for it.Next(&k, &u) {
		seen[k] = true
	}
	if it.Err() != nil || len(seen) != 2 {
		t.Fatalf("iterate: %v %v", seen, it.Err())
	}
	keys := make([]uint32, 8)
	vals := make([]uint64, 8)
	n, err := m.BatchLookup(&MapBatchCursor{}, keys, vals)
	if n != 2 || !errors.Is(err, ErrKeyNotExist) {
		t.Fatalf("batch: %d %v", n, err)
	}
	var first uint32
	if err := m.NextKey(nil, &first); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(first); err != nil {
		t.Fatal(err)
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := m.Update(uint32(3), uint64(1), UpdateAny); !errors.Is(err, unix.EPERM) {
		t.Fatalf("update frozen: %v", err)
	}
	info, err := m.Info()
	if err != nil || !info.Frozen || info.Type != Hash || info.Name != "api" || info.KeySize != 4 || info.ID != 1 {
		t.Fatalf("info %+v %v", info, err)
	}
	m2, err := r.NewMap(&MapSpec{Type: Array, KeySize: 4, ValueSize: 4, MaxEntries: 2})
	if err != nil {
		t.Fatal(err)
	}
	if m2.ID() != 2 {
		t.Fatalf("second ID %d", m2.ID())
	}
	m2.Close()
	if _, err := r.MapFromID(2); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("closed map still has its ID: %v", err)
	}
	if err := m2.Lookup(uint32(0), &k); !errors.Is(err, unix.EBADF) {
		t.Fatalf("closed handle: %v", err)
	}
}

func TestPerCPU(t *testing.T) {
	r := newReg(t)
	m, err := r.NewMap(&MapSpec{Type: PerCPUHash, KeySize: 4, ValueSize: 4, MaxEntries: 4, NumCPU: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Put(uint32(5), []uint32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	var got []uint32
	if err := m.Lookup(uint32(5), &got); err != nil || len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("%v %v", got, err)
	}
	var raw []byte
	if err := m.Lookup(uint32(5), &raw); err != nil || len(raw) != 24 {
		t.Fatalf("raw %x %v", raw, err)
	}
	if err := m.Put(uint32(5), []uint32{1, 2}); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("short per-CPU value: %v", err)
	}
}

func TestPinPaths(t *testing.T) {
	root := t.TempDir()
	r := NewRegistry(WithPinRoot(root))
	outside := t.TempDir()
	os.Mkdir(filepath.Join(root, "sub"), 0o755)
	os.Symlink(outside, filepath.Join(root, "escape"))
	m, err := r.NewMap(&MapSpec{Name: "p", Type: Hash, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, c := range []struct {
		path  string
		errno unix.Errno
	}{
		{"../x", unix.EPERM},
		{filepath.Join(outside, "x"), unix.EPERM},
		{"sub/../../x", unix.EPERM},
		{"escape/x", unix.EPERM},
		{"nodir/x", unix.ENOENT},
		{"", unix.EINVAL},
		{"sub", unix.EEXIST},
	} {
		if err := m.Pin(c.path); !errors.Is(err, c.errno) {
			t.Errorf("Pin(%q) = %v, want %v", c.path, err, c.errno)
		}
	}
	if err := m.Pin("sub/p"); err != nil {
		t.Fatal(err)
	}
	if err := m.Pin(filepath.Join(root, "sub/p")); err != nil {
		t.Fatalf("re-pin at the same path: %v", err)
	}
	m2, err := r.NewMap(&MapSpec{Type: Hash, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if err := m2.Pin("sub/p"); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("pin over another map: %v", err)
	}
	// Move the pin, then unpin.
	if err := m.Pin("q"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "q")); err != nil {
		t.Fatal(err)
	}
	info, _ := m.Info()
	if len(info.Pinned) != 1 || info.Pinned[0] != filepath.Join(root, "q") || !info.FileBacked {
		t.Fatalf("info after pin: %+v", info)
	}
	if err := m.Unpin(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.LoadPinnedMap("q"); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("load after unpin: %v", err)
	}
	if _, err := r.LoadPinnedMap("../etc/passwd"); !errors.Is(err, unix.EPERM) {
		t.Fatalf("load outside: %v", err)
	}
	os.WriteFile(filepath.Join(root, "junk"), []byte("hello"), 0o600)
	if _, err := r.LoadPinnedMap("junk"); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("load junk: %v", err)
	}
}

// TestPinMigrates pins an in-memory map: its contents move to the file,
// and a second registry (as another process would) sees them.
func TestPinMigrates(t *testing.T) {
	root := t.TempDir()
	r := NewRegistry(WithPinRoot(root))
	for _, typ := range []MapType{Hash, Array, PerCPUArray, LRUHash} {
		m, err := r.NewMap(&MapSpec{Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 16, NumCPU: 2})
		if err != nil {
			t.Fatal(err)
		}
		per := typ == PerCPUArray
		for i := range uint32(10) {
			var v any = uint64(i * 11)
			if per {
				v = []uint64{uint64(i), uint64(i * 11)}
			}
			if err := m.Put(i, v); err != nil {
				t.Fatal(err)
			}
		}
		name := typ.String()
		if err := m.Pin(name); err != nil {
			t.Fatal(err)
		}
		if err := m.Put(uint32(3), anyVal(per, 333)); err != nil {
			t.Fatal(err)
		}
		other := NewRegistry(WithPinRoot(root))
		o, err := other.LoadPinnedMap(name)
		if err != nil {
			t.Fatal(err)
		}
		for i := range uint32(10) {
			want := uint64(i * 11)
			if i == 3 {
				want = 333
			}
			var got uint64
			if per {
				var vs []uint64
				if err := o.Lookup(i, &vs); err != nil {
					t.Fatal(err)
				}
				got = vs[1]
			} else if err := o.Lookup(i, &got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("%v key %d: %d, want %d", typ, i, got, want)
			}
		}
		o.Close()
		m.Close()
	}
}

func anyVal(per bool, v uint64) any {
	if per {
		return []uint64{0, v}
	}
	return v
}

func TestPinByNameAndLocalPins(t *testing.T) {
	root := t.TempDir()
	r := NewRegistry(WithPinRoot(root))
	spec := &MapSpec{Name: "shared", Type: Hash, KeySize: 4, ValueSize: 4, MaxEntries: 4, Pinning: PinByName}
	a, err := r.NewMapWithOptions(spec, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.Put(uint32(1), uint32(2))
	a.Close() // the pin keeps it
	b, err := NewRegistry(WithPinRoot(root)).NewMapWithOptions(spec, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var v uint32
	if err := b.Lookup(uint32(1), &v); err != nil || v != 2 {
		t.Fatalf("%d %v", v, err)
	}
	b.Close()
	bad := *spec
	bad.ValueSize = 8
	if _, err := r.NewMapWithOptions(&bad, MapOptions{}); !errors.Is(err, ErrMapIncompatible) {
		t.Fatalf("incompatible: %v", err)
	}
	// A ring buffer can be pinned, but only this process can open it.
	q, err := r.NewMap(&MapSpec{Type: RingBuf, MaxEntries: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Pin("q"); err != nil {
		t.Fatal(err)
	}
	q2, err := r.LoadPinnedMap("q")
	if err != nil || q2.ID() != q.ID() {
		t.Fatalf("same-process load: %v", err)
	}
	if _, err := NewRegistry(WithPinRoot(root)).LoadPinnedMap("q"); err == nil || unix.Errno(524) != errnoOf(err) {
		t.Fatalf("cross-process load of a ring buffer: %v", err)
	}
	q.Close()
	q2.Close()
	q.Close() // twice is fine
}

func errnoOf(err error) unix.Errno {
	var e unix.Errno
	errors.As(err, &e)
	return e
}

func TestEnvPinRoot(t *testing.T) {
	d := t.TempDir()
	t.Setenv(PinRootEnv, d)
	if got := NewRegistry().PinRoot(); got != d {
		t.Fatalf("root %s, want %s", got, d)
	}
	t.Setenv(PinRootEnv, "")
	if got := NewRegistry().PinRoot(); got != DefaultPinRoot {
		t.Fatalf("root %s", got)
	}
}
