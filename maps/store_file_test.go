package maps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

func u32key(i uint32) []byte { return binary.NativeEndian.AppendUint32(nil, i) }

func u64val(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

// TestFileMatchesMemory runs the same operations on an in-memory map and a
// file-backed one (zero seed, so the same iteration order) and compares
// every result.
func TestFileMatchesMemory(t *testing.T) {
	for _, typ := range []Type{Hash, PerCPUHash, LRUHash, LRUPerCPUHash, Array, PerCPUArray} {
		t.Run(typ.String(), func(t *testing.T) {
			spec := Spec{Name: "t", Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 16, Flags: FlagZeroSeed, NumCPU: 2}
			if typ == Array || typ == PerCPUArray {
				spec.Flags = 0
			}
			mem, err := New(spec)
			if err != nil {
				t.Fatal(err)
			}
			f, err := NewFile(spec, filepath.Join(t.TempDir(), "m"))
			if err != nil {
				t.Fatal(err)
			}
			defer CloseFile(f)
			uv := mem.UserValueSize()
			seed := uint64(1)
			rnd := func(n int) int {
				seed = seed*6364136223846793005 + 1442695040888963407
				return int(seed>>33) % n
			}
			for op := range 5000 {
				k := u32key(uint32(rnd(24)))
				v := bytes.Repeat([]byte{byte(op)}, uv)
				var e1, e2 error
				var r1, r2 []byte
				switch rnd(6) {
				case 0, 1:
					fl := uint64(rnd(3))
					e1, e2 = mem.Update(k, v, fl), f.Update(k, v, fl)
				case 2:
					r1, e1 = mem.Lookup(k)
					r2, e2 = f.Lookup(k)
				case 3:
					e1, e2 = mem.Delete(k), f.Delete(k)
				case 4:
					r1, e1 = mem.NextKey(k)
					r2, e2 = f.NextKey(k)
				case 5:
					cpu := rnd(2)
					e1 = mem.UpdateElem(k, v[:8], UpdateAny, cpu)
					e2 = f.UpdateElem(k, v[:8], UpdateAny, cpu)
					r1, r2 = mem.LookupElem(k, cpu), f.LookupElem(k, cpu)
				}
				if Errno(e1) != Errno(e2) || !bytes.Equal(r1, r2) {
					if typ == LRUHash || typ == LRUPerCPUHash {
						// Eviction order is the same algorithm, but check only
						// errno agreement loosely for LRU.
						if Errno(e1) == Errno(e2) {
							continue
						}
					}
					t.Fatalf("op %d: memory (%x, %v) file (%x, %v)", op, r1, e1, r2, e2)
				}
			}
		})
	}
}

func TestFileReopenAndErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m")
	spec := Spec{Name: "h", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 4}
	m, err := NewFile(spec, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewFile(spec, p); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("second create: %v, want EEXIST", err)
	}
	for i := range uint32(4) {
		if err := m.Update(u32key(i), u64val(uint64(i)*7), UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Update(u32key(9), u64val(1), UpdateAny); !errors.Is(err, unix.E2BIG) {
		t.Fatalf("full: %v", err)
	}
	// Delete and reinsert: the freed element is reused.
	if err := m.Delete(u32key(2)); err != nil {
		t.Fatal(err)
	}
	if err := m.Update(u32key(9), u64val(99), UpdateNoExist); err != nil {
		t.Fatal(err)
	}
	m2, err := OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[uint32]uint64{0: 0, 1: 7, 3: 21, 9: 99} {
		v, err := m2.Lookup(u32key(k))
		if err != nil || binary.NativeEndian.Uint64(v) != want {
			t.Fatalf("key %d: %x %v", k, v, err)
		}
	}
	if _, err := m2.Lookup(u32key(2)); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("deleted key: %v", err)
	}
	if err := FreezeFile(m); err != nil {
		t.Fatal(err)
	}
	if err := m2.Update(u32key(0), u64val(1), UpdateAny); !errors.Is(err, unix.EPERM) {
		t.Fatalf("update after another mapping froze it: %v", err)
	}
	m3, err := OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !m3.Frozen() {
		t.Fatal("reopened frozen map is not frozen")
	}
	CloseFile(m)
	if _, err := m.Lookup(u32key(0)); !errors.Is(err, unix.EBADF) {
		t.Fatalf("after close: %v", err)
	}
	CloseFile(m2)
	CloseFile(m3)
	if _, err := NewFile(Spec{Type: RingBuf, MaxEntries: 4096}, filepath.Join(dir, "r")); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("ringbuf file: %v", err)
	}
	if _, err := NewFile(spec, filepath.Join(dir, "missing", "m")); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("missing dir: %v", err)
	}
}

func TestFileCorrupt(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m")
	m, err := NewFile(Spec{Name: "h", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 64}, p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint32(40) {
		m.Update(u32key(i), u64val(uint64(i)), UpdateAny)
	}
	CloseFile(m)
	good, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	try := func(name string, b []byte) error {
		q := filepath.Join(dir, name)
		if err := os.WriteFile(q, b, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := OpenFile(q)
		if err == nil {
			CloseFile(m)
		}
		return err
	}
	for _, n := range []int{0, 10, 96, 4096, len(good) - 1} {
		if err := try("trunc", good[:n]); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	for _, off := range []int{0, hVersion, hType, hKeySize, hMaxEntries, hNBuckets, hDataSize, hCRC} {
		b := bytes.Clone(good)
		b[off] ^= 0x40
		if err := try("flip", b); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("header byte %d flipped: %v", off, err)
		}
	}
	// Corrupt storage: every bucket points out of range. Operations fail
	// with EIO, without a panic.
	b := bytes.Clone(good)
	for i := fileHeaderSize; i < fileHeaderSize+64*4; i++ {
		b[i] = 0xff
	}
	q := filepath.Join(dir, "data")
	os.WriteFile(q, b, 0o600)
	cm, err := OpenFile(q)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseFile(cm)
	if _, err := cm.Lookup(u32key(1)); !errors.Is(err, unix.EIO) {
		t.Fatalf("corrupt lookup: %v", err)
	}
	if err := cm.Update(u32key(1), u64val(1), UpdateAny); !errors.Is(err, unix.EIO) {
		t.Fatalf("corrupt update: %v", err)
	}
	if v := cm.LookupElem(u32key(1), 0); v != nil {
		t.Fatal("corrupt LookupElem returned a value")
	}
	// A cycle in a bucket chain.
	b = bytes.Clone(good)
	for i := fileHeaderSize; i < fileHeaderSize+64*4; i += 4 {
		binary.NativeEndian.PutUint32(b[i:], 1)
	}
	elem := fileHeaderSize + roundUp8(64*4)
	binary.NativeEndian.PutUint32(b[elem+eNext:], 1)
	os.WriteFile(q+"2", b, 0o600)
	cm2, err := OpenFile(q + "2")
	if err != nil {
		t.Fatal(err)
	}
	defer CloseFile(cm2)
	if _, err := cm2.Lookup(u32key(1000)); !errors.Is(err, unix.EIO) {
		t.Fatalf("cycle lookup: %v", err)
	}
}

func FuzzParseFileHeader(f *testing.F) {
	for _, s := range []Spec{
		{Name: "a", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 10, NumCPU: 1},
		{Type: PerCPUArray, KeySize: 4, ValueSize: 3, MaxEntries: 2, NumCPU: 4},
		{Type: LRUPerCPUHash, KeySize: 8, ValueSize: 8, MaxEntries: 8, Flags: FlagNoCommonLRU, NumCPU: 2},
		{Type: Queue, ValueSize: 5, MaxEntries: 7, NumCPU: 1},
		{Type: Stack, ValueSize: 8, MaxEntries: 3, NumCPU: 1},
		{Type: BloomFilter, ValueSize: 4, MaxEntries: 100, MapExtra: 3, Flags: FlagZeroSeed, NumCPU: 1},
		{Type: LPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: 16, Flags: FlagNoPrealloc, NumCPU: 1},
	} {
		h := &FileHeader{Kind: FileKindStorage, Spec: s}
		h.NBuckets, h.ElemSize, h.NLists, h.DataSize = layout(&s)
		b := make([]byte, fileHeaderSize)
		encodeHeader(b, h)
		f.Add(b, int64(fileHeaderSize)+int64(h.DataSize))
	}
	f.Fuzz(func(t *testing.T, b []byte, size int64) {
		h, err := ParseFileHeader(b, size)
		if err == nil && h.Kind == FileKindStorage {
			if _, _, _, ds := layout(&h.Spec); int64(ds)+fileHeaderSize != size {
				t.Fatalf("accepted a header whose layout does not fit the file")
			}
		}
	})
}
