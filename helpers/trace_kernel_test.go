package helpers_test

// The trace differential test's programs; the object is committed.
//go:generate clang-19 -O2 -g -target bpf -mcpu=v3 -I/usr/include/x86_64-linux-gnu -c ../testdata/helpers/trace.c -o ../testdata/helpers/trace.o

import (
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/gobee-dev/gobee/internal/testutil"
	"github.com/gobee-dev/gobee/internal/tracefs"
	"github.com/gobee-dev/gobee/objects"
)

const traceObj = "../testdata/helpers/trace.o"

// flagsRE is the shape of the flags field of a trace line: irqs-off
// (or BH-off), need-resched, hardirq/softirq, preempt depth,
// migrate-disable depth.
var flagsRE = regexp.MustCompile(`^[.dDbX][.nNpL][.hHsSzZ][.0-9a-f][.0-9a-f]$`)

// TestKernelTraceDifferential runs trace.o's XDP program and socket
// filter over many random packets under gobee (package objects) and under
// the kernel's BPF_PROG_TEST_RUN (cilium/ebpf), and compares return
// values, the bpf_trace_printk lines (message exactly, the rest of the
// line structurally) and the maps' contents afterwards. The kernel's
// lines are read from trace_pipe after clearing the buffer and kept only
// if they come from this test's thread (test runs execute in the
// caller's task, so the line's pid is the calling thread's id).
func TestKernelTraceDifferential(t *testing.T) {
	testutil.RequireKernel(t)
	dir, err := tracefs.Mount()
	if err != nil {
		t.Skipf("kernel trace output unavailable (run as root, or mount -t tracefs nodev /sys/kernel/tracing): %v", err)
	}
	kspec, err := ebpf.LoadCollectionSpec(traceObj)
	if err != nil {
		t.Fatal(err)
	}
	kcoll, err := ebpf.NewCollection(kspec)
	if err != nil {
		t.Fatalf("kernel load: %v", err)
	}
	defer kcoll.Close()
	gspec, err := objects.LoadCollectionSpec(traceObj)
	if err != nil {
		t.Fatal(err)
	}
	gcoll, err := objects.NewCollectionWithOptions(gspec, objects.CollectionOptions{})
	if err != nil {
		t.Fatalf("gobee load: %v", err)
	}
	defer gcoll.Close()
	gcoll.TracePipe().ShareTo("")

	// Test runs execute in the calling thread: stay on one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tasks := tracefs.Tasks{tracefs.Gettid(): true}
	comm := tracefs.Comm()
	// Open (and so lock) the pipe before clearing the buffer, so that no
	// other gobee reader is mid-run when its lines are dropped.
	pipe, err := tracefs.OpenPipe(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close()
	if err := tracefs.Clear(dir); err != nil {
		t.Fatalf("clearing the trace buffer: %v", err)
	}
	keep := tasks.Keep(comm)

	rng := rand.New(rand.NewPCG(7, 11))
	lines, runs, fails := 0, 0, 0
	flagDiffs := map[string]int{}
	var lastNanos uint64
	for _, name := range []string{"trace_xdp", "trace_skb"} {
		kp, gp := kcoll.Programs[name], gcoll.Programs[name]
		if kp == nil || gp == nil {
			t.Fatalf("no program %s", name)
		}
		for i := 0; i < 1200 && fails < 10; i++ {
			pkt := make([]byte, 64+rng.IntN(64))
			for k := range pkt {
				pkt[k] = byte(rng.Uint32())
			}
			if rng.IntN(4) == 0 { // printable strings
				for k := 32; k < 64; k++ {
					pkt[k] = byte(' ' + rng.IntN(95))
				}
			}
			pkt[0] = byte(i % 20)
			pkt[1] = byte(rng.IntN(24))
			kret, err := kp.Run(&ebpf.RunOptions{Data: pkt})
			if err != nil {
				t.Fatalf("%s: kernel run: %v", name, err)
			}
			gret, err := gp.Run(&objects.RunOptions{Data: pkt})
			if err != nil {
				t.Fatalf("%s: gobee run: %v", name, err)
			}
			runs++
			glines := tracefs.Records(gcoll.TracePipe().Drain())
			klines, err := pipe.ReadUntil(time.Now().Add(2*time.Second), len(glines), keep)
			if err != nil {
				t.Fatalf("reading trace_pipe: %v", err)
			}
			if kret != gret {
				t.Errorf("%s run %d (format %d): kernel returned %d, gobee %d", name, i, pkt[0], kret, gret)
				fails++
			}
			if len(klines) != len(glines) {
				t.Errorf("%s run %d (format %d): kernel wrote %d lines %q, gobee %d %q", name, i, pkt[0], len(klines), klines, len(glines), glines)
				fails++
				continue
			}
			for k := range klines {
				kl, err1 := tracefs.Parse(klines[k])
				gl, err2 := tracefs.Parse(glines[k])
				if err1 != nil || err2 != nil {
					t.Errorf("%s run %d: unparsable line: %v %v", name, i, err1, err2)
					fails++
					continue
				}
				lines++
				if kl.Msg != gl.Msg || kl.Event != gl.Event {
					t.Errorf("%s run %d (format %d): message differs\nkernel %q\ngobee  %q\ninput % x", name, i, pkt[0], klines[k], glines[k], pkt[:64])
					fails++
				}
				if kl.Comm != gl.Comm && kl.Comm != tracefs.UnknownComm {
					t.Errorf("%s run %d: comm: kernel %q, gobee %q", name, i, kl.Comm, gl.Comm)
					fails++
				}
				if !flagsRE.MatchString(gl.Flags) || !flagsRE.MatchString(kl.Flags) {
					t.Errorf("%s run %d: flags field: kernel %q, gobee %q", name, i, kl.Flags, gl.Flags)
					fails++
				}
				// The second character is need-resched ('n'/'N'), which
				// depends on the host scheduler at that moment.
				if maskNeedResched(kl.Flags) != maskNeedResched(gl.Flags) {
					flagDiffs[fmt.Sprintf("%s: kernel %s, gobee %s", name, kl.Flags, gl.Flags)]++
					fails++
				}
				// Both print the id of the thread that ran the program:
				// this one, locked above.
				if kl.Pid != gl.Pid {
					t.Errorf("%s run %d: pid: kernel %d, gobee %d", name, i, kl.Pid, gl.Pid)
					fails++
				}
				if gl.Pid <= 0 || gl.CPU < 0 || gl.CPU >= runtime.NumCPU() || gl.Usecs >= 1e6 {
					t.Errorf("%s run %d: gobee line %q out of range", name, i, glines[k])
					fails++
				}
				// The structure around the numbers: widths as the kernel's.
				if shape(klines[k], kl) != shape(glines[k], gl) {
					t.Errorf("%s run %d: line layout differs\nkernel %q\ngobee  %q", name, i, klines[k], glines[k])
					fails++
				}
				if ns := gl.Secs*1e9 + gl.Usecs*1e3; ns < lastNanos {
					t.Errorf("%s run %d: gobee timestamp went back: %q", name, i, glines[k])
					fails++
				} else {
					lastNanos = ns
				}
			}
		}
	}
	// Nothing left over on either side.
	if extra, _ := pipe.ReadUntil(time.Now().Add(50*time.Millisecond), 1, keep); len(extra) > 0 {
		t.Errorf("the kernel wrote %d more lines: %q", len(extra), extra)
	}
	if extra := gcoll.TracePipe().Drain(); len(extra) > 0 {
		t.Errorf("gobee wrote more lines: %q", extra)
	}
	entries := 0
	for _, name := range []string{"trace_counts", "trace_last"} {
		km, gm := dumpKernelMap(t, kcoll.Maps[name]), dumpGobeeMap(t, gcoll.Maps[name])
		if !equalDumps(km, gm) {
			t.Errorf("map %s differs:\nkernel %v\ngobee  %v", name, km, gm)
		}
		entries += len(km)
	}
	for d, n := range flagDiffs {
		// BPF_PROG_TEST_RUN disables bottom halves around packet
		// programs: both must say "b..11".
		t.Errorf("flags field differs in %d lines: %s", n, d)
	}
	if lines == 0 {
		t.Fatal("no trace lines compared")
	}
	msg := fmt.Sprintf("helpers: compared %d trace lines against the kernel (%d runs, %d map entries)", lines, runs, entries)
	t.Log(msg)
	fmt.Fprintln(os.Stderr, msg)
}

// maskNeedResched blanks the need-resched position of a flags field.
func maskNeedResched(f string) string {
	if len(f) < 2 {
		return f
	}
	return f[:1] + "." + f[2:]
}

// shape is a line with comm, pid, cpu, flags and the timestamp's digits
// replaced by placeholders of the same width.
func shape(s string, l tracefs.Line) string {
	i := strings.Index(s, ": "+l.Event+": ")
	if i < 0 {
		return s
	}
	head := s[:i]
	var b strings.Builder
	for _, c := range head {
		switch c {
		case ' ', '[', ']':
			b.WriteRune(c)
		default:
			b.WriteByte('x')
		}
	}
	// comm and flags vary: compare only the column positions of the
	// fields after the comm-pid column (it is 24 wide, but a long comm
	// can widen it).
	return b.String()[max(0, len(head)-len(" [999] xxxxx 99999.999999")):]
}

type kv struct{ k, v string }

func dumpKernelMap(t *testing.T, m *ebpf.Map) []kv {
	t.Helper()
	var out []kv
	var k, v []byte
	it := m.Iterate()
	for it.Next(&k, &v) {
		out = append(out, kv{fmt.Sprintf("% x", k), fmt.Sprintf("% x", v)})
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].k < out[j].k })
	return out
}

func dumpGobeeMap(t *testing.T, m *objects.Map) []kv {
	t.Helper()
	var out []kv
	var k, v []byte
	it := m.Iterate()
	for it.Next(&k, &v) {
		out = append(out, kv{fmt.Sprintf("% x", k), fmt.Sprintf("% x", v)})
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].k < out[j].k })
	return out
}

func equalDumps(a, b []kv) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
