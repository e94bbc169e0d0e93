//go:build linux

package maps

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"
)

// Differential tests of the maps without keys (QUEUE, STACK, BLOOM_FILTER)
// against kernel maps: pushes with every flag, peeks, pops, the
// operations these maps refuse, and bloom lookups, which with
// BPF_F_ZERO_SEED give the kernel's exact answers, false positives
// included.

// keylessPair drives a gobee and a kernel map without keys in lockstep.
type keylessPair struct {
	t    *testing.T
	spec Spec
	g    Map
	k    *kmap
	rng  *rand.Rand
	ops  int
	pool [][]byte // values to push and test (bloom: a small set, so hits happen)
}

func newKeylessPair(t *testing.T, spec Spec, seed int64) *keylessPair {
	t.Helper()
	g, err := New(spec)
	if err != nil {
		t.Fatalf("gobee %+v: %v", spec, err)
	}
	k, err := kcreate(spec, spec.NumCPU)
	if err != nil {
		t.Fatalf("kernel %+v: %v", spec, err)
	}
	t.Cleanup(k.close)
	p := &keylessPair{t: t, spec: g.Spec(), g: g, k: k, rng: rand.New(rand.NewSource(seed))}
	for range 4 * spec.MaxEntries {
		v := make([]byte, spec.ValueSize)
		p.rng.Read(v)
		p.pool = append(p.pool, v)
	}
	return p
}

func (p *keylessPair) same(what string, gerr, kerr error) {
	p.t.Helper()
	if Errno(gerr) != Errno(kerr) {
		p.t.Fatalf("%v op %d: %s: gobee %v, kernel %v", p.spec.Type, p.ops, what, gerr, kerr)
	}
}

func (p *keylessPair) value() []byte {
	if p.rng.Intn(4) == 0 {
		v := make([]byte, p.spec.ValueSize)
		p.rng.Read(v)
		return v
	}
	return p.pool[p.rng.Intn(len(p.pool))]
}

func (p *keylessPair) flags() uint64 {
	switch r := p.rng.Intn(30); {
	case r == 0:
		return 3
	case r == 1:
		return UpdateLock
	case r < 4:
		return UpdateNoExist
	case r < 12:
		return UpdateExist
	default:
		return UpdateAny
	}
}

func (p *keylessPair) step() {
	p.t.Helper()
	p.ops++
	bloom := p.spec.Type == BloomFilter
	switch r := p.rng.Intn(100); {
	case r < 40:
		v, f := p.value(), p.flags()
		if bloom && p.rng.Intn(3) > 0 {
			f = UpdateAny
		}
		p.same(fmt.Sprintf("push %x flags %d", v, f), p.g.Push(v, f), p.k.update(nil, v, f))
	case r < 60:
		// Peek. For bloom filters the value buffer is the input.
		gv, kv := p.value(), []byte(nil)
		if bloom {
			kv = bytes.Clone(gv)
		} else {
			kv = make([]byte, len(gv))
			gv = make([]byte, len(gv))
		}
		gerr := p.g.Peek(gv)
		kerr := p.k.elem(sysMapLookup, nil, kv, 0)
		p.same("peek", gerr, kerr)
		if gerr == nil && !bytes.Equal(gv, kv) {
			p.t.Fatalf("%v op %d: peek: gobee %x, kernel %x", p.spec.Type, p.ops, gv, kv)
		}
	case r < 85:
		gv := make([]byte, p.spec.ValueSize)
		kv, kerr := p.k.lookupAndDelete(nil)
		gerr := p.g.Pop(gv)
		p.same("pop", gerr, kerr)
		if gerr == nil && !bytes.Equal(gv, kv) {
			p.t.Fatalf("%v op %d: pop: gobee %x, kernel %x", p.spec.Type, p.ops, gv, kv)
		}
	case r < 88:
		gv, gerr := p.g.Lookup(nil)
		kv, kerr := p.k.lookup(nil)
		p.same("lookup(nil)", gerr, kerr)
		if gerr == nil && !bytes.Equal(gv, kv) {
			p.t.Fatalf("%v op %d: lookup: gobee %x, kernel %x", p.spec.Type, p.ops, gv, kv)
		}
	case r < 90:
		p.same("delete", p.g.Delete(nil), p.k.delete(nil))
	case r < 92:
		_, gerr := p.g.NextKey(nil)
		_, kerr := p.k.nextKey(nil)
		p.same("next_key", gerr, kerr)
	case r < 93:
		// A key where none belongs.
		_, gerr := p.g.Lookup([]byte{1})
		_, kerr := p.k.lookup([]byte{1})
		p.same("lookup with a key", gerr, kerr)
	case r < 94:
		_, _, gerr := p.g.BatchLookup(nil, nil, nil, 0)
		_, _, kerr := p.k.batch(sysMapLookupBatch, nil, 4, nil, nil, 1, 0)
		p.same("lookup_batch", gerr, kerr)
	case r < 95:
		_, gerr := p.g.BatchUpdate(nil, nil, 0)
		_, _, kerr := p.k.batch(sysMapUpdateBatch, nil, 4, nil, nil, 1, 0)
		p.same("update_batch", gerr, kerr)
	case r < 96:
		_, gerr := p.g.BatchDelete(nil, 0)
		_, _, kerr := p.k.batch(sysMapDeleteBatch, nil, 4, nil, nil, 1, 0)
		p.same("delete_batch", gerr, kerr)
	default:
		_, _, gerr := p.g.BatchLookupAndDelete(nil, nil, nil, 0)
		_, _, kerr := p.k.batch(sysMapLookupDelBatch, nil, 4, nil, nil, 1, 0)
		p.same("lookup_and_delete_batch", gerr, kerr)
	}
}

// drain pops both maps empty (bloom filters: tests every pool value) and
// compares what comes out.
func (p *keylessPair) drain() {
	p.t.Helper()
	if p.spec.Type == BloomFilter {
		for _, v := range p.pool {
			p.ops++
			p.same(fmt.Sprintf("peek %x", v), p.g.Peek(bytes.Clone(v)), p.k.elem(sysMapLookup, nil, bytes.Clone(v), 0))
		}
		return
	}
	for range p.spec.MaxEntries + 1 {
		p.ops++
		gv := make([]byte, p.spec.ValueSize)
		kv, kerr := p.k.lookupAndDelete(nil)
		gerr := p.g.Pop(gv)
		p.same("drain", gerr, kerr)
		if gerr != nil {
			return
		}
		if !bytes.Equal(gv, kv) {
			p.t.Fatalf("%v: drain: gobee %x, kernel %x", p.spec.Type, gv, kv)
		}
	}
}

var keylessSpecs = []struct {
	spec Spec
	ops  int
}{
	{Spec{Name: "queue", Type: Queue, ValueSize: 8, MaxEntries: 16}, 8000},
	{Spec{Name: "queue_odd", Type: Queue, ValueSize: 5, MaxEntries: 3}, 3000},
	{Spec{Name: "queue_rdonly", Type: Queue, ValueSize: 4, MaxEntries: 4, Flags: FlagRdonly}, 500},
	{Spec{Name: "stack", Type: Stack, ValueSize: 12, MaxEntries: 16}, 8000},
	{Spec{Name: "stack_odd", Type: Stack, ValueSize: 3, MaxEntries: 1}, 3000},
	{Spec{Name: "stack_wronly", Type: Stack, ValueSize: 4, MaxEntries: 4, Flags: FlagWronly}, 500},
	{Spec{Name: "bloom", Type: BloomFilter, ValueSize: 8, MaxEntries: 20, Flags: FlagZeroSeed}, 5000},
	{Spec{Name: "bloom_k1", Type: BloomFilter, ValueSize: 4, MaxEntries: 30, Flags: FlagZeroSeed, MapExtra: 1}, 2500},
	{Spec{Name: "bloom_odd", Type: BloomFilter, ValueSize: 7, MaxEntries: 50, Flags: FlagZeroSeed, MapExtra: 3}, 2500},
	{Spec{Name: "bloom_k15", Type: BloomFilter, ValueSize: 16, MaxEntries: 8, Flags: FlagZeroSeed, MapExtra: 15}, 2000},
}

func TestKernelDifferentialKeyless(t *testing.T) {
	ncpu := requireBPF(t)
	total := map[Type]int{}
	for i, d := range keylessSpecs {
		spec := d.spec
		spec.NumCPU = ncpu
		t.Run(spec.Name, func(t *testing.T) {
			p := newKeylessPair(t, spec, int64(100+i))
			for p.ops < d.ops {
				p.step()
			}
			p.same("freeze", p.g.Freeze(), p.k.freeze())
			for range 200 {
				p.step()
			}
			p.drain()
			total[spec.Type] += p.ops
		})
	}
	for _, typ := range []Type{Queue, Stack, BloomFilter} {
		fmt.Printf("maps: compared %d operations on %v against the kernel\n", total[typ], typ)
	}
}

// keylessCreateSpecs are creations of the new types, good and bad, that
// must give the kernel's errno.
var keylessCreateSpecs = []Spec{
	{Type: Queue, ValueSize: 8, MaxEntries: 1},
	{Type: Queue, KeySize: 4, ValueSize: 8, MaxEntries: 1},
	{Type: Queue, ValueSize: 0, MaxEntries: 1},
	{Type: Queue, ValueSize: 8, MaxEntries: 0},
	{Type: Queue, ValueSize: 4 << 20, MaxEntries: 1},
	{Type: Queue, ValueSize: 4<<20 + 1, MaxEntries: 1},
	{Type: Queue, ValueSize: 8, MaxEntries: 1, Flags: FlagNoPrealloc},
	{Type: Queue, ValueSize: 8, MaxEntries: 1, Flags: FlagNumaNode | FlagRdonlyProg},
	{Type: Queue, ValueSize: 8, MaxEntries: 1, Flags: FlagZeroSeed},
	{Type: Stack, ValueSize: 8, MaxEntries: 1, Flags: FlagRdonlyProg | FlagWronlyProg},
	{Type: Stack, ValueSize: 8, MaxEntries: 1, MapExtra: 1},
	{Type: Stack, ValueSize: 8, MaxEntries: 1, Flags: FlagMmapable},
	{Type: BloomFilter, ValueSize: 8, MaxEntries: 1},
	{Type: BloomFilter, ValueSize: 8, MaxEntries: 1, MapExtra: 15},
	{Type: BloomFilter, ValueSize: 8, MaxEntries: 1, MapExtra: 16},
	{Type: BloomFilter, ValueSize: 8, MaxEntries: 1, MapExtra: 1 << 40},
	{Type: BloomFilter, KeySize: 4, ValueSize: 8, MaxEntries: 1},
	{Type: BloomFilter, ValueSize: 0, MaxEntries: 1},
	{Type: BloomFilter, ValueSize: 8, MaxEntries: 0},
	{Type: BloomFilter, ValueSize: 4<<20 + 1, MaxEntries: 0},
	{Type: BloomFilter, ValueSize: 8, MaxEntries: 1, Flags: FlagNoPrealloc},
	{Type: BloomFilter, ValueSize: 8, MaxEntries: 1, Flags: FlagZeroSeed | FlagNumaNode},
	{Type: BloomFilter, ValueSize: 8, MaxEntries: 1, Flags: FlagRdonlyProg | FlagWronlyProg},
	{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, MapExtra: 5},
	{Type: LPMTrie, KeySize: 8, ValueSize: 8, MaxEntries: 1, Flags: FlagNoPrealloc},
	{Type: LPMTrie, KeySize: 8, ValueSize: 8, MaxEntries: 1},
	{Type: LPMTrie, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagNoPrealloc},
	{Type: LPMTrie, KeySize: 5, ValueSize: 8, MaxEntries: 1, Flags: FlagNoPrealloc},
	{Type: LPMTrie, KeySize: 260, ValueSize: 8, MaxEntries: 1, Flags: FlagNoPrealloc},
	{Type: LPMTrie, KeySize: 261, ValueSize: 8, MaxEntries: 1, Flags: FlagNoPrealloc},
	{Type: LPMTrie, KeySize: 8, ValueSize: 0, MaxEntries: 1, Flags: FlagNoPrealloc},
	{Type: LPMTrie, KeySize: 8, ValueSize: 4<<20 - 256 - 24, MaxEntries: 1, Flags: FlagNoPrealloc},
	{Type: LPMTrie, KeySize: 8, ValueSize: 4<<20 - 256 - 23, MaxEntries: 1, Flags: FlagNoPrealloc},
	{Type: LPMTrie, KeySize: 8, ValueSize: 8, MaxEntries: 0, Flags: FlagNoPrealloc},
	{Type: LPMTrie, KeySize: 8, ValueSize: 8, MaxEntries: 1, Flags: FlagNoPrealloc | FlagZeroSeed},
	{Type: LPMTrie, KeySize: 8, ValueSize: 8, MaxEntries: 1, Flags: FlagNoPrealloc | FlagNumaNode | FlagRdonly},
	{Type: LPMTrie, KeySize: 8, ValueSize: 8, MaxEntries: 1, Flags: FlagNoPrealloc | FlagRdonlyProg | FlagWronlyProg},
	{Type: LPMTrie, KeySize: 8, ValueSize: 8, MaxEntries: 1 << 31, Flags: FlagNoPrealloc},
}

func TestKernelCreateKeylessLPM(t *testing.T) {
	ncpu := requireBPF(t)
	for _, s := range keylessCreateSpecs {
		s.NumCPU = ncpu
		t.Run(fmt.Sprintf("%v/%d/%d/%d/%#x/%#x", s.Type, s.KeySize, s.ValueSize, s.MaxEntries, s.Flags, s.MapExtra), func(t *testing.T) {
			_, gerr := New(s)
			k, kerr := kcreate(s, ncpu)
			if kerr == nil {
				defer k.close()
			}
			if Errno(gerr) != Errno(kerr) {
				t.Fatalf("gobee %v, kernel %v", gerr, kerr)
			}
		})
	}
	fmt.Printf("maps: compared %d queue, stack, bloom filter and LPM trie creations against the kernel\n", len(keylessCreateSpecs))
}
