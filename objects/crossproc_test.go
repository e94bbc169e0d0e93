package objects

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// The cross-process test: the parent creates a pinned hash map and an
// array, re-executes the test binary as a helper process that opens them
// with LoadPinnedMap, and both update, delete, re-insert and read them at
// the same time. Values are 8 copies of one uint64, so a torn read shows.
// Each side waits for the other's "done" marker, then both check the final
// contents.

const (
	helperEnv  = "GOBEE_TEST_HELPER"
	crossKeys  = 200
	crossRound = 300
	markParent = 100000
	markChild  = 100001
	markStart  = 100002
)

type val [8]uint64

func mkval(v uint64) val {
	var x val
	for i := range x {
		x[i] = v
	}
	return x
}

func check(v val) error {
	for i := range v {
		if v[i] != v[0] {
			return fmt.Errorf("torn value %v", v)
		}
	}
	return nil
}

// work updates keys [base, base+crossKeys) for crossRound rounds (deleting
// and re-inserting half of them each round, so freed elements are reused
// while the other process inserts) and reads the other side's keys.
func work(h, a *Map, base, other uint32, me uint32) error {
	for r := range uint64(crossRound) {
		for i := range uint32(crossKeys) {
			k := base + i
			if i%2 == 0 {
				if err := h.Delete(k); err != nil && r > 0 {
					return fmt.Errorf("delete %d: %w", k, err)
				}
			}
			if err := h.Put(k, mkval(uint64(k)*1000+r)); err != nil {
				return fmt.Errorf("put %d: %w", k, err)
			}
			var v val
			if err := h.Lookup(other+i, &v); err == nil {
				if err := check(v); err != nil {
					return err
				}
			}
			if err := a.Put(me, mkval(r)); err != nil {
				return err
			}
			if err := a.Lookup(1-me, &v); err != nil {
				return err
			} else if err := check(v); err != nil {
				return err
			}
		}
	}
	return nil
}

func finalCheck(h, a *Map) error {
	for _, base := range []uint32{0, 1000} {
		for i := range uint32(crossKeys) {
			var v val
			k := base + i
			if err := h.Lookup(k, &v); err != nil {
				return fmt.Errorf("final key %d: %w", k, err)
			}
			if want := mkval(uint64(k)*1000 + crossRound - 1); v != want {
				return fmt.Errorf("final key %d = %v, want %v", k, v[0], want[0])
			}
		}
	}
	for cpu := range uint32(2) {
		var v val
		if err := a.Lookup(cpu, &v); err != nil || v != mkval(crossRound-1) {
			return fmt.Errorf("final array[%d] = %v %v", cpu, v[0], err)
		}
	}
	n := 0
	var k uint32
	var v val
	it := h.Iterate()
	for it.Next(&k, &v) {
		n++
	}
	if it.Err() != nil || n != 2*crossKeys+3 {
		return fmt.Errorf("iteration found %d keys (%v), want %d", n, it.Err(), 2*crossKeys+3)
	}
	return nil
}

func waitFor(h *Map, key uint32) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var v val
		if h.Lookup(key, &v) == nil {
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("timed out waiting for marker %d", key)
}

func openBoth(r *Registry) (*Map, *Map, error) {
	h, err := r.LoadPinnedMap("cross_hash")
	if err != nil {
		return nil, nil, err
	}
	a, err := r.LoadPinnedMap("cross_array")
	if err != nil {
		h.Close()
		return nil, nil, err
	}
	return h, a, nil
}

// TestHelperProcess is the second process of TestCrossProcess.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("helper process only")
	}
	r := NewRegistry() // GOBEE_PIN_ROOT from the parent
	h, a, err := openBoth(r)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	defer a.Close()
	if err := h.Put(uint32(markStart), mkval(1)); err != nil {
		t.Fatal(err)
	}
	if err := work(h, a, 1000, 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := h.Put(uint32(markChild), mkval(1)); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(h, markParent); err != nil {
		t.Fatal(err)
	}
	if err := finalCheck(h, a); err != nil {
		t.Fatal(err)
	}
}

func TestCrossProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "1" {
		t.Skip("in the helper")
	}
	root := t.TempDir()
	r := NewRegistry(WithPinRoot(root))
	h, err := r.NewMapWithOptions(&MapSpec{Name: "cross_hash", Type: Hash, KeySize: 4, ValueSize: 64,
		MaxEntries: 2*crossKeys + 8, Pinning: PinByName}, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// The array starts in memory and is pinned (migrated) before the
	// helper starts.
	a, err := r.NewMap(&MapSpec{Type: Array, KeySize: 4, ValueSize: 64, MaxEntries: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Pin("cross_array"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"=1", PinRootEnv+"="+root)
	out := &syncBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Start together, so the two really run at the same time.
	werr := waitFor(h, markStart)
	if werr == nil {
		werr = work(h, a, 0, 1000, 0)
	}
	if werr == nil {
		werr = h.Put(uint32(markParent), mkval(1))
	}
	if werr == nil {
		werr = waitFor(h, markChild)
	}
	cerr := cmd.Wait()
	if werr != nil {
		t.Fatalf("parent: %v\nhelper output:\n%s", werr, out.String())
	}
	if cerr != nil {
		t.Fatalf("helper: %v\n%s", cerr, out.String())
	}
	if err := finalCheck(h, a); err != nil {
		t.Fatal(err)
	}
	t.Logf("helper:\n%s", out.String())
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
