//go:build linux

package maps

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// Differential tests: the same random operation sequences on a gobee map
// and on a kernel map with the same spec, comparing errno values, values,
// keys and batch results.

func requireBPF(t testing.TB) int {
	t.Helper()
	k, err := kcreate(Spec{Type: Array, KeySize: 4, ValueSize: 4, MaxEntries: 1}, 1)
	if err != nil {
		t.Skipf("bpf() is not available (%v): skipping the comparison with the kernel", err)
	}
	k.close()
	n, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// pair is a gobee map and a kernel map driven in lockstep.
type pair struct {
	t     *testing.T
	spec  Spec
	g     Map
	k     *kmap
	rng   *rand.Rand
	ops   int
	exact bool // same iteration order expected (arrays, BPF_F_ZERO_SEED)
	space int  // number of distinct keys used
}

func newPair(t *testing.T, spec Spec, seed int64) *pair {
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
	p := &pair{t: t, spec: g.Spec(), g: g, k: k, rng: rand.New(rand.NewSource(seed))}
	p.exact = spec.Type == Array || spec.Type == PerCPUArray || spec.Flags&FlagZeroSeed != 0
	p.space = int(spec.MaxEntries) * 3 / 2
	if p.space < 4 {
		p.space = 4
	}
	return p
}

func errnoOf(err error) unix.Errno { return Errno(err) }

func (p *pair) fail(format string, args ...any) {
	p.t.Helper()
	p.t.Fatalf("%v op %d: %s", p.spec.Type, p.ops, fmt.Sprintf(format, args...))
}

func (p *pair) sameErr(what string, gerr, kerr error) {
	p.t.Helper()
	if errnoOf(gerr) != errnoOf(kerr) {
		p.fail("%s: gobee %v, kernel %v", what, gerr, kerr)
	}
}

// key returns key i of the key space (arrays: index i, sometimes out of
// range).
func (p *pair) key(i int) []byte {
	k := make([]byte, p.spec.KeySize)
	if p.spec.Type == Array || p.spec.Type == PerCPUArray {
		binary.NativeEndian.PutUint32(k, uint32(i))
		return k
	}
	for j := range k {
		k[j] = byte(i>>(8*(j%4))) ^ byte(j*37)
	}
	return k
}

func (p *pair) randKey() []byte {
	if (p.spec.Type == Array || p.spec.Type == PerCPUArray) && p.rng.Intn(20) == 0 {
		return p.key(int(p.spec.MaxEntries) + p.rng.Intn(1<<20))
	}
	return p.key(p.rng.Intn(p.space))
}

func (p *pair) randValue() []byte {
	v := make([]byte, p.g.UserValueSize())
	p.rng.Read(v)
	return v
}

func (p *pair) randFlags() uint64 {
	switch r := p.rng.Intn(40); {
	case r == 0:
		return 3 // unknown
	case r == 1:
		return UpdateLock
	default:
		return uint64(r % 3)
	}
}

func (p *pair) update(k, v []byte, flags uint64) {
	p.t.Helper()
	p.sameErr(fmt.Sprintf("update %x flags %d", k, flags), p.g.Update(k, v, flags), p.k.update(k, v, flags))
}

func (p *pair) lookup(k []byte) {
	p.t.Helper()
	gv, gerr := p.g.Lookup(k)
	kv, kerr := p.k.lookup(k)
	p.sameErr(fmt.Sprintf("lookup %x", k), gerr, kerr)
	if gerr == nil && !bytes.Equal(gv, kv) {
		p.fail("lookup %x: gobee %x, kernel %x", k, gv, kv)
	}
}

func (p *pair) lookupAndDelete(k []byte) {
	p.t.Helper()
	gv, gerr := p.g.LookupAndDelete(k)
	kv, kerr := p.k.lookupAndDelete(k)
	p.sameErr(fmt.Sprintf("lookup_and_delete %x", k), gerr, kerr)
	if gerr == nil && !bytes.Equal(gv, kv) {
		p.fail("lookup_and_delete %x: gobee %x, kernel %x", k, gv, kv)
	}
}

func (p *pair) nextKey(k []byte) {
	p.t.Helper()
	gn, gerr := p.g.NextKey(k)
	kn, kerr := p.k.nextKey(k)
	if !p.exact {
		// Different seeds: only "is there any key" is comparable.
		if k == nil {
			p.sameErr("next_key(nil)", gerr, kerr)
		}
		return
	}
	p.sameErr(fmt.Sprintf("next_key %x", k), gerr, kerr)
	if gerr == nil && !bytes.Equal(gn, kn) {
		p.fail("next_key %x: gobee %x, kernel %x", k, gn, kn)
	}
}

// walk returns the keys a get_next_key walk visits, with values.
func walk(next func([]byte) ([]byte, error), lookup func([]byte) ([]byte, error), limit int) (keys []string, vals map[string][]byte, err error) {
	vals = map[string][]byte{}
	var k []byte
	for range limit {
		n, err := next(k)
		if errnoOf(err) == unix.ENOENT {
			return keys, vals, nil
		}
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, string(n))
		if v, err := lookup(n); err == nil {
			vals[string(n)] = v
		}
		k = n
	}
	return nil, nil, fmt.Errorf("walk did not end after %d keys", limit)
}

// compareAll walks both maps and compares the visited keys (in order when
// exact, as sets otherwise) and their values.
func (p *pair) compareAll() {
	p.t.Helper()
	limit := int(p.spec.MaxEntries) + 2
	gk, gv, gerr := walk(p.g.NextKey, p.g.Lookup, limit)
	kk, kv, kerr := walk(p.k.nextKey, p.k.lookup, limit)
	if gerr != nil || kerr != nil {
		p.sameErr("walk", gerr, kerr)
		return
	}
	if !p.exact {
		slices.Sort(gk)
		slices.Sort(kk)
	}
	if !slices.Equal(gk, kk) {
		p.fail("walk: gobee visits %d keys %x, kernel %d keys %x", len(gk), gk, len(kk), kk)
	}
	for k, v := range gv {
		if !bytes.Equal(v, kv[k]) {
			p.fail("walk: key %x: gobee %x, kernel %x", k, v, kv[k])
		}
	}
}

// batchLookup walks the map with batch lookups (and deletes) of count
// elements and compares every batch. Without the same hash seed the
// buckets differ, so then each map is walked to its end with buffers large
// enough for any bucket and only the results are compared.
func (p *pair) batchLookup(count int, del bool) {
	p.t.Helper()
	if !p.exact {
		count = int(p.spec.MaxEntries)
	}
	cmd, name := uintptr(sysMapLookupBatch), "lookup_batch"
	gfn := p.g.BatchLookup
	if del {
		cmd, name, gfn = sysMapLookupDelBatch, "lookup_and_delete_batch", p.g.BatchLookupAndDelete
	}
	ks, vs := int(p.spec.KeySize), p.g.UserValueSize()
	var cursor []byte
	var gkeys, kkeys []string
	gvals, kvals := map[string]string{}, map[string]string{}
	kcursor := cursor
	gdone, kdone := false, false
	for range int(p.spec.MaxEntries) + 2 {
		p.ops++
		gK, gV := make([]byte, count*ks), make([]byte, count*vs)
		kK, kV := make([]byte, count*ks), make([]byte, count*vs)
		var gn, kn int
		var gnext, knext []byte
		var gerr, kerr error
		if !gdone {
			gn, gnext, gerr = gfn(cursor, gK, gV, 0)
		}
		if !kdone {
			kn, knext, kerr = p.k.batch(cmd, kcursor, 4, kK, kV, count, 0)
		}
		e := errnoOf(gerr)
		if !p.exact {
			// Compare the final errno and the collected sets only.
			if e != 0 && e != unix.ENOENT || errnoOf(kerr) != 0 && errnoOf(kerr) != unix.ENOENT {
				p.sameErr(name, gerr, kerr)
				return
			}
			gdone, kdone = gdone || gerr != nil, kdone || kerr != nil
			cursor, kcursor = gnext, knext
			if gdone && kdone {
				gerr = errLastKey
			}
		} else {
			p.sameErr(fmt.Sprintf("%s count %d cursor %x", name, count, cursor), gerr, kerr)
			if e == unix.EINVAL || e == unix.EPERM || e == ENOTSUPP {
				return
			}
		}
		if p.exact && gn != kn {
			p.fail("%s count %d cursor %x: gobee %d elements, kernel %d", name, count, cursor, gn, kn)
		}
		for i := range gn {
			gkeys = append(gkeys, string(gK[i*ks:(i+1)*ks]))
			gvals[gkeys[len(gkeys)-1]] = string(gV[i*vs : (i+1)*vs])
		}
		for i := range kn {
			kkeys = append(kkeys, string(kK[i*ks:(i+1)*ks]))
			kvals[kkeys[len(kkeys)-1]] = string(kV[i*vs : (i+1)*vs])
		}
		if p.exact {
			if !bytes.Equal(gK[:gn*ks], kK[:kn*ks]) || !bytes.Equal(gV[:gn*vs], kV[:kn*vs]) {
				p.fail("%s cursor %x: gobee %x/%x, kernel %x/%x", name, cursor, gK[:gn*ks], gV[:gn*vs], kK[:kn*ks], kV[:kn*vs])
			}
			if gnext != nil && !bytes.Equal(gnext, knext) {
				p.fail("%s cursor %x: next cursor gobee %x, kernel %x", name, cursor, gnext, knext)
			}
		}
		if p.exact && gerr != nil || !p.exact && gdone && kdone {
			break
		}
		if p.exact {
			cursor, kcursor = gnext, knext
		}
	}
	if !p.exact {
		slices.Sort(gkeys)
		slices.Sort(kkeys)
	}
	if !slices.Equal(gkeys, kkeys) {
		p.fail("%s count %d: gobee keys %x, kernel %x", name, count, gkeys, kkeys)
	}
	for k, v := range gvals {
		if kvals[k] != v {
			p.fail("%s: key %x: gobee %x, kernel %x", name, k, v, kvals[k])
		}
	}
}

func (p *pair) batchUpdate(n int) {
	p.t.Helper()
	ks, vs := int(p.spec.KeySize), p.g.UserValueSize()
	keys, vals := make([]byte, 0, n*ks), make([]byte, 0, n*vs)
	for range n {
		keys = append(keys, p.randKey()...)
		vals = append(vals, p.randValue()...)
	}
	flags := uint64(0)
	if p.rng.Intn(20) == 0 {
		flags = uint64(p.rng.Intn(3)) + 1
	}
	gn, gerr := p.g.BatchUpdate(keys, vals, flags)
	kn, _, kerr := p.k.batch(sysMapUpdateBatch, nil, 4, keys, vals, n, flags)
	p.sameErr(fmt.Sprintf("update_batch %d flags %d", n, flags), gerr, kerr)
	if e := errnoOf(gerr); e != unix.EINVAL && e != unix.EPERM && gn != kn {
		p.fail("update_batch: gobee %d, kernel %d", gn, kn)
	}
}

func (p *pair) batchDelete(n int) {
	p.t.Helper()
	keys := make([]byte, 0, n*int(p.spec.KeySize))
	for range n {
		keys = append(keys, p.randKey()...)
	}
	gn, gerr := p.g.BatchDelete(keys, 0)
	kn, _, kerr := p.k.batch(sysMapDeleteBatch, nil, 4, keys, nil, n, 0)
	p.sameErr(fmt.Sprintf("delete_batch %d", n), gerr, kerr)
	if e := errnoOf(gerr); e != unix.EINVAL && e != unix.EPERM && e != ENOTSUPP && gn != kn {
		p.fail("delete_batch: gobee %d, kernel %d", gn, kn)
	}
}

// step runs one random operation on both maps.
func (p *pair) step() {
	p.t.Helper()
	p.ops++
	switch r := p.rng.Intn(100); {
	case r < 30:
		p.update(p.randKey(), p.randValue(), p.randFlags())
	case r < 48:
		p.lookup(p.randKey())
	case r < 58:
		k := p.randKey()
		p.sameErr(fmt.Sprintf("delete %x", k), p.g.Delete(k), p.k.delete(k))
	case r < 63:
		p.lookupAndDelete(p.randKey())
	case r < 73:
		if p.rng.Intn(4) == 0 {
			p.nextKey(nil)
		} else {
			p.nextKey(p.randKey())
		}
	case r < 76:
		p.compareAll()
	case r < 82:
		p.batchLookup(1+p.rng.Intn(int(p.spec.MaxEntries)+2), false)
	case r < 85:
		p.batchLookup(1+p.rng.Intn(4), true)
	case r < 93:
		p.batchUpdate(p.rng.Intn(7))
	default:
		p.batchDelete(p.rng.Intn(5))
	}
}

// frozenSteps freezes both maps and checks that user writes now fail the
// same way, while reads go on.
func (p *pair) frozenSteps(n int) {
	p.t.Helper()
	p.sameErr("freeze", p.g.Freeze(), p.k.freeze())
	p.sameErr("freeze again", p.g.Freeze(), p.k.freeze())
	for range n {
		p.step()
	}
}

var diffSpecs = []struct {
	spec Spec
	ops  int
}{
	{Spec{Name: "hash", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 32, Flags: FlagZeroSeed}, 12000},
	{Spec{Name: "hash_odd", Type: Hash, KeySize: 6, ValueSize: 5, MaxEntries: 17, Flags: FlagZeroSeed}, 6000},
	{Spec{Name: "hash_big", Type: Hash, KeySize: 20, ValueSize: 12, MaxEntries: 64, Flags: FlagZeroSeed | FlagNoPrealloc}, 6000},
	{Spec{Name: "hash_random", Type: Hash, KeySize: 8, ValueSize: 8, MaxEntries: 24}, 6000},
	{Spec{Name: "percpu_hash", Type: PerCPUHash, KeySize: 4, ValueSize: 12, MaxEntries: 32, Flags: FlagZeroSeed}, 12000},
	{Spec{Name: "percpu_hash_r", Type: PerCPUHash, KeySize: 5, ValueSize: 8, MaxEntries: 9}, 4000},
	{Spec{Name: "array", Type: Array, KeySize: 4, ValueSize: 12, MaxEntries: 20}, 12000},
	{Spec{Name: "array_odd", Type: Array, KeySize: 4, ValueSize: 3, MaxEntries: 7}, 4000},
	{Spec{Name: "percpu_array", Type: PerCPUArray, KeySize: 4, ValueSize: 12, MaxEntries: 20}, 12000},
	{Spec{Name: "wronly", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 8, Flags: FlagWronly | FlagZeroSeed}, 1000},
	{Spec{Name: "rdonly", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 8, Flags: FlagRdonly}, 1000},
}

func TestKernelDifferential(t *testing.T) {
	ncpu := requireBPF(t)
	total := map[Type]int{}
	for i, d := range diffSpecs {
		spec := d.spec
		spec.NumCPU = ncpu
		t.Run(spec.Name, func(t *testing.T) {
			p := newPair(t, spec, int64(i+1))
			for p.ops < d.ops {
				p.step()
			}
			p.compareAll()
			p.frozenSteps(300)
			total[spec.Type] += p.ops
		})
	}
	for _, typ := range []Type{Hash, PerCPUHash, Array, PerCPUArray} {
		fmt.Printf("maps: compared %d operations on %v against the kernel\n", total[typ], typ)
	}
}
