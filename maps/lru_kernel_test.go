//go:build linux

package maps

import (
	"bytes"
	"fmt"
	"math/rand"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// LRU maps evict non-deterministically in the kernel (its victim choice
// depends on per-CPU free lists and evicts in batches), so gobee's and the
// kernel's contents drift apart. Each side is therefore checked against the
// invariants both must keep, with the same operation sequence:
//
//   - the map never holds more than max_entries elements (a per-CPU LRU
//     filled from one CPU: never more than that CPU's share);
//   - an update with BPF_ANY never fails; a successful update leaves the
//     key present with the value written;
//   - a present key's value is the last value written to it; EEXIST and a
//     successful BPF_EXIST update or delete only for keys written before;
//   - invalid input fails with the same errno on both.

// lruSide is one map and what it must contain at most.
type lruSide struct {
	name   string
	lookup func([]byte) ([]byte, error)
	update func(k, v []byte, flags uint64) error
	delete func([]byte) error
	lad    func([]byte) ([]byte, error)
	next   func([]byte) ([]byte, error)
	blook  func(keys, values []byte) (int, error) // full batch lookup walk
	bupd   func(keys, values []byte) (int, error)
	model  map[string][]byte // last value written, for keys that may be present
}

type lruRun struct {
	t     *testing.T
	spec  Spec
	rng   *rand.Rand
	ops   int
	limit int // most elements the map may hold
	sides [2]*lruSide
}

func (r *lruRun) fail(s *lruSide, format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("%v flags %#x op %d (%s): %s", r.spec.Type, r.spec.Flags, r.ops, s.name, fmt.Sprintf(format, args...))
}

// present checks a lookup result against the model and forgets evicted keys.
func (r *lruRun) present(s *lruSide, k []byte) {
	r.t.Helper()
	v, err := s.lookup(k)
	switch {
	case err == nil:
		want, ok := s.model[string(k)]
		if !ok || !bytes.Equal(v, want) {
			r.fail(s, "lookup %x = %x, last written %x (known %v)", k, v, want, ok)
		}
	case errnoOf(err) == unix.ENOENT:
		delete(s.model, string(k))
	default:
		r.fail(s, "lookup %x: %v", k, err)
	}
}

func (r *lruRun) walk(s *lruSide) {
	r.t.Helper()
	keys, vals, err := walk(s.next, s.lookup, int(r.spec.MaxEntries)+2)
	if err != nil {
		r.fail(s, "walk: %v", err)
	}
	if len(keys) > r.limit {
		r.fail(s, "%d elements, more than %d", len(keys), r.limit)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		seen[k] = true
		if want, ok := s.model[k]; !ok || !bytes.Equal(vals[k], want) {
			r.fail(s, "walk: %x = %x, last written %x", k, vals[k], want)
		}
	}
	for k := range s.model {
		if !seen[k] {
			delete(s.model, k) // evicted
		}
	}
}

func (r *lruRun) step(key func() []byte, value func() []byte, vs int) {
	r.t.Helper()
	r.ops++
	k := key()
	switch x := r.rng.Intn(100); {
	case x < 45:
		v := value()
		flags := uint64(r.rng.Intn(3))
		if r.rng.Intn(40) == 0 {
			flags = 3 + uint64(r.rng.Intn(2))
		}
		var errs [2]error
		for i, s := range r.sides {
			_, known := s.model[string(k)]
			err := s.update(k, v, flags)
			errs[i] = err
			switch e := errnoOf(err); {
			case flags > UpdateExist:
				continue
			case e == 0:
				if flags == UpdateExist && !known {
					r.fail(s, "BPF_EXIST update of %x that was never written succeeded", k)
				}
				s.model[string(k)] = v
				r.present(s, k)
			case e == unix.EEXIST && flags == UpdateNoExist && known:
			case e == unix.ENOENT && flags == UpdateExist:
			default:
				r.fail(s, "update %x flags %d: %v", k, flags, err)
			}
		}
		if flags > UpdateExist && errnoOf(errs[0]) != errnoOf(errs[1]) {
			r.t.Fatalf("update flags %d: gobee %v, kernel %v", flags, errs[0], errs[1])
		}
	case x < 65:
		for _, s := range r.sides {
			r.present(s, k)
		}
	case x < 78:
		for _, s := range r.sides {
			_, known := s.model[string(k)]
			err := s.delete(k)
			if err == nil && !known || err != nil && errnoOf(err) != unix.ENOENT {
				r.fail(s, "delete %x: %v (known %v)", k, err, known)
			}
			delete(s.model, string(k))
		}
	case x < 88:
		for _, s := range r.sides {
			want, known := s.model[string(k)]
			v, err := s.lad(k)
			if err == nil && (!known || !bytes.Equal(v, want)) || err != nil && errnoOf(err) != unix.ENOENT {
				r.fail(s, "lookup_and_delete %x = %x, %v (last written %x)", k, v, err, want)
			}
			delete(s.model, string(k))
		}
	case x < 90:
		// Batch update of fresh values: never fails (it evicts), and
		// the last key is present afterwards.
		n := 1 + r.rng.Intn(4)
		var keys, vals []byte
		for range n {
			keys = append(keys, key()...)
			vals = append(vals, value()...)
		}
		ks := len(keys) / n
		for _, s := range r.sides {
			if got, err := s.bupd(keys, vals); err != nil || got != n {
				r.fail(s, "update_batch of %d: %d, %v", n, got, err)
			}
			for i := range n {
				s.model[string(keys[i*ks:(i+1)*ks])] = vals[i*vs : (i+1)*vs]
			}
			r.present(s, keys[(n-1)*ks:])
		}
	case x < 92:
		// A full batch lookup sees only keys with their last values.
		n := int(r.spec.MaxEntries)
		ks := len(k)
		for _, s := range r.sides {
			keys, vals := make([]byte, n*ks), make([]byte, n*vs)
			got, err := s.blook(keys, vals)
			if errnoOf(err) != unix.ENOENT || got > r.limit {
				r.fail(s, "lookup_batch: %d, %v", got, err)
			}
			for i := range got {
				kk := string(keys[i*ks : (i+1)*ks])
				if want, ok := s.model[kk]; !ok || !bytes.Equal(vals[i*vs:(i+1)*vs], want) {
					r.fail(s, "lookup_batch: %x = %x, last written %x", kk, vals[i*vs:(i+1)*vs], want)
				}
			}
		}
	case x < 93:
		// Wrong sizes and flags are rejected alike.
		for _, s := range r.sides {
			if err := s.update(k, make([]byte, vs), 1<<3); errnoOf(err) != unix.EINVAL {
				r.fail(s, "update with flags 8: %v", err)
			}
		}
	default:
		for _, s := range r.sides {
			r.walk(s)
		}
	}
}

func TestKernelLRU(t *testing.T) {
	ncpu := requireBPF(t)
	specs := []Spec{
		{Name: "lru", Type: LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 64},
		{Name: "lru_small", Type: LRUHash, KeySize: 6, ValueSize: 5, MaxEntries: 8},
		{Name: "lru_percpu", Type: LRUPerCPUHash, KeySize: 4, ValueSize: 12, MaxEntries: 32},
		{Name: "lru_nocommon", Type: LRUHash, KeySize: 8, ValueSize: 8, MaxEntries: 33, Flags: FlagNoCommonLRU},
		{Name: "lru_pc_nocommon", Type: LRUPerCPUHash, KeySize: 4, ValueSize: 4, MaxEntries: 16, Flags: FlagNoCommonLRU},
	}
	total := map[Type]int{}
	for i, spec := range specs {
		spec.NumCPU = ncpu
		t.Run(spec.Name, func(t *testing.T) {
			pinned := pinCPU0(t)
			g, err := New(spec)
			if err != nil {
				t.Fatal(err)
			}
			k, err := kcreate(spec, ncpu)
			if err != nil {
				t.Fatal(err)
			}
			defer k.close()
			r := &lruRun{t: t, spec: g.Spec(), rng: rand.New(rand.NewSource(int64(100 + i)))}
			r.limit = int(r.spec.MaxEntries)
			if spec.Flags&FlagNoCommonLRU != 0 && pinned {
				r.limit /= ncpu
			}
			r.sides[0] = &lruSide{name: "gobee", lookup: g.Lookup, update: g.Update, delete: g.Delete,
				lad: g.LookupAndDelete, next: g.NextKey, model: map[string][]byte{},
				blook: func(keys, values []byte) (int, error) {
					n, _, err := g.BatchLookup(nil, keys, values, 0)
					return n, err
				},
				bupd: func(keys, values []byte) (int, error) { return g.BatchUpdate(keys, values, 0) }}
			r.sides[1] = &lruSide{name: "kernel", lookup: k.lookup, update: k.update, delete: k.delete,
				lad: k.lookupAndDelete, next: k.nextKey, model: map[string][]byte{},
				blook: func(keys, values []byte) (int, error) {
					n, _, err := k.batch(sysMapLookupBatch, nil, 4, keys, values, len(keys)/int(spec.KeySize), 0)
					return n, err
				},
				bupd: func(keys, values []byte) (int, error) {
					n, _, err := k.batch(sysMapUpdateBatch, nil, 4, keys, values, len(keys)/int(spec.KeySize), 0)
					return n, err
				}}
			space := int(r.spec.MaxEntries) * 2
			pk := &pair{spec: r.spec}
			key := func() []byte { return pk.key(r.rng.Intn(space)) }
			value := func() []byte {
				v := make([]byte, g.UserValueSize())
				r.rng.Read(v)
				return v
			}
			for r.ops < 12000 {
				r.step(key, value, g.UserValueSize())
			}
			for _, s := range r.sides {
				r.walk(s)
			}
			total[spec.Type] += r.ops
		})
	}
	for _, typ := range []Type{LRUHash, LRUPerCPUHash} {
		fmt.Printf("maps: compared %d operations on %v against the kernel (invariants)\n", total[typ], typ)
	}
}

// pinCPU0 pins the calling goroutine to CPU 0 for the rest of the test:
// with per-CPU LRU lists the kernel takes elements from the list of the CPU
// the syscall runs on, gobee's user-space calls from CPU 0's.
func pinCPU0(t *testing.T) bool {
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	var old unix.CPUSet
	if unix.SchedGetaffinity(0, &old) != nil {
		return false
	}
	var set unix.CPUSet
	set.Set(0)
	if unix.SchedSetaffinity(0, &set) != nil {
		return false
	}
	t.Cleanup(func() { unix.SchedSetaffinity(0, &old) })
	return true
}
