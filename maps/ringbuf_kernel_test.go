//go:build linux

package maps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/gobee-dev/gobee/internal/testutil"
	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
)

// The ring buffer differential test: testdata/maps/ringbuf.c runs under
// the kernel's BPF_PROG_TEST_RUN and under the interpreter on the same
// packets, against a kernel and a gobee ring buffer. Return values,
// result bytes, the records the readers see (kernel: cilium/ebpf's
// ringbuf.Reader) and the ring's data pages (kernel: mmap of the map)
// must be the same.

const (
	ringbufObj  = "../testdata/maps/ringbuf.o"
	ringbufPkt  = 256
	ringbufRuns = 10000
)

// loadRingbufGobee loads ringbuf_body from spec into the interpreter, its
// map lddw pointing at the gobee ring rb.
func loadRingbufGobee(t *testing.T, spec *ebpf.CollectionSpec, rb Map) *interp.Program {
	t.Helper()
	ps := spec.Programs["ringbuf_prog"]
	insns := append(asm.Instructions(nil), ps.Instructions...)
	body := -1
	var refs []int
	for i, ins := range insns {
		if ins.Symbol() == "ringbuf_body" {
			body = i
		}
		if ins.IsLoadFromMap() {
			if ins.Reference() != "rb" {
				t.Fatalf("insn %d: lddw of %q", i, ins.Reference())
			}
			refs = append(refs, i)
		}
	}
	if body < 0 || len(refs) == 0 {
		t.Fatalf("ringbuf_body %d, %d map references", body, len(refs))
	}
	dec := testutil.Decode(t, insns)
	h := Handle(rb)
	t.Cleanup(func() { Release(rb) })
	for _, i := range refs {
		if dec[i].Src != isa.PseudoMapFD {
			t.Fatalf("insn %d: map lddw has src %d", i, dec[i].Src)
		}
		dec[i].Src, dec[i].Imm = 0, int64(h)
	}
	slot := dec.SlotIndex()[body]
	stub := isa.Instructions{
		{Op: isa.OpcodeCall, Src: isa.PseudoCall, Imm: int64(slot + 1)},
		{Op: isa.OpcodeExit},
	}
	p, err := interp.Load(append(stub, dec...), &interp.Options{Helpers: Helpers()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// drainKernel reads every record the kernel ring has.
func drainKernel(t *testing.T, r *ringbuf.Reader) [][]byte {
	t.Helper()
	var out [][]byte
	r.SetDeadline(time.Now())
	for {
		rec, err := r.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec.RawSample)
	}
}

func drainGobee(t *testing.T, r *RingbufReader) [][]byte {
	t.Helper()
	var out [][]byte
	r.SetDeadline(time.Now())
	for {
		rec, err := r.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec.RawSample)
	}
}

func genRingbufPacket(rng *rand.Rand) []byte {
	p := make([]byte, ringbufPkt)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	// Bias the operations: mostly reservations and outputs, few
	// invalid flags.
	for i := 0; i < 12; i++ {
		op := p[i]
		switch rng.IntN(10) {
		case 0, 1, 2, 3:
			op = op&^7 | byte(rng.IntN(2))
		case 4, 5, 6:
			op = op&^7 | 2
			if rng.IntN(4) != 0 {
				op &^= 0x38 // valid flags most of the time
				op |= byte(rng.IntN(4)) << 3
			}
		}
		p[i] = op
	}
	return p
}

func TestKernelRingbuf(t *testing.T) {
	requireBPF(t)
	spec, err := ebpf.LoadCollectionSpec(ringbufObj)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		t.Fatalf("kernel load: %v", err)
	}
	defer coll.Close()
	kprog, kmapRB := coll.Programs["ringbuf_prog"], coll.Maps["rb"]
	kr, err := ringbuf.NewReader(kmapRB)
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	size := int(kmapRB.MaxEntries())
	// The kernel's producer page and the data pages mapped twice.
	kmem, err := unix.Mmap(kmapRB.FD(), pageSize, pageSize+2*size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(kmem)

	g, err := New(Spec{Type: RingBuf, MaxEntries: uint32(size), Name: "rb"})
	if err != nil {
		t.Fatal(err)
	}
	gr, err := NewRingbufReader(g)
	if err != nil {
		t.Fatal(err)
	}
	defer gr.Close()
	gp := loadRingbufGobee(t, spec, g)

	rng := rand.New(rand.NewPCG(3, 27))
	records, full := 0, 0
	compareRecords := func(run int) {
		t.Helper()
		krecs, grecs := drainKernel(t, kr), drainGobee(t, gr)
		if len(krecs) != len(grecs) {
			t.Fatalf("run %d: kernel has %d records, gobee %d", run, len(krecs), len(grecs))
		}
		for i := range krecs {
			if !bytes.Equal(krecs[i], grecs[i]) {
				t.Fatalf("run %d: record %d: kernel %x, gobee %x", run, i, krecs[i], grecs[i])
			}
		}
		records += len(krecs)
	}
	for run := 0; run < ringbufRuns; run++ {
		pkt := genRingbufPacket(rng)
		kout := make([]byte, len(pkt))
		kret, err := kprog.Run(&ebpf.RunOptions{Data: pkt, DataOut: kout})
		if err != nil {
			t.Fatalf("run %d: kernel: %v", run, err)
		}
		gout := bytes.Clone(pkt)
		gret, err := gp.Run(&interp.Input{Args: [5]uint64{interp.Addr(gout)}, Regions: []interp.Region{{Mem: gout, Writable: true}}})
		if err != nil {
			t.Fatalf("run %d: gobee: %v", run, err)
		}
		if uint32(gret) != kret {
			t.Fatalf("run %d: ops %x: retval kernel %d, gobee %d", run, pkt[:12], kret, uint32(gret))
		}
		if !bytes.Equal(kout, gout) {
			for i := 0; i < 12; i++ {
				k := binary.LittleEndian.Uint64(kout[128+8*i:])
				gv := binary.LittleEndian.Uint64(gout[128+8*i:])
				if k != gv {
					t.Fatalf("run %d: op %d (%#x): kernel %#x, gobee %#x", run, i, pkt[i], k, gv)
				}
			}
			t.Fatalf("run %d: packets differ", run)
		}
		for i := 0; i < 12; i++ {
			if int64(binary.LittleEndian.Uint64(gout[128+8*i:])) == -int64(unix.EAGAIN) {
				full++
			}
		}
		// The ring's bytes, headers (len, flags, pg_off) included.
		gdata, _, gprod, err := RingbufStream(g)
		if err != nil {
			t.Fatal(err)
		}
		if kprod := binary.NativeEndian.Uint64(kmem); kprod != gprod {
			t.Fatalf("run %d: producer position kernel %d, gobee %d", run, kprod, gprod)
		}
		if kdata := kmem[pageSize : pageSize+size]; !bytes.Equal(kdata, gdata) {
			for i := range kdata {
				if kdata[i] != gdata[i] {
					h := max(i&^7, 16)
					h = min(h, size-16)
					t.Fatalf("run %d: ops %x: ring byte %d: kernel %#x, gobee %#x; kernel %x gobee %x", run, pkt[:12], i, kdata[i], gdata[i], kdata[h-16:h+16], gdata[h-16:h+16])
				}
			}
		}
		if rng.IntN(4) == 0 {
			compareRecords(run)
		}
	}
	compareRecords(ringbufRuns)
	if full == 0 {
		t.Fatal("the ring was never full")
	}
	fmt.Printf("maps: compared %d ringbuf runs against the kernel (%d records, %d outputs to a full ring)\n", ringbufRuns, records, full)
}

// TestKernelRingbufCreate compares the creation checks of ring buffers
// and perf event arrays, and the bpf() commands on them, with the kernel.
func TestKernelRingbufCreate(t *testing.T) {
	ncpu := requireBPF(t)
	specs := []Spec{
		{Type: RingBuf, MaxEntries: 4096},
		{Type: RingBuf, MaxEntries: 1 << 16},
		{Type: RingBuf, MaxEntries: 0},
		{Type: RingBuf, MaxEntries: 2048},
		{Type: RingBuf, MaxEntries: 4096 * 3},
		{Type: RingBuf, MaxEntries: 4097},
		{Type: RingBuf, KeySize: 4, MaxEntries: 4096},
		{Type: RingBuf, ValueSize: 4, MaxEntries: 4096},
		{Type: RingBuf, MaxEntries: 4096, Flags: FlagNumaNode},
		{Type: RingBuf, MaxEntries: 4096, Flags: FlagRdonlyProg},
		{Type: RingBuf, MaxEntries: 4096, Flags: FlagMmapable},
		{Type: RingBuf, MaxEntries: 4096, Flags: FlagRdonly},
		{Type: RingBuf, MaxEntries: 4096, Flags: FlagRdonly | FlagWronly},
		{Type: RingBuf, MaxEntries: 4096, MapExtra: 1},
		{Type: RingBuf, MaxEntries: 4096, Name: "abcdefghijklmnop"},
		{Type: PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 4},
		{Type: PerfEventArray, KeySize: 4, ValueSize: 8, MaxEntries: 4},
		{Type: PerfEventArray, KeySize: 8, ValueSize: 4, MaxEntries: 4},
		{Type: PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: FlagPreserveElems},
		{Type: PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: FlagRdonlyProg},
		{Type: PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: FlagMmapable},
		{Type: PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: FlagNoPrealloc},
		{Type: PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: FlagRdonly},
	}
	for _, s := range specs {
		s.NumCPU = ncpu
		t.Run(fmt.Sprintf("%v/%d/%d/%d/%#x", s.Type, s.KeySize, s.ValueSize, s.MaxEntries, s.Flags), func(t *testing.T) {
			g, gerr := New(s)
			k, kerr := kcreate(s, ncpu)
			if Errno(gerr) != Errno(kerr) {
				t.Fatalf("create: gobee %v, kernel %v", gerr, kerr)
			}
			if kerr != nil {
				return
			}
			defer k.close()
			same := func(what string, gerr, kerr error) {
				t.Helper()
				if Errno(gerr) != Errno(kerr) {
					t.Fatalf("%s: gobee %v, kernel %v", what, gerr, kerr)
				}
			}
			key := make([]byte, s.KeySize)
			val := make([]byte, s.ValueSize)
			for _, idx := range []uint32{0, 1, 100} {
				if len(key) == 4 {
					binary.NativeEndian.PutUint32(key, idx)
				}
				_, gerr := g.Lookup(key)
				_, kerr := k.lookup(key)
				same("lookup", gerr, kerr)
				same("update", g.Update(key, val, UpdateAny), k.update(key, val, UpdateAny))
				same("update flags", g.Update(key, val, 7), k.update(key, val, 7))
				same("delete", g.Delete(key), k.delete(key))
				_, gerr = g.NextKey(key)
				_, kerr = k.nextKey(key)
				same("next key", gerr, kerr)
				_, gerr = g.LookupAndDelete(key)
				_, kerr = k.lookupAndDelete(key)
				same("lookup and delete", gerr, kerr)
			}
			_, gerr = g.NextKey(nil)
			_, kerr = k.nextKey(nil)
			same("next key nil", gerr, kerr)
			ks := max(len(key), 4)
			_, _, gerr = g.BatchLookup(nil, make([]byte, 4*ks), make([]byte, 4*max(len(val), 1)), 0)
			_, _, kerr = k.batch(sysMapLookupBatch, nil, ks, make([]byte, 4*ks), make([]byte, 4*max(len(val), 1)), 4, 0)
			same("batch lookup", gerr, kerr)
			same("freeze", g.Freeze(), k.freeze())
			same("freeze again", g.Freeze(), k.freeze())
		})
	}
}

// TestKernelMmap compares the rules of mmap on maps with the kernel's:
// which maps can be mapped, and freeze against writable mappings.
func TestKernelMmap(t *testing.T) {
	ncpu := requireBPF(t)
	kmmap := func(k *kmap, n int) ([]byte, error) {
		return unix.Mmap(k.fd, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	}
	for _, s := range []Spec{
		{Type: Array, KeySize: 4, ValueSize: 12, MaxEntries: 10, Flags: FlagMmapable},
		{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 10},
		{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 10, Flags: FlagMmapable | FlagRdonlyProg},
		{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 10},
		{Type: PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 10},
	} {
		s.NumCPU = ncpu
		t.Run(fmt.Sprintf("%v/%#x", s.Type, s.Flags), func(t *testing.T) {
			g := mustNew(t, s)
			k, err := kcreate(s, ncpu)
			if err != nil {
				t.Fatal(err)
			}
			defer k.close()
			gm, gerr := g.Mmap()
			km, kerr := kmmap(k, pageSize)
			if Errno(gerr) != Errno(kerr) {
				t.Fatalf("mmap: gobee %v, kernel %v", gerr, kerr)
			}
			if kerr != nil {
				return
			}
			if len(gm) != pageSize || uintptr(unsafePointer(gm))%pageSize != 0 {
				t.Fatalf("mapping of %d bytes at %p", len(gm), unsafePointer(gm))
			}
			// Writes through the mapping are the map's values, elements
			// 8-byte aligned.
			stride := roundUp8(int(s.ValueSize))
			for i := 0; i < int(s.MaxEntries); i++ {
				gm[i*stride] = byte(i + 1)
				km[i*stride] = byte(i + 1)
			}
			for i := 0; i < int(s.MaxEntries); i++ {
				gv, _ := g.Lookup(u32(uint32(i)))
				kv, _ := k.lookup(u32(uint32(i)))
				if !bytes.Equal(gv, kv) || gv[0] != byte(i+1) {
					t.Fatalf("element %d: gobee %x, kernel %x", i, gv, kv)
				}
			}
			if e1, e2 := Errno(g.Freeze()), Errno(k.freeze()); e1 != e2 || e1 != unix.EBUSY {
				t.Fatalf("freeze while mapped: gobee %v, kernel %v", e1, e2)
			}
			if err := g.Munmap(gm); err != nil {
				t.Fatal(err)
			}
			unix.Munmap(km)
			if e1, e2 := Errno(g.Freeze()), Errno(k.freeze()); e1 != e2 || e1 != 0 {
				t.Fatalf("freeze: gobee %v, kernel %v", e1, e2)
			}
			_, gerr = g.Mmap()
			km, kerr = kmmap(k, pageSize)
			if kerr == nil {
				unix.Munmap(km)
			}
			if Errno(gerr) != Errno(kerr) {
				t.Fatalf("mmap frozen: gobee %v, kernel %v", gerr, kerr)
			}
		})
	}
}

func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }
