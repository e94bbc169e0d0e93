//go:build linux

package maps_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/gobee-dev/gobee/internal/testutil"
	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/loader"
	"github.com/gobee-dev/gobee/maps"
)

// The bpf_spin_lock / BPF_F_LOCK / bpf_timer differential test:
// testdata/maps/lock.c on the kernel (cilium/ebpf, BPF_PROG_TEST_RUN) and
// on gobee (maps built with the fields loader.ValueFields finds in the
// value BTF, programs under the interpreter). User-space updates and
// lookups with and without BPF_F_LOCK, batch updates, lookups, lookups
// and deletes and deletes with and without BPF_F_LOCK, program runs that update values
// under the lock, and timers armed by a program and then deleted,
// replaced or updated: errnos, values, program results and callback
// counts must match.

const lockObj = "../testdata/maps/lock.o"

type lockEnv struct {
	t     *testing.T
	kc    *ebpf.Collection
	gm    map[string]maps.Map
	progs map[string]*interp.Program
	ops   int
}

func kerrno(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	if err != nil {
		return unix.Errno(1 << 20)
	}
	return 0
}

func gspec(ms *ebpf.MapSpec) maps.Spec {
	return maps.Spec{Name: ms.Name, Type: maps.Type(ms.Type), KeySize: ms.KeySize, ValueSize: ms.ValueSize,
		MaxEntries: ms.MaxEntries, Flags: ms.Flags, Fields: loader.ValueFields(ms.Value)}
}

func newLockEnv(t *testing.T) *lockEnv {
	t.Helper()
	spec, err := ebpf.LoadCollectionSpec(lockObj)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := ebpf.NewCollection(spec)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, ebpf.ErrNotSupported) {
			t.Skipf("kernel: %v", err)
		}
		t.Fatal(err)
	}
	e := &lockEnv{t: t, kc: kc, gm: map[string]maps.Map{}, progs: map[string]*interp.Program{}}
	t.Cleanup(func() {
		kc.Close()
		for _, m := range e.gm {
			maps.Release(m)
		}
	})
	for name, ms := range spec.Maps {
		m, err := maps.New(gspec(ms))
		if err != nil {
			t.Fatalf("map %s: %v", name, err)
		}
		e.gm[name] = m
	}
	h := maps.Helpers()
	for id, f := range maps.CallbackHelpers() {
		h[id] = f
	}
	for id, f := range h {
		h[id] = maps.LockChecked(id, f)
	}
	for name, ps := range spec.Programs {
		insns := append(asm.Instructions(nil), ps.Instructions...)
		dec := testutil.Decode(t, insns)
		for i, ins := range insns {
			if !ins.IsLoadFromMap() {
				continue
			}
			m := e.gm[ins.Reference()]
			if m == nil {
				t.Fatalf("%s: insn %d refers to map %q", name, i, ins.Reference())
			}
			dec[i].Src, dec[i].Imm = 0, int64(maps.Handle(m))
		}
		p, err := interp.Load(dec, &interp.Options{Helpers: h})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		e.progs[name] = p
	}
	return e
}

// run runs program name on both sides and compares the results.
func (e *lockEnv) run(name string) uint64 {
	e.t.Helper()
	kr, err := e.kc.Programs[name].Run(&ebpf.RunOptions{Data: make([]byte, 64)})
	if err != nil {
		e.t.Fatalf("kernel %s: %v", name, err)
	}
	gr, err := e.progs[name].Run(&interp.Input{})
	if err != nil {
		e.t.Fatalf("gobee %s: %v", name, err)
	}
	if uint32(gr) != kr {
		e.t.Fatalf("%s returned %d on gobee, %d on the kernel", name, gr, kr)
	}
	e.ops++
	return gr
}

func (e *lockEnv) update(name string, key, value []byte, flags uint64) {
	e.t.Helper()
	kerr := e.kc.Maps[name].Update(key, value, ebpf.MapUpdateFlags(flags))
	gerr := e.gm[name].Update(key, value, flags)
	if kerrno(kerr) != maps.Errno(gerr) {
		e.t.Fatalf("%s update key %x flags %#x: gobee %v, kernel %v", name, key, flags, gerr, kerr)
	}
	e.ops++
}

func (e *lockEnv) lookup(name string, key []byte, flags uint64) {
	e.t.Helper()
	var kv []byte
	kerr := e.kc.Maps[name].LookupWithFlags(key, &kv, ebpf.MapLookupFlags(flags))
	gv, gerr := e.gm[name].LookupFlags(key, flags)
	if kerrno(kerr) != maps.Errno(gerr) {
		e.t.Fatalf("%s lookup key %x flags %#x: gobee %v, kernel %v", name, key, flags, gerr, kerr)
	}
	if kerr == nil && !bytes.Equal(kv, gv) {
		e.t.Fatalf("%s lookup key %x flags %#x: gobee %x, kernel %x", name, key, flags, gv, kv)
	}
	e.ops++
}

func (e *lockEnv) delete(name string, key []byte) {
	e.t.Helper()
	kerr := e.kc.Maps[name].Delete(key)
	gerr := e.gm[name].Delete(key)
	if kerrno(kerr) != maps.Errno(gerr) {
		e.t.Fatalf("%s delete key %x: gobee %v, kernel %v", name, key, gerr, kerr)
	}
	e.ops++
}

// earlyErr: an error before the batch starts leaves the kernel's count
// as it was passed in.
func earlyErr(err error) bool {
	e := maps.Errno(err)
	return e == unix.EINVAL || e == unix.EPERM || e == 524 // ENOTSUPP
}

// kvalues is values as cilium/ebpf's batch operations want them, as many
// as the keys: a slice of fixed-size arrays over the same memory.
func (e *lockEnv) kvalues(name string, values []byte) any {
	switch vs := int(e.gm[name].Spec().ValueSize); vs {
	case 8:
		return unsafe.Slice((*[8]byte)(unsafe.Pointer(&values[0])), len(values)/vs)
	case 24:
		return unsafe.Slice((*[24]byte)(unsafe.Pointer(&values[0])), len(values)/vs)
	default:
		e.t.Fatalf("%s: value size %d", name, vs)
	}
	return nil
}

// batchUpdate is BPF_MAP_UPDATE_BATCH of keys and values (one value of
// the map's value size per key) with elem_flags flags on both sides.
func (e *lockEnv) batchUpdate(name string, keys []uint32, values []byte, flags uint64) {
	e.t.Helper()
	kb := make([]byte, 0, 4*len(keys))
	for _, k := range keys {
		kb = binary.NativeEndian.AppendUint32(kb, k)
	}
	kn, kerr := e.kc.Maps[name].BatchUpdate(keys, e.kvalues(name, values), &ebpf.BatchOptions{ElemFlags: flags})
	gn, gerr := e.gm[name].BatchUpdate(kb, values, flags)
	if kerrno(kerr) != maps.Errno(gerr) || !earlyErr(gerr) && kn != gn {
		e.t.Fatalf("%s update_batch keys %v flags %#x: gobee %d, %v; kernel %d, %v", name, keys, flags, gn, gerr, kn, kerr)
	}
	e.ops++
}

// batchLookup walks the map with BPF_MAP_LOOKUP_BATCH (or
// LOOKUP_AND_DELETE_BATCH) of count elements and elem_flags flags on both
// sides, comparing every batch's errno and, for arrays (same order on
// both sides), its elements; hash maps are compared as sets at the end.
func (e *lockEnv) batchLookup(name string, count int, flags uint64, del bool) {
	e.t.Helper()
	km, gm := e.kc.Maps[name], e.gm[name]
	vs := gm.UserValueSize()
	exact := gm.Spec().Type == maps.Array
	var kc ebpf.MapBatchCursor
	var gc []byte
	kset, gset := map[uint32]string{}, map[uint32]string{}
	for range 8 {
		kk, kv := make([]uint32, count), make([]byte, count*vs)
		gk, gv := make([]byte, 4*count), make([]byte, count*vs)
		var kn, gn int
		var kerr, gerr error
		var gnext []byte
		if del {
			kn, kerr = km.BatchLookupAndDelete(&kc, kk, e.kvalues(name, kv), &ebpf.BatchOptions{ElemFlags: flags})
			gn, gnext, gerr = gm.BatchLookupAndDelete(gc, gk, gv, flags)
		} else {
			kn, kerr = km.BatchLookup(&kc, kk, e.kvalues(name, kv), &ebpf.BatchOptions{ElemFlags: flags})
			gn, gnext, gerr = gm.BatchLookup(gc, gk, gv, flags)
		}
		e.ops++
		if earlyErr(gerr) {
			kn = 0
		}
		if kerrno(kerr) != maps.Errno(gerr) || (exact || gerr == nil) && kn != gn {
			e.t.Fatalf("%s batch lookup (delete %v) count %d flags %#x: gobee %d, %v; kernel %d, %v", name, del, count, flags, gn, gerr, kn, kerr)
		}
		for i := range kn {
			kset[kk[i]] = string(kv[i*vs : (i+1)*vs])
		}
		for i := range gn {
			gset[binary.NativeEndian.Uint32(gk[4*i:])] = string(gv[i*vs : (i+1)*vs])
		}
		if exact && !bytes.Equal(kv[:kn*vs], gv[:gn*vs]) {
			e.t.Fatalf("%s batch lookup count %d flags %#x: gobee %x, kernel %x", name, count, flags, gv[:gn*vs], kv[:kn*vs])
		}
		if gerr != nil {
			break
		}
		gc = gnext
	}
	if len(kset) != len(gset) {
		e.t.Fatalf("%s batch lookup (delete %v) flags %#x: gobee %d elements, kernel %d", name, del, flags, len(gset), len(kset))
	}
	for k, v := range kset {
		if gset[k] != v {
			e.t.Fatalf("%s batch lookup (delete %v) flags %#x key %d: gobee %x, kernel %x", name, del, flags, k, gset[k], v)
		}
	}
}

// batchDelete is BPF_MAP_DELETE_BATCH with elem_flags flags on both sides.
func (e *lockEnv) batchDelete(name string, keys []uint32, flags uint64) {
	e.t.Helper()
	kb := make([]byte, 0, 4*len(keys))
	for _, k := range keys {
		kb = binary.NativeEndian.AppendUint32(kb, k)
	}
	kn, kerr := e.kc.Maps[name].BatchDelete(keys, &ebpf.BatchOptions{ElemFlags: flags})
	gn, gerr := e.gm[name].BatchDelete(kb, flags)
	if kerrno(kerr) != maps.Errno(gerr) || !earlyErr(gerr) && kn != gn {
		e.t.Fatalf("%s delete_batch keys %v flags %#x: gobee %d, %v; kernel %d, %v", name, keys, flags, gn, gerr, kn, kerr)
	}
	e.ops++
}

func u32b(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// val is struct val {u64 a; bpf_spin_lock; u32 b; u64 c}.
func val(a uint64, lock, b uint32, c uint64) []byte {
	v := binary.NativeEndian.AppendUint64(nil, a)
	v = binary.NativeEndian.AppendUint32(v, lock)
	v = binary.NativeEndian.AppendUint32(v, b)
	return binary.NativeEndian.AppendUint64(v, c)
}

var lockOps atomic.Int64

func testLockKernel(t *testing.T) {
	e := newLockEnv(t)
	rng := rand.New(rand.NewPCG(3, 5))
	names := []string{"lock_hash", "lock_array", "plain_hash"}
	updFlags := []uint64{0, 1, 2, 4, 5, 6, 7, 8, 12}
	lkFlags := []uint64{0, 4, 8, 12}
	for i := 0; i < 3000; i++ {
		name := names[rng.IntN(len(names))]
		key := u32b(uint32(rng.IntN(6)))
		switch op := rng.IntN(11); {
		case op < 4:
			v := make([]byte, e.gm[name].Spec().ValueSize)
			for j := range v {
				v[j] = byte(rng.Uint32())
			}
			e.update(name, key, v, updFlags[rng.IntN(len(updFlags))])
		case op < 7:
			e.lookup(name, key, lkFlags[rng.IntN(len(lkFlags))])
		case op < 8:
			e.delete(name, key)
		case op < 9:
			e.run("lock_incr")
		default:
			// Batch operations, with and without BPF_F_LOCK (and unknown
			// element flags).
			flags := []uint64{0, 0, 4, 4, 1, 8}[rng.IntN(6)]
			switch rng.IntN(4) {
			case 0:
				n := 1 + rng.IntN(4)
				keys := make([]uint32, n)
				v := make([]byte, n*int(e.gm[name].Spec().ValueSize))
				for j := range keys {
					keys[j] = uint32(rng.IntN(6))
				}
				for j := range v {
					v[j] = byte(rng.Uint32())
				}
				e.batchUpdate(name, keys, v, flags)
			case 1:
				count := 4
				if e.gm[name].Spec().Type == maps.Array {
					count = 1 + rng.IntN(4)
				}
				e.batchLookup(name, count, flags, false)
			case 2:
				e.batchLookup(name, 4, flags, rng.IntN(3) == 0)
			default:
				e.batchDelete(name, []uint32{uint32(rng.IntN(6))}, flags)
			}
		}
	}
	for _, name := range names {
		e.batchLookup(name, 4, 0, false)
		e.batchLookup(name, 4, 4, false)
		for k := uint32(0); k < 8; k++ {
			e.lookup(name, u32b(k), 0)
			e.lookup(name, u32b(k), 4)
		}
	}
	// Empty the hash maps (the concurrency check below needs room for its
	// keys), with and without BPF_F_LOCK.
	e.batchLookup("lock_hash", 4, 4, true)
	e.batchLookup("plain_hash", 4, 0, true)
	e.batchLookup("lock_hash", 4, 0, false)
	lockOps.Add(int64(e.ops))

	// Concurrency: programs bump values under the lock while user space
	// writes and reads them with BPF_F_LOCK; a value read under the lock
	// is always consistent (b == 2a, c == 3a).
	for _, name := range []string{"lock_hash", "lock_array"} {
		for k := uint32(0); k < 4; k++ {
			e.update(name, u32b(k), val(uint64(k), 0, 2*k, 3*uint64(k)), 0)
		}
	}
	type side struct {
		name   string
		run    func() error
		update func(m string, k, v []byte) error
		lookup func(m string, k []byte) ([]byte, error)
	}
	sides := []side{
		{"gobee",
			func() error { _, err := e.progs["lock_incr"].Run(&interp.Input{}); return err },
			func(m string, k, v []byte) error { return e.gm[m].Update(k, v, maps.UpdateLock) },
			func(m string, k []byte) ([]byte, error) { return e.gm[m].LookupFlags(k, maps.UpdateLock) }},
		{"kernel",
			func() error {
				_, err := e.kc.Programs["lock_incr"].Run(&ebpf.RunOptions{Data: make([]byte, 64)})
				return err
			},
			func(m string, k, v []byte) error { return e.kc.Maps[m].Update(k, v, ebpf.UpdateLock) },
			func(m string, k []byte) ([]byte, error) {
				var v []byte
				err := e.kc.Maps[m].LookupWithFlags(k, &v, ebpf.LookupLock)
				return v, err
			}},
	}
	for _, s := range sides {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		var n atomic.Int64
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 300; i++ {
					if err := s.run(); err != nil {
						errs <- err
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 600; i++ {
				m := []string{"lock_hash", "lock_array"}[i%2]
				a := uint64(i % 1000)
				if err := s.update(m, u32b(uint32(i%4)), val(a, 0xffffffff, uint32(2*a), 3*a)); err != nil {
					errs <- err
					return
				}
				n.Add(1)
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 600; i++ {
				m := []string{"lock_hash", "lock_array"}[i%2]
				v, err := s.lookup(m, u32b(uint32(i%4)))
				if err != nil {
					errs <- err
					return
				}
				a := binary.NativeEndian.Uint64(v)
				lk := binary.NativeEndian.Uint32(v[8:])
				b := binary.NativeEndian.Uint32(v[12:])
				c := binary.NativeEndian.Uint64(v[16:])
				if lk != 0 || b != uint32(2*a) || c != a+uint64(b) {
					errs <- fmt.Errorf("%s key %d: inconsistent value read under the lock: a %d lock %d b %d c %d", m, i%4, a, lk, b, c)
					return
				}
				n.Add(1)
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("%s: %v", s.name, err)
		}
		lockOps.Add(n.Load())
	}
}

// setCtl tells timer_arm which element to arm.
func (e *lockEnv) arm(which, key uint32, d time.Duration) uint64 {
	c := binary.NativeEndian.AppendUint32(nil, which)
	c = binary.NativeEndian.AppendUint32(c, key)
	c = binary.NativeEndian.AppendUint64(c, uint64(d))
	e.update("ctl", u32b(0), c, 0)
	return e.run("timer_arm")
}

func testTimerKernel(t *testing.T) {
	e := newLockEnv(t)
	zero := make([]byte, 32)
	for k := uint32(0); k < 4; k++ {
		e.update("timer_hash", u32b(k), zero, 0)
	}
	const delay = 100 * time.Millisecond
	for k := uint32(0); k < 4; k++ {
		if r := e.arm(0, k, delay); r != 2 {
			t.Fatalf("arm hash %d: %d", k, r)
		}
	}
	for k := uint32(0); k < 3; k++ {
		if r := e.arm(1, k, delay); r != 2 {
			t.Fatalf("arm array %d: %d", k, r)
		}
	}
	// A second bpf_timer_init of an armed timer is -EBUSY on both.
	if r := e.arm(0, 3, delay); r != 20+uint64(unix.EBUSY) {
		t.Fatalf("init twice: %d", r)
	}
	// Missing element.
	e.arm(0, 7, delay)
	junk := bytes.Repeat([]byte{0xa5}, 32)
	e.delete("timer_hash", u32b(0))           // cancelled
	e.update("timer_hash", u32b(1), junk, 0)  // replaced: cancelled
	e.update("timer_hash", u32b(2), junk, 4)  // BPF_F_LOCK in place: keeps the timer
	e.update("timer_array", u32b(0), junk, 0) // array update frees the fields
	e.update("timer_array", u32b(1), junk, 4) // with BPF_F_LOCK too
	e.lookup("timer_hash", u32b(2), 0)        // the timer reads as zero
	e.lookup("timer_array", u32b(2), 4)
	time.Sleep(4 * delay)
	// gobee: wait for the callbacks that must run to have run; reading
	// their stats orders their writes to fired before the lookups below.
	for _, el := range []struct {
		m string
		k uint32
	}{{"timer_hash", 2}, {"timer_hash", 3}, {"timer_array", 2}} {
		live := e.gm[el.m].LookupElem(u32b(el.k), 0)
		for deadline := time.Now().Add(5 * time.Second); ; {
			runs, err, ok := maps.TimerStats(live[:16])
			if !ok {
				t.Fatalf("%s %d: no timer", el.m, el.k)
			}
			if err != nil {
				t.Fatalf("%s %d: callback: %v", el.m, el.k, err)
			}
			if runs == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s %d: the timer did not fire", el.m, el.k)
			}
			time.Sleep(time.Millisecond)
		}
	}
	for k := uint32(0); k < 16; k++ {
		e.lookup("fired", u32b(k), 0)
	}
	// What fired: hash keys 2 and 3, array index 2.
	want := map[uint32]uint64{2: 1, 3: 1, 10: 1}
	for k := uint32(0); k < 16; k++ {
		v, err := e.gm["fired"].Lookup(u32b(k))
		if err != nil {
			t.Fatal(err)
		}
		if got := binary.NativeEndian.Uint64(v); got != want[k] {
			t.Errorf("fired[%d] = %d, want %d", k, got, want[k])
		}
	}
	// The re-armed element after replacement can be initialised again.
	if r := e.arm(0, 1, time.Hour); r != 2 {
		t.Fatalf("arm the replaced element: %d", r)
	}
	e.delete("timer_hash", u32b(1))
	lockOps.Add(int64(e.ops))
}

// testLockCreateKernel compares map creation with special fields in the
// value BTF: the types that allow them, duplicates, access flags.
func testLockCreateKernel(t *testing.T) {
	u32 := &btf.Int{Name: "u32", Size: 4}
	u64 := &btf.Int{Name: "u64", Size: 8}
	lock := &btf.Struct{Name: "bpf_spin_lock", Size: 4, Members: []btf.Member{{Name: "val", Type: u32}}}
	timer := &btf.Struct{Name: "bpf_timer", Size: 16, Members: []btf.Member{{Name: "a", Type: u64}, {Name: "b", Type: u64, Offset: 64}}}
	values := map[string]*btf.Struct{
		"lock":     {Name: "v1", Size: 16, Members: []btf.Member{{Name: "x", Type: u64}, {Name: "l", Type: lock, Offset: 64}, {Name: "y", Type: u32, Offset: 96}}},
		"timer":    {Name: "v2", Size: 24, Members: []btf.Member{{Name: "t", Type: timer}, {Name: "x", Type: u64, Offset: 128}}},
		"both":     {Name: "v3", Size: 24, Members: []btf.Member{{Name: "t", Type: timer}, {Name: "l", Type: lock, Offset: 128}}},
		"twolocks": {Name: "v4", Size: 8, Members: []btf.Member{{Name: "l1", Type: lock}, {Name: "l2", Type: lock, Offset: 32}}},
		"nested":   {Name: "v5", Size: 16, Members: []btf.Member{{Name: "x", Type: u64}, {Name: "in", Type: &btf.Struct{Name: "inner", Size: 8, Members: []btf.Member{{Name: "y", Type: u32}, {Name: "l", Type: lock, Offset: 32}}}, Offset: 64}}},
	}
	types := []ebpf.MapType{ebpf.Hash, ebpf.Array, ebpf.PerCPUHash, ebpf.PerCPUArray, ebpf.LRUHash, ebpf.LRUCPUHash}
	n := 0
	for vname, v := range values {
		for _, typ := range types {
			for _, flags := range []uint32{0, maps.FlagRdonlyProg} {
				ks := &ebpf.MapSpec{Type: typ, KeySize: 4, ValueSize: v.Size, MaxEntries: 4, Flags: flags, Key: u32, Value: v}
				km, kerr := ebpf.NewMap(ks)
				if kerr == nil {
					km.Close()
				}
				gm, gerr := maps.New(gspec(ks))
				if gerr == nil {
					maps.Release(gm)
				}
				if kerrno(kerr) != maps.Errno(gerr) {
					t.Errorf("%s in %v flags %#x: gobee %v, kernel %v", vname, typ, flags, gerr, kerr)
				}
				n++
			}
		}
	}
	lockOps.Add(int64(n))
}

// TestLockTimerKernel runs the lock, timer and creation comparisons and
// prints the count.
func TestLockTimerKernel(t *testing.T) {
	lockOps.Store(0)
	t.Run("lock", testLockKernel)
	t.Run("timer", testTimerKernel)
	t.Run("create", testLockCreateKernel)
	fmt.Printf("maps: compared %d lock/timer operations against the kernel\n", lockOps.Load())
}

// TestLockFieldsFromObject: the loader finds the special fields in the
// value BTF of testdata/maps/lock.c's maps.
func TestLockFieldsFromObject(t *testing.T) {
	cs, err := loader.Load(lockObj)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][2]int{
		"lock_hash": {8, -1}, "lock_array": {8, -1}, "plain_hash": {-1, -1},
		"timer_hash": {16, 0}, "timer_array": {16, 0}, "fired": {-1, -1},
	} {
		ms := cs.Maps[name]
		if ms == nil {
			t.Fatalf("no map %s", name)
		}
		s := ms.Spec()
		if got := [2]int{s.SpinLockOff(), s.TimerOff()}; got != want {
			t.Errorf("%s: lock, timer at %v, want %v", name, got, want)
		}
	}
}
