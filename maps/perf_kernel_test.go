//go:build linux

package maps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/perf"
	"golang.org/x/sys/unix"

	"github.com/gobee-dev/gobee/internal/testutil"
	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
)

// The perf event array differential test: testdata/maps/perf.c calls
// bpf_perf_event_output with packet-chosen indexes, flags and sizes
// under BPF_PROG_TEST_RUN (on CPU 0: the test pins its thread) and under
// the interpreter (virtual CPU 0). Return values (including -ENOSPC when
// the one-page buffer is full) and the records the readers see (kernel:
// cilium/ebpf's perf.Reader), lost-sample counts included, must match.

const perfRuns = 3000

// loadBody loads the subprogram body of program name into the
// interpreter, with the lddw of map mapName pointing at m.
func loadBody(t *testing.T, spec *ebpf.CollectionSpec, name, body, mapName string, m Map) *interp.Program {
	t.Helper()
	insns := append(asm.Instructions(nil), spec.Programs[name].Instructions...)
	at := -1
	var refs []int
	for i, ins := range insns {
		if ins.Symbol() == body {
			at = i
		}
		if ins.IsLoadFromMap() {
			if ins.Reference() != mapName {
				t.Fatalf("insn %d: lddw of %q", i, ins.Reference())
			}
			refs = append(refs, i)
		}
	}
	if at < 0 || len(refs) == 0 {
		t.Fatalf("%s %d, %d map references", body, at, len(refs))
	}
	dec := testutil.Decode(t, insns)
	h := Handle(m)
	t.Cleanup(func() { Release(m) })
	for _, i := range refs {
		if dec[i].Src != isa.PseudoMapFD {
			t.Fatalf("insn %d: map lddw has src %d", i, dec[i].Src)
		}
		dec[i].Src, dec[i].Imm = 0, int64(h)
	}
	stub := isa.Instructions{
		{Op: isa.OpcodeCall, Src: isa.PseudoCall, Imm: int64(dec.SlotIndex()[at] + 1)},
		{Op: isa.OpcodeExit},
	}
	p, err := interp.Load(append(stub, dec...), &interp.Options{Helpers: Helpers()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type perfSample struct {
	cpu  int
	raw  []byte
	lost uint64
}

func TestKernelPerfEventOutput(t *testing.T) {
	ncpu := requireBPF(t)
	if ncpu < 2 {
		t.Skip("needs 2 CPUs")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		t.Fatal(err)
	}
	set.Set(0)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		t.Skipf("cannot pin to CPU 0: %v", err)
	}
	defer unix.SchedSetaffinity(0, &old)

	spec, err := ebpf.LoadCollectionSpec("../testdata/maps/perf.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		t.Fatalf("kernel load: %v", err)
	}
	defer coll.Close()
	kprog, kevents := coll.Programs["perf_prog"], coll.Maps["events"]
	kr, err := perf.NewReader(kevents, pageSize)
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()

	g, err := New(Spec{Type: PerfEventArray, KeySize: 4, ValueSize: 4, NumCPU: ncpu, Name: "events"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Spec().MaxEntries != kevents.MaxEntries() {
		t.Fatalf("max_entries gobee %d, kernel %d", g.Spec().MaxEntries, kevents.MaxEntries())
	}
	gr, err := NewPerfReader(g, pageSize)
	if err != nil {
		t.Fatal(err)
	}
	defer gr.Close()
	gp := loadBody(t, spec, "perf_prog", "perf_body", "events", g)

	drainK := func() (out []perfSample) {
		kr.SetDeadline(time.Now())
		for {
			rec, err := kr.Read()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, perfSample{rec.CPU, rec.RawSample, rec.LostSamples})
		}
	}
	drainG := func() (out []perfSample) {
		gr.SetDeadline(time.Now())
		for {
			rec, err := gr.Read()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, perfSample{rec.CPU, rec.RawSample, rec.LostSamples})
		}
	}
	rng := rand.New(rand.NewPCG(5, 25))
	samples, lost := 0, uint64(0)
	compare := func(run int) {
		t.Helper()
		ks, gs := drainK(), drainG()
		if len(ks) != len(gs) {
			t.Fatalf("run %d: kernel %d records, gobee %d", run, len(ks), len(gs))
		}
		for i := range ks {
			if ks[i].cpu != gs[i].cpu || ks[i].lost != gs[i].lost || !samePadded(ks[i].raw, gs[i].raw) {
				t.Fatalf("run %d: record %d: kernel %+v, gobee %+v", run, i, ks[i], gs[i])
			}
			lost += ks[i].lost
			if ks[i].lost == 0 {
				samples++
			}
		}
	}
	ctx := make([]byte, 64)
	for run := 0; run < perfRuns; run++ {
		pkt := make([]byte, 256)
		for i := range pkt {
			pkt[i] = byte(rng.Uint32())
		}
		for i := 0; i < 8; i++ {
			if rng.IntN(3) != 0 {
				pkt[i] &^= 7 // mostly BPF_F_CURRENT_CPU
			}
		}
		kout := make([]byte, len(pkt))
		kret, err := kprog.Run(&ebpf.RunOptions{Data: pkt, DataOut: kout})
		if err != nil {
			t.Fatalf("run %d: kernel: %v", run, err)
		}
		gout := bytes.Clone(pkt)
		gret, err := gp.Run(&interp.Input{
			Args:    [5]uint64{interp.Addr(ctx), interp.Addr(gout)},
			Regions: []interp.Region{{Mem: gout, Writable: true}, {Mem: ctx}},
			Packet:  gout,
		})
		if err != nil {
			t.Fatalf("run %d: gobee: %v", run, err)
		}
		for i := 0; i < 8; i++ {
			k := int64(binary.LittleEndian.Uint64(kout[128+8*i:]))
			gv := int64(binary.LittleEndian.Uint64(gout[128+8*i:]))
			if k != gv {
				t.Fatalf("run %d: op %d (%#x, size %d): kernel %d, gobee %d", run, i, pkt[i], pkt[16+i]&63, k, gv)
			}
		}
		if uint32(gret) != kret || !bytes.Equal(kout, gout) {
			t.Fatalf("run %d: retval kernel %d, gobee %d", run, kret, uint32(gret))
		}
		if rng.IntN(8) == 0 {
			compare(run)
		}
	}
	compare(perfRuns)
	if lost == 0 {
		t.Fatal("no samples were lost: the full buffer was not tested")
	}
	fmt.Printf("maps: compared %d perf_event_output runs against the kernel (%d samples, %d lost)\n", perfRuns, samples, lost)
}

// samePadded compares raw samples. The kernel pads a sample by skipping
// ring bytes (perf_output_skip), so its padding is whatever the ring held
// there before; gobee pads with zeros. The samples must have the same
// length and agree up to the padding (at most 7 trailing bytes).
func samePadded(k, g []byte) bool {
	if len(k) != len(g) {
		return false
	}
	j := 0
	for j < len(k) && k[j] == g[j] {
		j++
	}
	if j == len(k) {
		return true
	}
	if j < len(k)-7 {
		return false
	}
	for _, c := range g[j:] {
		if c != 0 {
			return false
		}
	}
	return true
}
