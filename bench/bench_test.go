package bench

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/rlimit"
)

// ratioWindow is how much kernel time the interp benchmark spends to get
// the kernel's ns/run for its interp/kernel ratio.
const ratioWindow = 20 * time.Millisecond

var (
	kernelOnce sync.Once
	kernelErr  error
)

// kernelAvailable reports why this process cannot load and test-run XDP
// programs, or nil if it can.
func kernelAvailable() error {
	kernelOnce.Do(func() {
		if err := rlimit.RemoveMemlock(); err != nil {
			kernelErr = err
			return
		}
		kernelErr = features.HaveProgramType(ebpf.XDP)
	})
	return kernelErr
}

// requireKernel skips tb unless kernelAvailable.
func requireKernel(tb testing.TB) {
	tb.Helper()
	if err := kernelAvailable(); err != nil {
		tb.Skipf("kernel side skipped: bpf() with XDP programs unavailable: %v", err)
	}
}

// packet loads packet_1500.bin or fails tb.
func packet(tb testing.TB) []byte {
	tb.Helper()
	pkt, err := LoadPacket()
	if err != nil {
		tb.Fatal(err)
	}
	return pkt
}

// loadInterp loads p into the interpreter or fails tb.
func loadInterp(tb testing.TB, p Program, pkt []byte) *Interp {
	tb.Helper()
	it, err := LoadInterp(p, pkt)
	if err != nil {
		tb.Fatalf("%s: %v", p.Name, err)
	}
	return it
}

// loadKernel loads p into the kernel, skipping tb if bpf() is unavailable.
func loadKernel(tb testing.TB, p Program) *Kernel {
	tb.Helper()
	requireKernel(tb)
	k, err := LoadKernel(p)
	if err != nil {
		tb.Fatalf("%s: %v", p.Name, err)
	}
	tb.Cleanup(k.Close)
	return k
}

// TestPrograms checks that every benchmark program returns the value the
// bench README gives for packet_1500.bin, on the interpreter and in the
// kernel.
func TestPrograms(t *testing.T) {
	pkt := packet(t)
	for _, p := range Programs {
		t.Run(p.Name+"/interp", func(t *testing.T) {
			got, err := loadInterp(t, p, pkt).Run()
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if got != uint64(p.Want) {
				t.Errorf("r0 = %d (%#x), want %d", got, got, p.Want)
			}
		})
		t.Run(p.Name+"/kernel", func(t *testing.T) {
			got, err := loadKernel(t, p).Run(pkt)
			if err != nil {
				t.Fatal(err)
			}
			if got != p.Want {
				t.Errorf("retval = %d, want %d", got, p.Want)
			}
		})
	}
}

// TestLoadUBPF checks the small ELF loader without running anything.
func TestLoadUBPF(t *testing.T) {
	for _, p := range Programs {
		insns, err := loadUBPF(p.UBPFObject(), map[string]int64{MapName: mapHandle})
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		var calls, maps int
		for _, ins := range insns {
			if ins.IsLocalCall() {
				calls++
			}
			if ins.IsLDDW() && ins.Imm == mapHandle {
				maps++
			}
		}
		wantCalls, wantMaps := 0, 0
		switch p.Name {
		case "call_heavy":
			wantCalls = 4 // entry→mix1, mix1→mix2, mix1→mix3, mix2→mix3
		case "map_lookup":
			wantMaps = 1
		}
		if calls != wantCalls || maps != wantMaps {
			t.Errorf("%s: %d local calls, %d bench_map references; want %d, %d", p.Name, calls, maps, wantCalls, wantMaps)
		}
	}
	_, err := loadUBPF(Programs[len(Programs)-1].UBPFObject(), nil)
	if !errors.Is(err, errBadReloc) {
		t.Errorf("map_lookup without handles: err = %v, want %v", err, errBadReloc)
	}
}

// BenchmarkPrograms runs every program on the interpreter and in the kernel.
// Both report "ns/run"; the interp side also reports "interp/kernel", the
// ratio to a kernel measurement taken in the same benchmark.
func BenchmarkPrograms(b *testing.B) {
	pkt := packet(b)
	for _, p := range Programs {
		b.Run(p.Name+"/interp", func(b *testing.B) { benchInterp(b, p, pkt) })
		b.Run(p.Name+"/kernel", func(b *testing.B) { benchKernel(b, p, pkt) })
	}
}

// benchInterp times b.N interpreter runs of p, then measures the kernel for
// the ratio.
func benchInterp(b *testing.B, p Program, pkt []byte) {
	it := loadInterp(b, p, pkt)
	b.ReportAllocs()
	b.ResetTimer()
	var r0 uint64
	var err error
	for i := 0; i < b.N; i++ {
		if r0, err = it.Run(); err != nil {
			b.Fatalf("run: %v", err)
		}
	}
	b.StopTimer()
	if r0 != uint64(p.Want) {
		b.Fatalf("r0 = %d, want %d", r0, p.Want)
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns, "ns/run")
	if kns, ok := kernelNsPerRun(b, p, pkt); ok {
		b.ReportMetric(ns/kns, "interp/kernel")
	}
}

// kernelNsPerRun measures p in the kernel for the interp/kernel ratio. It
// reports false, after logging why, when the kernel is unavailable.
func kernelNsPerRun(b *testing.B, p Program, pkt []byte) (float64, bool) {
	if err := kernelAvailable(); err != nil {
		b.Logf("no interp/kernel ratio: bpf() unavailable: %v", err)
		return 0, false
	}
	k, err := LoadKernel(p)
	if err != nil {
		b.Fatalf("%s: %v", p.Name, err)
	}
	defer k.Close()
	kns, err := k.TimeFor(pkt, ratioWindow)
	if err != nil {
		b.Fatalf("%s: kernel: %v", p.Name, err)
	}
	return max(kns, 1), true
}

// benchKernel runs p b.N times with BPF_PROG_TEST_RUN and reports the
// kernel's own mean duration per run.
func benchKernel(b *testing.B, p Program, pkt []byte) {
	k := loadKernel(b, p)
	b.ResetTimer()
	ns, ret, err := k.Time(pkt, b.N)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if ret != p.Want {
		b.Fatalf("retval = %d, want %d", ret, p.Want)
	}
	b.ReportMetric(ns, "ns/run")
}
