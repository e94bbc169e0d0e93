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

// perfProgram writes r1 (size r3 ≤ 8 bytes) with bpf_perf_event_output
// to map h with flags r2, and returns the result.
func perfProgram(h uint64) isa.Instructions {
	return isa.Instructions{
		{Op: 0x7b, Dst: isa.R10, Src: isa.R1, Off: -8},
		{Op: 0xbf, Dst: isa.R5, Src: isa.R3},
		{Op: 0xbf, Dst: isa.R3, Src: isa.R2},
		{Op: isa.OpcodeLDDW, Dst: isa.R2, Imm: int64(h)},
		{Op: 0xbf, Dst: isa.R4, Src: isa.R10},
		{Op: 0x07, Dst: isa.R4, Imm: -8},
		{Op: 0xb7, Dst: isa.R1, Imm: 0},
		{Op: 0x85, Imm: HelperPerfEventOutput},
		{Op: 0x95},
	}
}

func perfRun(t testing.TB, p *interp.Program, cpu int, v, flags, size uint64) int64 {
	t.Helper()
	r0, err := p.Run(&interp.Input{CPU: cpu, Args: [5]uint64{v, flags, size}})
	if err != nil {
		t.Fatal(err)
	}
	return int64(r0)
}

func TestPerfEventArray(t *testing.T) {
	m := mustNew(t, Spec{Type: PerfEventArray, KeySize: 4, ValueSize: 4, NumCPU: 4})
	if got := m.Spec().MaxEntries; got != 4 {
		t.Fatalf("default max_entries %d", got)
	}
	h := Handle(m)
	defer Release(m)
	p := loadProg(t, perfProgram(h))
	if ret := perfRun(t, p, 0, 1, PerfCurrentCPU, 8); ret != -int64(unix.ENOENT) {
		t.Fatalf("no reader: %d", ret)
	}
	r, err := NewPerfReader(m, 1) // one page per CPU
	if err != nil {
		t.Fatal(err)
	}
	if r.BufferSize() != pageSize {
		t.Fatalf("buffer size %d", r.BufferSize())
	}
	for _, c := range []struct {
		cpu         int
		flags, size uint64
		want        int64
	}{
		{2, PerfCurrentCPU, 8, 0},
		{1, 1, 5, 0},
		{1, 2, 8, -int64(unix.EOPNOTSUPP)},
		{1, 4, 8, -int64(unix.E2BIG)},
		{1, 1 << 33, 8, -int64(unix.EINVAL)},
		{1, 1 << 52, 8, -int64(unix.EINVAL)},
		{3, PerfCurrentCPU, 0, 0},
	} {
		if ret := perfRun(t, p, c.cpu, 0x1122334455667788, c.flags, c.size); ret != c.want {
			t.Fatalf("%+v: %d", c, ret)
		}
	}
	r.SetDeadline(time.Now())
	seen := map[int][]byte{}
	for {
		rec, err := r.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[rec.CPU] = rec.RawSample
	}
	// Raw samples are padded so that the u32 size and the data are
	// 8-byte multiples.
	if len(seen) != 3 || len(seen[2]) != 12 || len(seen[1]) != 12 || len(seen[3]) != 4 ||
		binary.NativeEndian.Uint64(seen[2]) != 0x1122334455667788 || seen[1][4] != 0x44 || seen[1][5] != 0 {
		t.Fatalf("records %x", seen)
	}
	// A full buffer loses samples; the reader sees how many before the
	// next sample. A 12-byte raw sample takes 24 bytes: 170 fit in 4095.
	n := 0
	for perfRun(t, p, 0, uint64(n), PerfCurrentCPU, 8) == 0 {
		n++
	}
	if n != 170 {
		t.Fatalf("%d samples fit", n)
	}
	for i := 0; i < 9; i++ {
		if ret := perfRun(t, p, 0, 0, PerfCurrentCPU, 8); ret != -int64(unix.ENOSPC) {
			t.Fatalf("full: %d", ret)
		}
	}
	for i := 0; i < 170; i++ {
		rec, err := r.Read()
		if err != nil || rec.CPU != 0 || binary.NativeEndian.Uint64(rec.RawSample) != uint64(i) {
			t.Fatalf("sample %d: %+v %v", i, rec, err)
		}
	}
	if ret := perfRun(t, p, 0, 7, PerfCurrentCPU, 8); ret != 0 {
		t.Fatalf("after reading: %d", ret)
	}
	if rec, err := r.Read(); err != nil || rec.LostSamples != 10 || rec.RawSample != nil {
		t.Fatalf("lost record: %+v %v", rec, err)
	}
	if rec, err := r.Read(); err != nil || binary.NativeEndian.Uint64(rec.RawSample) != 7 {
		t.Fatalf("sample after loss: %+v %v", rec, err)
	}
	// User space: no lookups, no fds, delete detaches a CPU.
	if _, err := m.Lookup(u32(0)); Errno(err) != ENOTSUPP {
		t.Fatal(err)
	}
	if err := m.Update(u32(0), u32(3), 0); Errno(err) != unix.EBADF {
		t.Fatal(err)
	}
	if err := m.Delete(u32(3)); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(u32(3)); Errno(err) != unix.ENOENT {
		t.Fatal(err)
	}
	if ret := perfRun(t, p, 3, 0, PerfCurrentCPU, 8); ret != -int64(unix.ENOENT) {
		t.Fatalf("detached: %d", ret)
	}
	// Close wakes a blocked Read and detaches the reader.
	r.SetDeadline(time.Time{})
	errc := make(chan error)
	go func() {
		_, err := r.Read()
		errc <- err
	}()
	time.Sleep(5 * time.Millisecond)
	r.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if ret := perfRun(t, p, 0, 0, PerfCurrentCPU, 8); ret != -int64(unix.ENOENT) {
		t.Fatalf("closed: %d", ret)
	}
	// Bad input.
	if _, err := NewPerfReader(m, 0); err == nil {
		t.Fatal("buffer 0")
	}
	small := mustNew(t, Spec{Type: PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 2, NumCPU: 4})
	if _, err := NewPerfReader(small, 4096); Errno(err) != unix.E2BIG {
		t.Fatal(err)
	}
	if _, err := NewPerfReader(mustNew(t, Spec{Type: RingBuf, MaxEntries: 4096}), 4096); err == nil {
		t.Fatal("perf reader of a ring buffer")
	}
}

func TestPerfConcurrent(t *testing.T) {
	const ncpu, each = 4, 3000
	m := mustNew(t, Spec{Type: PerfEventArray, KeySize: 4, ValueSize: 4, NumCPU: ncpu})
	h := Handle(m)
	defer Release(m)
	p := loadProg(t, perfProgram(h))
	// Big enough for every sample: a sample lost at the very end would
	// only be reported before a next sample that never comes, and the
	// loop below would wait for it forever. Lost-sample accounting is
	// tested on its own above.
	r, err := NewPerfReader(m, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var wg sync.WaitGroup
	for cpu := 0; cpu < ncpu; cpu++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				perfRun(t, p, cpu, uint64(i), PerfCurrentCPU, 8)
			}
		}()
	}
	next := make([]uint64, ncpu)
	var lost, got uint64
	for got+lost < ncpu*each {
		r.SetDeadline(time.Now().Add(5 * time.Second))
		rec, err := r.Read()
		if err != nil {
			t.Fatalf("after %d: %v", got, err)
		}
		if rec.LostSamples > 0 {
			lost += rec.LostSamples
			next[rec.CPU] += rec.LostSamples
			continue
		}
		v := binary.NativeEndian.Uint64(rec.RawSample)
		if v < next[rec.CPU] {
			t.Fatalf("cpu %d: sample %d after %d", rec.CPU, v, next[rec.CPU])
		}
		next[rec.CPU] = v + 1
		got++
	}
	wg.Wait()
	t.Logf("%d samples, %d lost", got, lost)
}

func TestMmap(t *testing.T) {
	m := mustNew(t, Spec{Type: Array, KeySize: 4, ValueSize: 3, MaxEntries: 1000, Flags: FlagMmapable})
	b, err := m.Mmap()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 8192 || interp.Addr(b)%pageSize != 0 {
		t.Fatalf("mapping of %d bytes at %#x", len(b), interp.Addr(b))
	}
	b[8*999+2] = 9
	if v, _ := m.Lookup(u32(999)); v[2] != 9 {
		t.Fatalf("value %x", v)
	}
	m.Update(u32(5), []byte{1, 2, 3}, 0)
	if b[40] != 1 || b[42] != 3 {
		t.Fatal("update not visible")
	}
	b2, _ := m.Mmap()
	if Errno(m.Freeze()) != unix.EBUSY {
		t.Fatal("freeze with mappings")
	}
	m.Munmap(b)
	if Errno(m.Freeze()) != unix.EBUSY {
		t.Fatal("freeze with a mapping")
	}
	m.Munmap(b2)
	if err := m.Munmap(b2); err == nil {
		t.Fatal("munmap twice")
	}
	if err := m.Munmap(make([]byte, 8)); err == nil {
		t.Fatal("munmap of another slice")
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Mmap(); Errno(err) != unix.EPERM {
		t.Fatal(err)
	}
	for _, s := range []Spec{
		{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 1},
		{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagMmapable | FlagRdonly},
		{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1},
		{Type: RingBuf, MaxEntries: 4096},
	} {
		if _, err := mustNew(t, s).Mmap(); err == nil {
			t.Fatalf("%+v: mapped", s)
		}
	}
}
