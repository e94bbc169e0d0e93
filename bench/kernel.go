package bench

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"
)

// maxRepeat bounds one BPF_PROG_TEST_RUN call, so that a long benchmark is
// split into batches.
const maxRepeat = 1 << 20

// Kernel is a benchmark program loaded into the running kernel.
type Kernel struct {
	coll *ebpf.Collection
	prog *ebpf.Program
}

// LoadKernel loads p's XDP object into the kernel and, for map_lookup, fills
// bench_map.
func LoadKernel(p Program) (*Kernel, error) {
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("remove memlock rlimit: %w", err)
	}
	spec, err := ebpf.LoadCollectionSpec(p.KernObject())
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", p.KernObject(), err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return nil, fmt.Errorf("load %s into the kernel: %w", p.Name, err)
	}
	k := &Kernel{coll: coll, prog: coll.Programs[p.Name]}
	if k.prog == nil {
		coll.Close()
		return nil, fmt.Errorf("%s: no program %q", p.KernObject(), p.Name)
	}
	if p.UsesMap {
		if err := fillKernelMap(coll.Maps[MapName]); err != nil {
			coll.Close()
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	return k, nil
}

// fillKernelMap inserts keys 0..MapKeys-1 with MapValue values.
func fillKernelMap(m *ebpf.Map) error {
	if m == nil {
		return errors.New("no map " + MapName)
	}
	for k := uint32(0); k < MapKeys; k++ {
		if err := m.Put(k, MapValue(k)); err != nil {
			return fmt.Errorf("fill %s key %d: %w", MapName, k, err)
		}
	}
	return nil
}

// Close releases the program and its maps.
func (k *Kernel) Close() { k.coll.Close() }

// Run runs the program once on pkt and returns its return value.
func (k *Kernel) Run(pkt []byte) (uint32, error) {
	ret, err := k.prog.Run(&ebpf.RunOptions{Data: pkt})
	if err != nil {
		return 0, fmt.Errorf("test run: %w", err)
	}
	return ret, nil
}

// Time runs the program n times on pkt with BPF_PROG_TEST_RUN, in batches
// of at most maxRepeat, and returns the kernel's own mean duration per run
// in nanoseconds and the last return value. The kernel reports whole
// nanoseconds per batch.
func (k *Kernel) Time(pkt []byte, n int) (nsPerRun float64, ret uint32, err error) {
	var total float64
	for done := 0; done < n; {
		batch := min(n-done, maxRepeat)
		r, d, err := k.prog.Benchmark(pkt, batch, nil)
		if err != nil {
			return 0, 0, fmt.Errorf("test run x%d: %w", batch, err)
		}
		total += float64(d.Nanoseconds()) * float64(batch)
		ret = r
		done += batch
	}
	return total / float64(max(n, 1)), ret, nil
}

// TimeFor measures the kernel's mean ns per run over roughly d of kernel
// time: a first batch of 1000 repetitions sizes the second.
func (k *Kernel) TimeFor(pkt []byte, d time.Duration) (float64, error) {
	const first = 1000
	ns, _, err := k.Time(pkt, first)
	if err != nil || ns*first >= float64(d.Nanoseconds()) {
		return ns, err
	}
	n := min(int(float64(d.Nanoseconds())/max(ns, 1))+1, 1<<30)
	ns, _, err = k.Time(pkt, n)
	return ns, err
}
