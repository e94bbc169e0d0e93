package objects

import (
	"testing"
)

// TestPinSharedNewTypes pins in-memory QUEUE, BLOOM_FILTER and LPM_TRIE
// maps (their contents migrate to files) and opens them from a second
// registry, as another process would.
func TestPinSharedNewTypes(t *testing.T) {
	root := t.TempDir()
	r := NewRegistry(WithPinRoot(root))
	other := NewRegistry(WithPinRoot(root))

	q, err := r.NewMap(&MapSpec{Type: Queue, ValueSize: 4, MaxEntries: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	// The objects API has no keyless form yet: push and pop through the
	// storage.
	for _, v := range []byte{1, 2} {
		if err := q.Storage().Push([]byte{v, 0, 0, 0}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Pin("q"); err != nil {
		t.Fatal(err)
	}
	q2, err := other.LoadPinnedMap("q")
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	p := make([]byte, 4)
	if err := q2.Storage().Pop(p); err != nil || p[0] != 1 {
		t.Fatalf("pop from the other registry: %x %v", p, err)
	}
	if err := q.Storage().Pop(p); err != nil || p[0] != 2 {
		t.Fatalf("pop from the first: %x %v", p, err)
	}
	var v uint32

	l, err := r.NewMap(&MapSpec{Type: LPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: 8, Flags: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Update([]byte{16, 0, 0, 0, 10, 1, 0, 0}, uint32(7), UpdateAny); err != nil {
		t.Fatal(err)
	}
	if err := l.Pin("l"); err != nil {
		t.Fatal(err)
	}
	l2, err := other.LoadPinnedMap("l")
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if err := l2.Lookup([]byte{32, 0, 0, 0, 10, 1, 2, 3}, &v); err != nil || v != 7 {
		t.Fatalf("longest match from the other registry: %d %v", v, err)
	}
	if info, _ := l2.Info(); !info.FileBacked {
		t.Fatalf("lpm not file-backed: %+v", info)
	}

	b, err := r.NewMap(&MapSpec{Type: BloomFilter, ValueSize: 4, MaxEntries: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Storage().Push([]byte{42, 0, 0, 0}, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Pin("b"); err != nil {
		t.Fatal(err)
	}
	b2, err := other.LoadPinnedMap("b")
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if err := b2.Storage().Peek([]byte{42, 0, 0, 0}); err != nil {
		t.Fatalf("bloom value after migration: %v", err)
	}
}
