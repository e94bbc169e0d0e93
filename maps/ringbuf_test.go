package maps

import (
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
)

// outputProgram writes r1 (8 bytes) to the ring h with bpf_ringbuf_output
// and returns its result.
func outputProgram(h uint64, flags int64) isa.Instructions {
	return isa.Instructions{
		{Op: 0x7b, Dst: isa.R10, Src: isa.R1, Off: -8}, // *(u64 *)(r10-8) = r1
		{Op: isa.OpcodeLDDW, Dst: isa.R1, Imm: int64(h)},
		{Op: 0xbf, Dst: isa.R2, Src: isa.R10},
		{Op: 0x07, Dst: isa.R2, Imm: -8},
		{Op: 0xb7, Dst: isa.R3, Imm: 8},
		{Op: 0xb7, Dst: isa.R4, Imm: flags},
		{Op: 0x85, Imm: HelperRingbufOutput},
		{Op: 0x95},
	}
}

// reserveProgram reserves 16 bytes in ring h, stores r1 twice and submits
// (r2 == 0) or discards the record; it returns 1 if the reservation
// failed.
func reserveProgram(h uint64) isa.Instructions {
	return isa.Instructions{
		{Op: 0xbf, Dst: isa.R6, Src: isa.R1},
		{Op: 0xbf, Dst: isa.R7, Src: isa.R2},
		{Op: isa.OpcodeLDDW, Dst: isa.R1, Imm: int64(h)},
		{Op: 0xb7, Dst: isa.R2, Imm: 16},
		{Op: 0xb7, Dst: isa.R3, Imm: 0},
		{Op: 0x85, Imm: HelperRingbufReserve},
		{Op: 0x55, Dst: isa.R0, Off: 2, Imm: 0}, // if r0 != 0 goto +2
		{Op: 0xb7, Dst: isa.R0, Imm: 1},
		{Op: 0x95},
		{Op: 0x7b, Dst: isa.R0, Src: isa.R6, Off: 0},
		{Op: 0x7b, Dst: isa.R0, Src: isa.R6, Off: 8},
		{Op: 0xbf, Dst: isa.R1, Src: isa.R0},
		{Op: 0xb7, Dst: isa.R2, Imm: 0},
		{Op: 0x55, Dst: isa.R7, Off: 2, Imm: 0}, // if r7 != 0 goto discard
		{Op: 0x85, Imm: HelperRingbufSubmit},
		{Op: 0x05, Off: 1},
		{Op: 0x85, Imm: HelperRingbufDiscard},
		{Op: 0xb7, Dst: isa.R0, Imm: 0},
		{Op: 0x95},
	}
}

func loadProg(t testing.TB, insns isa.Instructions) *interp.Program {
	t.Helper()
	p, err := interp.Load(insns, &interp.Options{Helpers: Helpers()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t testing.TB, p *interp.Program, args ...uint64) uint64 {
	t.Helper()
	in := &interp.Input{}
	copy(in.Args[:], args)
	r0, err := p.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	return r0
}

func newRing(t testing.TB, size uint32) (Map, uint64) {
	t.Helper()
	m := mustNew(t, Spec{Type: RingBuf, MaxEntries: size})
	h := Handle(m)
	t.Cleanup(func() { Release(m) })
	return m, h
}

func TestRingbufReader(t *testing.T) {
	m, h := newRing(t, 4096)
	r, err := NewRingbufReader(m)
	if err != nil {
		t.Fatal(err)
	}
	out := loadProg(t, outputProgram(h, 0))
	res := loadProg(t, reserveProgram(h))
	// Nothing there: the deadline passes.
	r.SetDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := r.Read(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("empty read: %v", err)
	}
	r.SetDeadline(time.Time{})
	// Records in order, the discarded one skipped.
	if ret := run(t, out, 1); ret != 0 {
		t.Fatalf("output: %d", int64(ret))
	}
	run(t, res, 2, 1) // discarded
	run(t, res, 3, 0)
	if got := r.AvailableBytes(); got != 16+24+24 {
		t.Fatalf("available %d", got)
	}
	rec, err := r.Read()
	if err != nil || len(rec.RawSample) != 8 || binary.NativeEndian.Uint64(rec.RawSample) != 1 || rec.Remaining != 48 {
		t.Fatalf("record 1: %+v %v", rec, err)
	}
	if err := r.ReadInto(&rec); err != nil || len(rec.RawSample) != 16 || binary.NativeEndian.Uint64(rec.RawSample[8:]) != 3 || rec.Remaining != 0 {
		t.Fatalf("record 3: %+v %v", rec, err)
	}
	// A blocked Read wakes up for a record, and for Close.
	done := make(chan RingbufRecord)
	go func() {
		rec, err := r.Read()
		if err != nil {
			t.Error(err)
		}
		done <- rec
	}()
	time.Sleep(5 * time.Millisecond)
	run(t, out, 4)
	if rec := <-done; binary.NativeEndian.Uint64(rec.RawSample) != 4 {
		t.Fatalf("woken read: %x", rec.RawSample)
	}
	errc := make(chan error)
	go func() {
		_, err := r.Read()
		errc <- err
	}()
	time.Sleep(5 * time.Millisecond)
	r.Flush()
	if err := <-errc; !errors.Is(err, ErrFlushed) {
		t.Fatalf("read after flush: %v", err)
	}
	go func() {
		_, err := r.Read()
		errc <- err
	}()
	time.Sleep(5 * time.Millisecond)
	r.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if _, err := NewRingbufReader(mustNew(t, Spec{Type: Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})); err == nil {
		t.Fatal("reader of an array")
	}
}

// TestRingbufFull fills a ring: output fails with -EAGAIN, reserve with
// NULL, at the kernel's limit (the producer stays less than the ring
// size ahead of the consumer); reading makes room, and records that wrap
// around the end read back whole.
func TestRingbufFull(t *testing.T) {
	m, h := newRing(t, 4096)
	r, _ := NewRingbufReader(m)
	out := loadProg(t, outputProgram(h, RingbufNoWakeup))
	res := loadProg(t, reserveProgram(h))
	// 16-byte records: 255 fit (4080 bytes), the 256th would reach 4096.
	n := 0
	for run(t, out, uint64(n)) == 0 {
		n++
	}
	if n != 255 {
		t.Fatalf("%d records fit", n)
	}
	if ret := run(t, out, 0); ret != errnoRet(unix.EAGAIN) {
		t.Fatalf("output to a full ring: %d", int64(ret))
	}
	if ret := run(t, res, 0, 0); ret != 1 {
		t.Fatal("reserve in a full ring succeeded")
	}
	r.SetDeadline(time.Now())
	for i := 0; i < 300; i++ {
		// Wrap around many times.
		rec, err := r.Read()
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		want := uint64(i)
		if i >= 255 {
			want = uint64(i + 1000)
		}
		if got := binary.NativeEndian.Uint64(rec.RawSample); got != want {
			t.Fatalf("record %d: %d, want %d", i, got, want)
		}
		if i >= 254 && i < 299 {
			if ret := run(t, res, uint64(i+1+1000), 0); ret != 0 {
				t.Fatalf("reserve after reading: %d", ret)
			}
		}
	}
	// Bad input: unknown output flags, reserve flags, a huge size.
	if ret := run(t, loadProg(t, outputProgram(h, 4)), 0); ret != errnoRet(unix.EINVAL) {
		t.Fatalf("output with flags 4: %d", int64(ret))
	}
	tail := isa.Instructions{
		{Op: isa.OpcodeLDDW, Dst: isa.R1, Imm: int64(h)},
		{Op: 0xbf, Dst: isa.R2, Src: isa.R6},
		{Op: 0xbf, Dst: isa.R3, Src: isa.R7},
		{Op: 0x85, Imm: HelperRingbufReserve},
		{Op: 0x95},
	}
	for _, c := range [][2]int64{{8, 1}, {4096, 0}, {1 << 32, 0}, {4081, 0}} {
		prog := loadProg(t, append(isa.Instructions{
			{Op: isa.OpcodeLDDW, Dst: isa.R6, Imm: c[0]},
			{Op: 0xb7, Dst: isa.R7, Imm: c[1]},
		}, tail...))
		if ret := run(t, prog); ret != 0 {
			t.Fatalf("reserve %d flags %d: %#x", c[0], c[1], ret)
		}
	}
}

// TestRingbufConcurrent runs producers on many goroutines while a reader
// consumes: every submitted record arrives once and whole, in each
// producer's order.
func TestRingbufConcurrent(t *testing.T) {
	m, h := newRing(t, 1<<14)
	r, _ := NewRingbufReader(m)
	out := loadProg(t, outputProgram(h, 0))
	res := loadProg(t, reserveProgram(h))
	const producers, each = 8, 2000
	var wg sync.WaitGroup
	for g := 0; g < producers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				v := uint64(g)<<32 | uint64(i)
				for {
					var ret uint64
					if i%2 == 0 {
						ret = run(t, out, v)
					} else {
						ret = run(t, res, v, 0)
					}
					if ret == 0 {
						break
					}
					// Full: let the reader catch up, and discard a
					// record on the way.
					run(t, res, 0, 1)
					time.Sleep(time.Microsecond)
				}
			}
		}()
	}
	next := make([]uint64, producers)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	got := 0
	var rec RingbufRecord
	for got < producers*each {
		r.SetDeadline(time.Now().Add(5 * time.Second))
		if err := r.ReadInto(&rec); err != nil {
			t.Fatalf("after %d records: %v", got, err)
		}
		v := binary.NativeEndian.Uint64(rec.RawSample)
		if len(rec.RawSample) == 16 && binary.NativeEndian.Uint64(rec.RawSample[8:]) != v {
			t.Fatalf("torn record %x", rec.RawSample)
		}
		g, i := v>>32, v&(1<<32-1)
		if g >= producers || next[g] != i {
			t.Fatalf("record %x: producer %d expected %d", v, g, next[g])
		}
		next[g]++
		got++
	}
	<-done
	if n := r.AvailableBytes(); n != 0 {
		t.Fatalf("%d bytes left", n)
	}
}

func TestRingbufHelperMisuse(t *testing.T) {
	m, _ := newRing(t, 4096)
	a := mustNew(t, Spec{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	ha := Handle(a)
	defer Release(a)
	for _, insns := range []isa.Instructions{
		outputProgram(ha, 0),
		reserveProgram(ha),
		{{Op: 0xb7, Dst: isa.R1, Imm: 0x1000}, {Op: 0xb7, Dst: isa.R2, Imm: 0}, {Op: 0x85, Imm: HelperRingbufSubmit}, {Op: 0x95}},
		{{Op: 0xbf, Dst: isa.R1, Src: isa.R10}, {Op: 0xb7, Dst: isa.R2, Imm: 0}, {Op: 0x85, Imm: HelperRingbufDiscard}, {Op: 0x95}},
	} {
		if _, err := loadProg(t, insns).Run(&interp.Input{}); err == nil {
			t.Fatalf("%v: no error", insns)
		}
	}
	// Submitting a record twice is an error, not a corruption.
	rb, _ := ringbufOf(m)
	off, _ := rb.reserve(8)
	rb.commit(off, 0, false)
	base := interp.Addr(rb.data)
	if _, err := RingbufSubmit(nil, base+off+RingbufHdrSize, 0, 0, 0, 0); err == nil {
		t.Fatal("second submit accepted")
	}
	if _, _, _, err := RingbufStream(a); err == nil {
		t.Fatal("stream of an array")
	}
	if v, err := a.Lookup(u32(0)); err != nil || len(v) != 8 {
		t.Fatal(v, err)
	}
}
