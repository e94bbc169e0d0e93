package maps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

func lpmTestKey(plen uint32, data ...byte) []byte {
	return append(binary.NativeEndian.AppendUint32(nil, plen), data...)
}

// fileWalk returns the get_next_key order of m, with the values.
func fileWalk(t *testing.T, m Map) (keys, values [][]byte) {
	t.Helper()
	var k []byte
	for range 2*m.Spec().MaxEntries + 2 {
		next, err := m.NextKey(k)
		if errors.Is(err, unix.ENOENT) {
			return keys, values
		}
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.Lookup(next)
		if err != nil {
			t.Fatal(err)
		}
		keys, values, k = append(keys, next), append(values, v), next
	}
	t.Fatal("walk does not end")
	return nil, nil
}

func sameWalk(t *testing.T, op int, a, b Map) {
	t.Helper()
	k1, v1 := fileWalk(t, a)
	k2, v2 := fileWalk(t, b)
	if !slices.EqualFunc(k1, k2, bytes.Equal) || !slices.EqualFunc(v1, v2, bytes.Equal) {
		t.Fatalf("op %d: walks differ:\nmemory %x %x\nfile   %x %x", op, k1, v1, k2, v2)
	}
}

func TestFileLPMMatchesMemory(t *testing.T) {
	for _, c := range []struct{ ds, vs, max uint32 }{{2, 8, 24}, {1, 3, 6}, {4, 16, 64}} {
		t.Run(fmt.Sprintf("data%d/value%d/max%d", c.ds, c.vs, c.max), func(t *testing.T) {
			spec := Spec{Name: "lpm", Type: LPMTrie, KeySize: 4 + c.ds, ValueSize: c.vs, MaxEntries: c.max, Flags: FlagNoPrealloc}
			mem, err := New(spec)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "lpm")
			f, err := NewFile(spec, p)
			if err != nil {
				t.Fatal(err)
			}
			defer CloseFile(f)
			rnd := rand.New(rand.NewPCG(2, uint64(c.ds)))
			maxLen := c.ds * 8
			key := func() []byte {
				plen := uint32(rnd.IntN(int(maxLen) + 1))
				if rnd.IntN(30) == 0 {
					plen = maxLen + 1 + uint32(rnd.IntN(3))
				}
				d := make([]byte, c.ds)
				for i := range d {
					// Few distinct bytes: prefixes nest and collide.
					d[i] = []byte{0, 0x80, 0xc0, 0x0f, 0xff, byte(rnd.IntN(256))}[rnd.IntN(6)]
				}
				return lpmTestKey(plen, d...)
			}
			var known [][]byte
			pick := func() []byte {
				if len(known) > 0 && rnd.IntN(2) == 0 {
					return known[rnd.IntN(len(known))]
				}
				k := key()
				known = append(known, k)
				return k
			}
			ops := 0
			for op := range diffOps {
				k := pick()
				v := make([]byte, c.vs)
				for i := range v {
					v[i] = byte(rnd.IntN(256))
				}
				var e1, e2 error
				var r1, r2 []byte
				switch rnd.IntN(11) {
				case 0, 1, 2:
					fl := uint64(rnd.IntN(4))
					e1, e2 = mem.Update(k, v, fl), f.Update(k, v, fl)
				case 3:
					e1, e2 = mem.UpdateElem(k, v, UpdateAny, 0), f.UpdateElem(k, v, UpdateAny, 0)
				case 4, 5:
					r1, e1 = mem.Lookup(k)
					r2, e2 = f.Lookup(k)
				case 6:
					r1, r2 = mem.LookupElem(k, 0), f.LookupElem(k, 0)
				case 7, 8:
					if rnd.IntN(2) == 0 {
						e1, e2 = mem.Delete(k), f.Delete(k)
					} else {
						e1, e2 = mem.DeleteElem(k), f.DeleteElem(k)
					}
				case 9:
					if rnd.IntN(4) == 0 {
						k = nil
					}
					r1, e1 = mem.NextKey(k)
					r2, e2 = f.NextKey(k)
				case 10:
					switch rnd.IntN(3) {
					case 0:
						r1, e1 = mem.LookupAndDelete(k)
						r2, e2 = f.LookupAndDelete(k)
					case 1:
						n := 1 + rnd.IntN(5)
						ks1, vs1 := make([]byte, n*int(spec.KeySize)), make([]byte, n*int(c.vs))
						ks2, vs2 := bytes.Clone(ks1), bytes.Clone(vs1)
						var n1, n2 int
						n1, r1, e1 = mem.BatchLookup(nil, ks1, vs1, 0)
						n2, r2, e2 = f.BatchLookup(nil, ks2, vs2, 0)
						if n1 != n2 || !bytes.Equal(ks1, ks2) || !bytes.Equal(vs1, vs2) {
							t.Fatalf("op %d: batch %d %x %x, file %d %x %x", op, n1, ks1, vs1, n2, ks2, vs2)
						}
					case 2:
						e1, e2 = mem.Push(v, 0), f.Push(v, 0)
					}
				}
				sameResult(t, op, fmt.Sprintf("key %x", k), r1, r2, e1, e2)
				if op%200 == 0 {
					sameWalk(t, op, mem, f)
				}
				ops++
			}
			sameWalk(t, ops, mem, f)
			f2, err := OpenFile(p)
			if err != nil {
				t.Fatal(err)
			}
			defer CloseFile(f2)
			sameWalk(t, ops, mem, f2)
			// The second handle's writes show through the first.
			k1, _ := fileWalk(t, f2)
			for _, k := range k1 {
				if err := f2.Delete(k); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.NextKey(nil); !errors.Is(err, unix.ENOENT) {
				t.Fatalf("emptied through another handle: %v", err)
			}
			t.Logf("lpm data %d: %d operations compared", c.ds, ops)
		})
	}
}

func TestFileLPMMigrate(t *testing.T) {
	spec := Spec{Name: "lpm", Type: LPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: 100, Flags: FlagNoPrealloc}
	mem, _ := New(spec)
	rnd := rand.New(rand.NewPCG(3, 3))
	for range 300 {
		mem.Update(lpmTestKey(uint32(rnd.IntN(33)), 10, byte(rnd.IntN(4)), byte(rnd.IntN(256)), 0), u32key(rnd.Uint32()), UpdateAny)
	}
	f, err := MigrateToFile(mem, filepath.Join(t.TempDir(), "lpm"))
	if err != nil {
		t.Fatal(err)
	}
	defer CloseFile(f)
	sameWalk(t, 0, mem, f)
}

// lpmWorker inserts, looks up and deletes IPv4 prefixes under 10.<mine>/16
// and reads the other process's; it leaves the prefixes with an even third
// byte.
func lpmWorker(m Map, mine byte) error {
	val := func(plen uint32, b byte) []byte { return u32key(uint32(mine)<<24 | plen<<8 | uint32(b)) }
	for round := range 20 {
		for b := range 200 {
			k := lpmTestKey(24, 10, mine, byte(b), 0)
			if err := m.Update(k, val(24, byte(b)), UpdateAny); err != nil {
				return fmt.Errorf("round %d update %x: %w", round, k, err)
			}
			if b%16 == 0 {
				// A /20 per nibble (the bits after the prefix are zero).
				if err := m.Update(lpmTestKey(20, 10, mine, byte(b), 0), val(20, byte(b)), UpdateAny); err != nil {
					return err
				}
			}
			// The longest match of a host in the /24 is the /24.
			v, err := m.Lookup(lpmTestKey(32, 10, mine, byte(b), 7))
			if err != nil || !bytes.Equal(v, val(24, byte(b))) {
				return fmt.Errorf("lookup in %d: %x %v", b, v, err)
			}
			// The other side's prefixes: present or not, never an error.
			if _, err := m.Lookup(lpmTestKey(32, 10, mine^1, byte(b), 7)); err != nil && !errors.Is(err, unix.ENOENT) {
				return err
			}
		}
		for b := 1; b < 200; b += 2 {
			if err := m.Delete(lpmTestKey(24, 10, mine, byte(b), 0)); err != nil {
				return fmt.Errorf("delete %d: %w", b, err)
			}
			// Now the host's longest match is its /20.
			v, err := m.Lookup(lpmTestKey(32, 10, mine, byte(b), 7))
			if err != nil || !bytes.Equal(v, val(20, byte(b)&0xf0)) {
				return fmt.Errorf("lookup in deleted %d: %x %v", b, v, err)
			}
		}
	}
	return nil
}

func TestFileLPMCrossProcess(t *testing.T) {
	if os.Getenv(fileHelperEnv) != "" {
		t.Skip()
	}
	p := filepath.Join(t.TempDir(), "lpm")
	m, err := NewFile(Spec{Name: "lpm", Type: LPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: 500, Flags: FlagNoPrealloc}, p)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseFile(m)
	wait := runHelper(t, "lpm", p)
	if err := lpmWorker(m, 0x0a); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	// Both sides' survivors, and nothing else, in a valid trie.
	want := map[string]bool{}
	for _, mine := range []byte{0x0a, 0x0b} {
		for b := range 200 {
			if b%2 == 0 {
				want[string(lpmTestKey(24, 10, mine, byte(b), 0))] = true
			}
			if b%16 == 0 {
				want[string(lpmTestKey(20, 10, mine, byte(b), 0))] = true
			}
		}
	}
	keys, values := fileWalk(t, m)
	if len(keys) != len(want) {
		t.Fatalf("%d elements, want %d", len(keys), len(want))
	}
	for i, k := range keys {
		if !want[string(k)] {
			t.Fatalf("unexpected element %x", k)
		}
		plen, data := lpmKey(k)
		if got := binary.NativeEndian.Uint32(values[i]); got != uint32(data[1])<<24|plen<<8|uint32(data[2]) {
			t.Fatalf("element %x has value %#x", k, got)
		}
	}
	// The same set in a fresh in-memory trie walks in the same order.
	mem, _ := New(m.Spec())
	for i, k := range keys {
		mem.Update(k, values[i], UpdateAny)
	}
	sameWalk(t, 0, mem, m)
	t.Logf("lpm across processes: %d elements after both sides", len(keys))
}

func TestFileLPMCorrupt(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "lpm")
	spec := Spec{Name: "lpm", Type: LPMTrie, KeySize: 8, ValueSize: 8, MaxEntries: 32, Flags: FlagNoPrealloc}
	m, err := NewFile(spec, p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := m.Update(lpmTestKey(uint32(8+i), 10, byte(i*37), byte(i*91), 1), u64val(uint64(i)), UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	CloseFile(m)
	good, _ := os.ReadFile(p)
	q := filepath.Join(dir, "c")
	for _, n := range []int{0, 64, fileHeaderSize, len(good) - 1} {
		os.WriteFile(q, good[:n], 0o600)
		if _, err := OpenFile(q); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	open := func(b []byte) Map {
		t.Helper()
		os.WriteFile(q, b, 0o600)
		cm, err := OpenFile(q)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { CloseFile(cm) })
		return cm
	}
	expectEIO := func(what string, cm Map) {
		t.Helper()
		if _, err := cm.Lookup(lpmTestKey(32, 10, 0, 0, 1)); !errors.Is(err, unix.EIO) {
			t.Fatalf("%s: lookup %v", what, err)
		}
		if _, err := cm.NextKey(nil); !errors.Is(err, unix.EIO) {
			t.Fatalf("%s: next key %v", what, err)
		}
		if err := cm.Update(lpmTestKey(32, 10, 0, 0, 1), u64val(1), UpdateAny); !errors.Is(err, unix.EIO) {
			t.Fatalf("%s: update %v", what, err)
		}
		if cm.LookupElem(lpmTestKey(32, 10, 0, 0, 1), 0) != nil {
			t.Fatalf("%s: LookupElem returned a value", what)
		}
	}
	ns := int(lpmFileNodeSize(&spec))
	root := binary.NativeEndian.Uint32(good[hLPMRoot:])
	rootOff := fileHeaderSize + int(root-1)*ns
	b := bytes.Clone(good)
	binary.NativeEndian.PutUint32(b[hLPMRoot:], 1000)
	expectEIO("root out of range", open(b))
	b = bytes.Clone(good)
	binary.NativeEndian.PutUint32(b[rootOff+lnChild0:], root)
	binary.NativeEndian.PutUint32(b[rootOff+lnChild1:], root)
	expectEIO("cycle", open(b))
	b = bytes.Clone(good)
	binary.NativeEndian.PutUint32(b[rootOff+lnFlags:], 0)
	expectEIO("free node in the trie", open(b))
	b = bytes.Clone(good)
	binary.NativeEndian.PutUint32(b[rootOff+lnPlen:], 999)
	expectEIO("prefix too long", open(b))
	// Random garbage in the storage: only errnos, never a panic or hang.
	rnd := rand.New(rand.NewPCG(4, 4))
	for range 30 {
		b = bytes.Clone(good)
		for range 1 + rnd.IntN(20) {
			i := fileHeaderSize + rnd.IntN(len(b)-fileHeaderSize)
			b[i] = byte(rnd.IntN(256))
		}
		for _, w := range []int{hLPMRoot, hFree, hFresh, hCount} {
			if rnd.IntN(4) == 0 {
				binary.NativeEndian.PutUint32(b[w:], uint32(rnd.IntN(80)))
			}
		}
		cm := open(b)
		for range 200 {
			k := lpmTestKey(uint32(rnd.IntN(33)), 10, byte(rnd.IntN(256)), byte(rnd.IntN(256)), 1)
			switch rnd.IntN(4) {
			case 0:
				cm.Update(k, u64val(1), uint64(rnd.IntN(3)))
			case 1:
				cm.Delete(k)
			case 2:
				cm.Lookup(k)
			case 3:
				cm.NextKey(k)
			}
		}
	}
}
