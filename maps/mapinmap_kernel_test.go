//go:build linux

package maps

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"testing"

	"github.com/gobee-dev/gobee/kernel"
)

// Differential tests of ARRAY_OF_MAPS and HASH_OF_MAPS on the syscall
// surface: creation with good and bad inner maps, updates with compatible
// and incompatible inner maps and every flag, lookups (the inner map's id,
// translated back to which candidate map it is), deletes, get_next_key,
// lookup_and_delete and batch lookups, with the kernel's errno each time.

// kcreateInner is kcreate with an inner map fd.
func kcreateInner(s Spec, innerFd int) (*kmap, error) {
	fd, err := kernel.CreateMap(kernel.MapAttr{Type: uint32(s.Type), KeySize: s.KeySize, ValueSize: s.ValueSize,
		MaxEntries: s.MaxEntries, Flags: s.Flags, InnerMapFD: uint32(innerFd), Name: nameBytes(s.Name)})
	if err != nil {
		return nil, err
	}
	return &kmap{fd: fd, keySize: int(s.KeySize), valueSize: int(s.ValueSize)}, nil
}

// candidate is an inner map in both worlds.
type candidate struct {
	g    Map
	gid  uint32
	k    *kmap
	kid  uint32
	spec Spec
}

func newCandidates(t *testing.T, specs []Spec) []candidate {
	t.Helper()
	var cs []candidate
	for _, s := range specs {
		g, err := New(s)
		if err != nil {
			t.Fatalf("gobee %+v: %v", s, err)
		}
		k, err := kcreate(s, 1)
		if err != nil {
			t.Fatalf("kernel %+v: %v", s, err)
		}
		t.Cleanup(k.close)
		kid, err := objID(k.fd)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, candidate{g: g, gid: MapID(g), k: k, kid: kid, spec: s})
	}
	return cs
}

func TestKernelMapInMap(t *testing.T) {
	requireBPF(t)
	arr := Spec{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 4}
	arrInner := arr
	arrInner.Flags = FlagInnerMap
	hash := Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 16}
	candSpecs := []Spec{
		arr,
		{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 8},
		{Type: Array, KeySize: 4, ValueSize: 16, MaxEntries: 4},
		{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 4, Flags: FlagRdonlyProg},
		arrInner,
		{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 9, Flags: FlagInnerMap},
		{Type: PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 4, NumCPU: 1},
		hash,
		{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 64},
		{Type: Hash, KeySize: 8, ValueSize: 8, MaxEntries: 16},
		{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 16, Flags: FlagNoPrealloc},
		{Type: LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 16},
		{Type: Queue, KeySize: 0, ValueSize: 8, MaxEntries: 16},
	}
	cands := newCandidates(t, candSpecs)
	byKID := map[uint32]int{}
	byGID := map[uint32]int{}
	for i, c := range cands {
		byKID[c.kid], byGID[c.gid] = i, i
	}
	total := 0
	outers := []struct {
		outer Spec
		inner int // index into cands of the template
	}{
		{Spec{Type: ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 8}, 0},
		{Spec{Type: ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 8}, 4},
		{Spec{Type: ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 8}, 7},
		{Spec{Type: HashOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 6, Flags: FlagZeroSeed}, 7},
		{Spec{Type: HashOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 6, Flags: FlagNoPrealloc | FlagZeroSeed}, 0},
		{Spec{Type: HashOfMaps, KeySize: 8, ValueSize: 4, MaxEntries: 6, Flags: FlagZeroSeed}, 12},
	}
	for n, oc := range outers {
		spec := oc.outer
		tmpl := cands[oc.inner].spec
		spec.InnerMap = &tmpl
		g, err := New(spec)
		if err != nil {
			t.Fatalf("gobee %+v: %v", spec, err)
		}
		k, err := kcreateInner(spec, cands[oc.inner].k.fd)
		if err != nil {
			t.Fatalf("kernel %+v: %v", spec, err)
		}
		rng := rand.New(rand.NewSource(int64(n)))
		ks := int(spec.KeySize)
		key := func() []byte {
			b := make([]byte, ks)
			binary.NativeEndian.PutUint32(b, uint32(rng.Intn(int(spec.MaxEntries)+3)))
			return b
		}
		same := func(op int, what string, gerr, kerr error) {
			t.Helper()
			if Errno(gerr) != Errno(kerr) {
				t.Fatalf("outer %d op %d %s: gobee %v, kernel %v", n, op, what, gerr, kerr)
			}
		}
		sameVal := func(op int, what string, gv, kv []byte) {
			t.Helper()
			gi, gok := byGID[binary.NativeEndian.Uint32(gv)]
			ki, kok := byKID[binary.NativeEndian.Uint32(kv)]
			if gi != ki || gok != kok {
				t.Fatalf("outer %d op %d %s: gobee candidate %d, kernel candidate %d", n, op, what, gi, ki)
			}
		}
		for op := 0; op < 1500; op++ {
			kb := key()
			switch r := rng.Intn(10); {
			case r < 4:
				c := rng.Intn(len(cands) + 1)
				gref, kref := uint32(1<<30), uint32(9999) // no such map / fd
				if c < len(cands) {
					gref, kref = cands[c].gid, uint32(cands[c].k.fd)
				}
				fl := []uint64{UpdateAny, UpdateAny, UpdateNoExist, UpdateExist, UpdateLock, 7}[rng.Intn(6)]
				same(op, fmt.Sprintf("update cand %d flags %d", c, fl), g.Update(kb, u32(gref), fl), k.update(kb, u32(kref), fl))
			case r < 6:
				gv, gerr := g.Lookup(kb)
				kv, kerr := k.lookup(kb)
				same(op, "lookup", gerr, kerr)
				if gerr == nil {
					sameVal(op, "lookup", gv, kv)
				}
			case r < 8:
				same(op, "delete", g.Delete(kb), k.delete(kb))
			case r < 9:
				_, gerr := g.LookupAndDelete(kb)
				_, kerr := k.lookupAndDelete(kb)
				same(op, "lookup_and_delete", gerr, kerr)
				gn, gerr := g.NextKey(kb)
				kn, kerr := k.nextKey(kb)
				same(op, "next_key", gerr, kerr)
				if string(gn) != string(kn) {
					t.Fatalf("outer %d op %d next_key: gobee %x, kernel %x", n, op, gn, kn)
				}
			default:
				cl := 4
				if spec.Type == ArrayOfMaps {
					cl = ks
				}
				cnt := 1 + rng.Intn(int(spec.MaxEntries))
				gn, _, gerr := g.BatchLookup(nil, make([]byte, cnt*ks), make([]byte, cnt*4), 0)
				kn, _, kerr := k.batch(sysMapLookupBatch, nil, cl, make([]byte, cnt*ks), make([]byte, cnt*4), cnt, 0)
				same(op, fmt.Sprintf("batch lookup %d", cnt), gerr, kerr)
				if gn != kn {
					t.Fatalf("outer %d op %d batch lookup: gobee %d, kernel %d", n, op, gn, kn)
				}
			}
			total++
		}
		// The same set of keys and inner maps at the end.
		gk, gvals, gerr := walk(g.NextKey, g.Lookup, 1000)
		kk, kvals, kerr := walk(k.nextKey, k.lookup, 1000)
		same(-1, "walk", gerr, kerr)
		if len(gk) != len(kk) {
			t.Fatalf("outer %d: gobee keys %d, kernel %d", n, len(gk), len(kk))
		}
		for key, gv := range gvals {
			kv, ok := kvals[key]
			if !ok {
				t.Fatalf("outer %d: key %x missing in the kernel", n, key)
			}
			sameVal(-1, "final", gv, kv)
		}
		k.close()
	}

	// Creation: bad value sizes, no inner map, inner maps that cannot be
	// inner maps.
	pa, err := kcreate(Spec{Type: ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pa.close()
	aom, err := kcreateInner(Spec{Type: ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 2}, cands[0].k.fd)
	if err != nil {
		t.Fatal(err)
	}
	defer aom.close()
	for _, typ := range []Type{ArrayOfMaps, HashOfMaps} {
		for i, c := range []struct {
			outer Spec
			inner *Spec
			fd    int
		}{
			{Spec{KeySize: 4, ValueSize: 8, MaxEntries: 4}, &arr, cands[0].k.fd},
			{Spec{KeySize: 4, ValueSize: 4, MaxEntries: 0}, &arr, cands[0].k.fd},
			{Spec{KeySize: 4, ValueSize: 4, MaxEntries: 4}, nil, 9999},
			{Spec{KeySize: 4, ValueSize: 4, MaxEntries: 4}, &Spec{Type: ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 2}, pa.fd},
			{Spec{KeySize: 4, ValueSize: 4, MaxEntries: 4}, &Spec{Type: ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 2, InnerMap: &arr}, aom.fd},
			{Spec{KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: FlagRdonlyProg}, &arr, cands[0].k.fd},
			{Spec{KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: FlagNoPrealloc}, &arr, cands[0].k.fd},
			{Spec{KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: FlagInnerMap}, &arr, cands[0].k.fd},
		} {
			s := c.outer
			s.Type, s.InnerMap = typ, c.inner
			_, gerr := New(s)
			km, kerr := kcreateInner(s, c.fd)
			if kerr == nil {
				km.close()
			}
			if Errno(gerr) != Errno(kerr) {
				t.Errorf("%v create case %d: gobee %v, kernel %v", typ, i, gerr, kerr)
			}
			total++
		}
	}
	t.Logf("maps: compared %d map-in-map operations against the kernel", total)
	fmt.Printf("maps: compared %d map-in-map operations against the kernel\n", total)
}
