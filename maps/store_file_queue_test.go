package maps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// diffOps is how many random operations each differential test runs per
// map spec.
const diffOps = 6000

// sameResult fails the test when the two maps' answers differ.
func sameResult(t *testing.T, op int, what string, r1, r2 []byte, e1, e2 error) {
	t.Helper()
	if Errno(e1) != Errno(e2) || !bytes.Equal(r1, r2) {
		t.Fatalf("op %d %s: memory (%x, %v) file (%x, %v)", op, what, r1, e1, r2, e2)
	}
}

// drain pops a queue or stack empty and returns what it popped.
func drain(t *testing.T, m Map) [][]byte {
	t.Helper()
	var out [][]byte
	for range m.Spec().MaxEntries + 1 {
		v := make([]byte, m.UserValueSize())
		if err := m.Pop(v); err != nil {
			if !errors.Is(err, unix.ENOENT) {
				t.Fatal(err)
			}
			return out
		}
		out = append(out, v)
	}
	t.Fatal("queue does not end")
	return nil
}

func TestFileQueueMatchesMemory(t *testing.T) {
	for _, typ := range []Type{Queue, Stack} {
		for _, vs := range []uint32{8, 5} {
			t.Run(fmt.Sprintf("%v/value%d", typ, vs), func(t *testing.T) {
				spec := Spec{Name: "q", Type: typ, ValueSize: vs, MaxEntries: 7, NumCPU: 2}
				mem, err := New(spec)
				if err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(t.TempDir(), "q")
				f, err := NewFile(spec, p)
				if err != nil {
					t.Fatal(err)
				}
				defer CloseFile(f)
				rnd := rand.New(rand.NewPCG(1, uint64(typ)*10+uint64(vs)))
				ops := 0
				for op := range diffOps {
					v := make([]byte, vs)
					for i := range v {
						v[i] = byte(rnd.IntN(256))
					}
					d1, d2 := make([]byte, vs), make([]byte, vs)
					var e1, e2 error
					var r1, r2 []byte
					switch k := rnd.IntN(10); k {
					case 0, 1, 2:
						fl := uint64(rnd.IntN(5))
						e1, e2 = mem.Push(v, fl), f.Push(v, fl)
					case 3:
						e1, e2 = mem.Pop(d1), f.Pop(d2)
						r1, r2 = d1, d2
					case 4:
						e1, e2 = mem.Peek(d1), f.Peek(d2)
						r1, r2 = d1, d2
					case 5:
						fl := uint64(rnd.IntN(3))
						e1, e2 = mem.PushElem(v, fl, 1), f.PushElem(v, fl, 1)
					case 6:
						e1, e2 = mem.PopElem(d1, 0), f.PopElem(d2, 0)
						r1, r2 = d1, d2
					case 7:
						e1, e2 = mem.PeekElem(d1, 1), f.PeekElem(d2, 1)
						r1, r2 = d1, d2
					case 8:
						r1, e1 = mem.LookupAndDelete(nil)
						r2, e2 = f.LookupAndDelete(nil)
					case 9:
						switch rnd.IntN(5) {
						case 0:
							e1, e2 = mem.Delete(nil), f.Delete(nil)
						case 1:
							r1, e1 = mem.NextKey(nil)
							r2, e2 = f.NextKey(nil)
						case 2:
							_, _, e1 = mem.BatchLookup(nil, make([]byte, 0), make([]byte, 4*vs), 0)
							_, _, e2 = f.BatchLookup(nil, make([]byte, 0), make([]byte, 4*vs), 0)
						case 3:
							r1, e1 = mem.Lookup(nil)
							r2, e2 = f.Lookup(nil)
						case 4:
							e1, e2 = mem.Update(nil, v, UpdateExist), f.Update(nil, v, UpdateExist)
						}
					}
					sameResult(t, op, "", r1, r2, e1, e2)
					ops++
				}
				// A second handle sees the same contents.
				f2, err := OpenFile(p)
				if err != nil {
					t.Fatal(err)
				}
				defer CloseFile(f2)
				a, b := drain(t, mem), drain(t, f2)
				if !slices.EqualFunc(a, b, bytes.Equal) {
					t.Fatalf("contents: memory %x, file %x", a, b)
				}
				t.Logf("%v: %d operations compared", typ, ops)
			})
		}
	}
}

func TestFileQueueMigrateAndFreeze(t *testing.T) {
	dir := t.TempDir()
	for _, typ := range []Type{Queue, Stack} {
		spec := Spec{Name: "q", Type: typ, ValueSize: 4, MaxEntries: 5}
		mem, _ := New(spec)
		for i := range uint32(8) {
			mem.Push(u32key(i), UpdateExist)
		}
		mem.Pop(make([]byte, 4))
		p := filepath.Join(dir, typ.String())
		f, err := MigrateToFile(mem, p)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := drain(t, mem), drain(t, f); !slices.EqualFunc(a, b, bytes.Equal) {
			t.Fatalf("%v migrated: %x, want %x", typ, b, a)
		}
		f.Push(u32key(1), 0)
		f2, err := OpenFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := FreezeFile(f); err != nil {
			t.Fatal(err)
		}
		if err := f2.Push(u32key(2), 0); !errors.Is(err, unix.EPERM) {
			t.Fatalf("push after another handle froze: %v", err)
		}
		// Programs may still push into a frozen map.
		if err := f2.PushElem(u32key(2), 0, 0); err != nil {
			t.Fatal(err)
		}
		CloseFile(f)
		if err := f.Peek(make([]byte, 4)); !errors.Is(err, unix.EBADF) {
			t.Fatalf("after close: %v", err)
		}
		CloseFile(f2)
	}
}

func TestFileQueueCorrupt(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "q")
	m, err := NewFile(Spec{Name: "q", Type: Queue, ValueSize: 8, MaxEntries: 16}, p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint64(5) {
		m.Push(u64val(i), 0)
	}
	CloseFile(m)
	good, _ := os.ReadFile(p)
	q := filepath.Join(dir, "c")
	for _, n := range []int{0, 100, fileHeaderSize, len(good) - 8} {
		os.WriteFile(q, good[:n], 0o600)
		if _, err := OpenFile(q); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	for _, c := range []struct{ off, v int }{{hQHead, 16}, {hQTail, 1 << 30}, {hCount, 17}, {hCount, 4}, {hQTail, 3}} {
		b := bytes.Clone(good)
		binary.NativeEndian.PutUint32(b[c.off:], uint32(c.v))
		os.WriteFile(q, b, 0o600)
		cm, err := OpenFile(q)
		if err != nil {
			t.Fatal(err)
		}
		v := make([]byte, 8)
		if err := cm.Pop(v); !errors.Is(err, unix.EIO) {
			t.Fatalf("word %d = %d: pop %v", c.off, c.v, err)
		}
		if err := cm.Push(v, 0); !errors.Is(err, unix.EIO) {
			t.Fatalf("word %d = %d: push %v", c.off, c.v, err)
		}
		CloseFile(cm)
	}
}

// Cross-process tests: the test binary re-executes itself with
// fileHelperEnv set to "kind:path"; TestFileCrossProcHelper then does the
// child's half.

const fileHelperEnv = "GOBEE_MAPS_FILE_HELPER"

func TestFileCrossProcHelper(t *testing.T) {
	arg := os.Getenv(fileHelperEnv)
	if arg == "" {
		t.Skip("helper process only")
	}
	kind, path, _ := strings.Cut(arg, ":")
	m, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseFile(m)
	// Tell the parent we are here, so that both work at the same time.
	if err := os.WriteFile(path+".ready", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	switch kind {
	case "queue":
		popped, err := queueWorker(m, 1)
		if err != nil {
			t.Fatal(err)
		}
		var b []byte
		for _, v := range popped {
			b = binary.NativeEndian.AppendUint64(b, v)
		}
		if err := os.WriteFile(path+".child", b, 0o600); err != nil {
			t.Fatal(err)
		}
	case "lpm":
		if err := lpmWorker(m, 0x0b); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown helper %q", kind)
	}
}

// runHelper starts the child half of a cross-process test.
func runHelper(t *testing.T, kind, path string) (wait func() error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileCrossProcHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), fileHelperEnv+"="+kind+":"+path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(path + ".ready"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("helper did not start:\n%s", out.String())
		}
	}
	return func() error {
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("helper: %v\n%s", err, out.String())
		}
		return nil
	}
}

const crossPushes = 20000

// queueWorker pushes crossPushes values tagged with producer (in
// increasing order) and pops as often, retrying a push that finds the
// queue full; it returns what it popped.
func queueWorker(m Map, producer uint64) ([]uint64, error) {
	var popped []uint64
	v := make([]byte, 8)
	pop := func() error {
		err := m.Pop(v)
		if err == nil {
			popped = append(popped, binary.NativeEndian.Uint64(v))
		} else if !errors.Is(err, unix.ENOENT) {
			return err
		}
		return nil
	}
	for i := range uint64(crossPushes) {
		for {
			err := m.Push(binary.NativeEndian.AppendUint64(nil, producer<<32|i), UpdateAny)
			if err == nil {
				break
			}
			if !errors.Is(err, unix.E2BIG) {
				return nil, fmt.Errorf("push: %w", err)
			}
			if err := pop(); err != nil {
				return nil, err
			}
		}
		if i%2 == 0 {
			if err := pop(); err != nil {
				return nil, err
			}
		}
	}
	return popped, nil
}

func TestFileQueueCrossProcess(t *testing.T) {
	if os.Getenv(fileHelperEnv) != "" {
		t.Skip()
	}
	p := filepath.Join(t.TempDir(), "q")
	m, err := NewFile(Spec{Name: "q", Type: Queue, ValueSize: 8, MaxEntries: 64}, p)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseFile(m)
	wait := runHelper(t, "queue", p)
	mine, err := queueWorker(m, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p + ".child")
	if err != nil {
		t.Fatal(err)
	}
	var theirs []uint64
	for i := 0; i+8 <= len(b); i += 8 {
		theirs = append(theirs, binary.NativeEndian.Uint64(b[i:]))
	}
	var rest []uint64
	for _, v := range drain(t, m) {
		rest = append(rest, binary.NativeEndian.Uint64(v))
	}
	// Every value pushed is popped exactly once, and each consumer sees
	// each producer's values in FIFO order.
	seen := map[uint64]int{}
	for _, list := range [][]uint64{mine, theirs, rest} {
		last := map[uint64]int64{0: -1, 1: -1}
		for _, v := range list {
			seen[v]++
			prod, i := v>>32, int64(v&0xffffffff)
			if prod > 1 || i >= crossPushes {
				t.Fatalf("popped a value never pushed: %#x", v)
			}
			if i <= last[prod] {
				t.Fatalf("producer %d's values out of order: %d after %d", prod, i, last[prod])
			}
			last[prod] = i
		}
	}
	if len(seen) != 2*crossPushes {
		t.Fatalf("%d distinct values popped, want %d", len(seen), 2*crossPushes)
	}
	for v, n := range seen {
		if n != 1 {
			t.Fatalf("value %#x popped %d times", v, n)
		}
	}
	crossed := 0
	for _, v := range mine {
		crossed += int(v >> 32)
	}
	t.Logf("queue across processes: %d pushes, popped %d here (%d of them pushed there), %d there, %d left",
		2*crossPushes, len(mine), crossed, len(theirs), len(rest))
}

// Two goroutines with one handle each in one process: the local mutex and
// the shared word together.
func TestFileQueueGoroutines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "q")
	m, err := NewFile(Spec{Name: "q", Type: Stack, ValueSize: 8, MaxEntries: 32}, p)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseFile(m)
	m2, err := OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseFile(m2)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for i, h := range []Map{m, m2} {
		wg.Go(func() {
			v := make([]byte, 8)
			n := 0
			for j := range 2000 {
				if h.Push(u64val(uint64(i<<20|j)), UpdateAny) == nil {
					n++
				}
				if h.Pop(v) == nil {
					n--
				}
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if got := len(drain(t, m)); got != total {
		t.Fatalf("%d left, pushes minus pops %d", got, total)
	}
}
