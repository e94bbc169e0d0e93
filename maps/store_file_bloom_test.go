package maps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// bloomGeometry must be newBloomCore's sizing.
func TestBloomGeometryMatchesMemory(t *testing.T) {
	for _, max := range []uint32{1, 2, 9, 10, 13, 64, 100, 1000, 4096, 99999, 1 << 20} {
		for extra := range uint64(16) {
			s := Spec{Type: BloomFilter, ValueSize: 4, MaxEntries: max, MapExtra: extra, NumCPU: 1}
			m, err := New(s)
			if err != nil {
				t.Fatal(err)
			}
			bc := m.(*object).core.(*bloomCore)
			nh, nbits := bloomGeometry(&s)
			if nh != bc.nhash || nbits != uint64(bc.mask)+1 || nbits/64 != uint64(len(bc.bitset)) {
				t.Fatalf("max %d extra %d: geometry (%d, %d), memory (%d, %d)", max, extra, nh, nbits, bc.nhash, uint64(bc.mask)+1)
			}
		}
	}
}

func TestFileBloomMatchesMemory(t *testing.T) {
	for _, c := range []struct {
		vs, max uint32
		extra   uint64
	}{{4, 40, 0}, {8, 100, 3}, {5, 20, 1}, {12, 500, 15}} {
		t.Run(fmt.Sprintf("value%d/max%d/hashes%d", c.vs, c.max, c.extra), func(t *testing.T) {
			spec := Spec{Name: "bf", Type: BloomFilter, ValueSize: c.vs, MaxEntries: c.max, MapExtra: c.extra, Flags: FlagZeroSeed}
			mem, err := New(spec)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "bf")
			f, err := NewFile(spec, p)
			if err != nil {
				t.Fatal(err)
			}
			defer CloseFile(f)
			rnd := rand.New(rand.NewPCG(5, uint64(c.max)))
			val := func() []byte {
				v := make([]byte, c.vs)
				binary.NativeEndian.PutUint32(v, uint32(rnd.IntN(int(c.max)*4)))
				return v
			}
			ops, hits := 0, 0
			for op := range diffOps {
				v := val()
				var e1, e2 error
				var r1, r2 []byte
				switch rnd.IntN(8) {
				case 0, 1:
					fl := uint64(0)
					if rnd.IntN(10) == 0 {
						fl = uint64(1 + rnd.IntN(3))
					}
					e1, e2 = mem.Push(v, fl), f.Push(v, fl)
				case 2:
					e1, e2 = mem.PushElem(v, 0, 0), f.PushElem(v, 0, 0)
				case 3, 4:
					e1, e2 = mem.Peek(v), f.Peek(v)
					if e1 == nil {
						hits++
					}
				case 5:
					e1, e2 = mem.PeekElem(v, 0), f.PeekElem(v, 0)
				case 6:
					d1, d2 := bytes.Clone(v), bytes.Clone(v)
					e1, e2 = mem.Pop(d1), f.Pop(d2)
					r1, r2 = d1, d2
				case 7:
					switch rnd.IntN(4) {
					case 0:
						e1, e2 = mem.Delete(nil), f.Delete(nil)
					case 1:
						r1, e1 = mem.NextKey(nil)
						r2, e2 = f.NextKey(nil)
					case 2:
						r1, e1 = mem.LookupAndDelete(nil)
						r2, e2 = f.LookupAndDelete(nil)
					case 3:
						_, _, e1 = mem.BatchLookup(nil, nil, make([]byte, c.vs), 0)
						_, _, e2 = f.BatchLookup(nil, nil, make([]byte, c.vs), 0)
					}
				}
				sameResult(t, op, fmt.Sprintf("value %x", v), r1, r2, e1, e2)
				ops++
			}
			// The bits themselves are equal, and a second handle sees them.
			f2, err := OpenFile(p)
			if err != nil {
				t.Fatal(err)
			}
			defer CloseFile(f2)
			mb := mem.(*object).core.(*bloomCore).bitset
			fb := f2.(*object).core.(*fileBloom).b.bitset
			for i := range mb {
				if mb[i] != fb[i] {
					t.Fatalf("bit word %d: memory %#x, file %#x", i, mb[i], fb[i])
				}
			}
			t.Logf("bloom %d entries: %d operations compared (%d hits)", c.max, ops, hits)
		})
	}
}

func TestFileBloomSeedAndMigrate(t *testing.T) {
	dir := t.TempDir()
	spec := Spec{Name: "bf", Type: BloomFilter, ValueSize: 4, MaxEntries: 100}
	mem, _ := New(spec)
	for i := range uint32(100) {
		mem.Push(u32key(i*3), 0)
	}
	f, err := MigrateToFile(mem, filepath.Join(dir, "bf"))
	if err != nil {
		t.Fatal(err)
	}
	f2, err := OpenFile(filepath.Join(dir, "bf"))
	if err != nil {
		t.Fatal(err)
	}
	defer CloseFile(f2)
	for i := range uint32(400) {
		e1, e2 := mem.Peek(u32key(i)), f2.Peek(u32key(i))
		if Errno(e1) != Errno(e2) {
			t.Fatalf("value %d: memory %v, migrated file %v", i, e1, e2)
		}
	}
	// A random seed is shared through the header.
	f2.Push(u32key(12345), 0)
	if err := f.Peek(u32key(12345)); err != nil {
		t.Fatalf("another handle's value: %v", err)
	}
	if err := FreezeFile(f); err != nil {
		t.Fatal(err)
	}
	if err := f2.Push(u32key(1), 0); !errors.Is(err, unix.EPERM) {
		t.Fatalf("push after freeze elsewhere: %v", err)
	}
	CloseFile(f)
	if err := f.Peek(u32key(1)); !errors.Is(err, unix.EBADF) {
		t.Fatalf("after close: %v", err)
	}
	// Truncated files are refused.
	good, _ := os.ReadFile(filepath.Join(dir, "bf"))
	for _, n := range []int{0, 90, fileHeaderSize, len(good) - 8} {
		os.WriteFile(filepath.Join(dir, "t"), good[:n], 0o600)
		if _, err := OpenFile(filepath.Join(dir, "t")); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	// Bad map_extra in the header: the spec check refuses it.
	b := bytes.Clone(good)
	binary.NativeEndian.PutUint64(b[hMapExtra:], 99)
	os.WriteFile(filepath.Join(dir, "x"), b, 0o600)
	if _, err := OpenFile(filepath.Join(dir, "x")); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("changed map_extra: %v", err)
	}
}
