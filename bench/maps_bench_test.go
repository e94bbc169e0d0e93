package bench

import (
	"errors"
	"sync"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/gobee-dev/gobee/maps"
)

// BenchmarkMapOps measures lookup, update and delete (see maps_ops_test.go:
// delete re-inserts the key) on HASH, ARRAY, LRU_HASH and LPM_TRIE:
//
//   - gobee-api/gN: maps.Map Lookup/Update/Delete from N goroutines;
//   - kernel-syscall/gN: cilium/ebpf Map Lookup/Update/Delete (one bpf()
//     syscall each) on a kernel map of the same spec, from N goroutines;
//   - gobee-prog: a program doing 64 operations per run, under the
//     interpreter;
//   - kernel-prog: the same program in the kernel via BPF_PROG_TEST_RUN,
//     timed by the kernel.
//
// ns/op is per map operation everywhere (for the programs: per run divided
// by 64; for N goroutines: wall time divided by all goroutines'
// operations, i.e. the inverse of throughput); ops/s is its inverse.
func BenchmarkMapOps(b *testing.B) {
	pkt := packet(b)
	for _, k := range mapKinds {
		for _, op := range mapOps {
			prefix := k.name + "/" + op + "/"
			for _, g := range []int{1, 2} {
				b.Run(prefix+"gobee-api/g"+itoa(g), func(b *testing.B) {
					m := newGobeeMap(b, k)
					benchAPI(b, k, op, g, gobeeAPI{m})
				})
				b.Run(prefix+"kernel-syscall/g"+itoa(g), func(b *testing.B) {
					m := newKernelMap(b, k)
					benchAPI(b, k, op, g, kernelAPI{m})
				})
			}
			b.Run(prefix+"gobee-prog", func(b *testing.B) {
				gp, _, _, _ := opPrograms(b, k, op, pkt, true)
				want := expectedRet(k, op, pkt)
				b.ResetTimer()
				var r0 uint32
				var err error
				for i := 0; i < b.N; i++ {
					if r0, err = gp.run(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if r0 != want {
					b.Fatalf("r0 = %d, want %d", r0, want)
				}
				reportPerOp(b, float64(b.Elapsed().Nanoseconds())/float64(b.N)/opsPerRun)
			})
			b.Run(prefix+"kernel-prog", func(b *testing.B) {
				requireKernel(b)
				_, _, kp, _ := opPrograms(b, k, op, pkt, false)
				want := expectedRet(k, op, pkt)
				b.ResetTimer()
				ns, ret, err := kp.Time(pkt, b.N)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if ret != want {
					b.Fatalf("retval = %d, want %d", ret, want)
				}
				reportPerOp(b, ns/opsPerRun)
			})
		}
	}
}

// reportPerOp replaces ns/op by nsPerOp and adds ops/s.
func reportPerOp(b *testing.B, nsPerOp float64) {
	b.ReportMetric(nsPerOp, "ns/op")
	if nsPerOp > 0 {
		b.ReportMetric(1e9/nsPerOp, "ops/s")
	}
}

func itoa(n int) string { return string(rune('0' + n)) }

// userAPI is the user-space face of a map: gobee's or the kernel's.
type userAPI interface {
	lookup(key, val []byte) error
	update(key, val []byte, flags uint64) error
	del(key []byte) error
}

type gobeeAPI struct{ m maps.Map }

func (a gobeeAPI) lookup(key, _ []byte) error { _, err := a.m.Lookup(key); return err }
func (a gobeeAPI) update(key, val []byte, flags uint64) error {
	return a.m.Update(key, val, flags)
}
func (a gobeeAPI) del(key []byte) error { return a.m.Delete(key) }

type kernelAPI struct{ m *ebpf.Map }

func (a kernelAPI) lookup(key, val []byte) error { return a.m.Lookup(key, val) }
func (a kernelAPI) update(key, val []byte, flags uint64) error {
	return a.m.Update(key, val, ebpf.MapUpdateFlags(flags))
}
func (a kernelAPI) del(key []byte) error { return a.m.Delete(key) }

// benchAPI runs b.N operations split over g goroutines. Goroutine w does
// the operations i ≡ w (mod g) on element i mod 1024, so with g = 2 the
// goroutines work on disjoint keys (deletes and re-inserts do not race).
func benchAPI(b *testing.B, k mapKind, op string, g int, api userAPI) {
	// Keys and values prepared up front, so the loop only calls the map.
	stored := make([][]byte, MapKeys)
	lookups := make([][]byte, MapKeys)
	values := make([][]byte, MapKeys)
	for i := range uint32(MapKeys) {
		stored[i], lookups[i], values[i] = k.storedKey(i), k.lookupKey(i, byte(i*7)), value(i)
	}
	wantFail := op == "delete" && k.array()
	errs := make([]error, g)
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			val := make([]byte, 8)
			for i := w; i < b.N; i += g {
				idx := i & (MapKeys - 1)
				var err error
				switch op {
				case "lookup":
					err = api.lookup(lookups[idx], val)
				case "update":
					err = api.update(stored[idx], values[idx], maps.UpdateAny)
				case "delete":
					err = api.del(stored[idx])
					err2 := api.update(stored[idx], values[idx], maps.UpdateNoExist)
					if wantFail {
						// ARRAY: EINVAL, then EEXIST.
						if err == nil || err2 == nil {
							err = errors.New("array delete or re-insert succeeded")
						} else {
							err = nil
						}
					} else if err == nil {
						err = err2
					}
				}
				if err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err := errors.Join(errs...); err != nil {
		b.Fatalf("%s/%s: %v", k.name, op, err)
	}
	reportPerOp(b, float64(b.Elapsed().Nanoseconds())/float64(b.N))
}
