package maps

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
)

// loadChecked is loadText with the helpers wrapped by LockChecked, as
// objects builds helper tables.
func loadChecked(t *testing.T, src string) *interp.Program {
	t.Helper()
	insns, err := isa.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	h := Helpers()
	for id, f := range CallbackHelpers() {
		h[id] = f
	}
	for id, f := range h {
		h[id] = LockChecked(id, f)
	}
	p, err := interp.Load(insns, &interp.Options{Helpers: h})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func lockSpec() Spec {
	return Spec{Type: Array, KeySize: 4, ValueSize: 16, MaxEntries: 2,
		Fields: [MaxFields]Field{{Kind: FieldSpinLock, Offset: 4}}}
}

func TestFieldsCreate(t *testing.T) {
	for _, c := range []struct {
		name  string
		s     Spec
		errno unix.Errno
	}{
		{"ok", lockSpec(), 0},
		{"both", Spec{Type: Hash, KeySize: 4, ValueSize: 24, MaxEntries: 1, Fields: [MaxFields]Field{{FieldTimer, 0}, {FieldSpinLock, 16}}}, 0},
		{"two locks", Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Fields: [MaxFields]Field{{FieldSpinLock, 0}, {FieldSpinLock, 4}}}, unix.E2BIG},
		{"misaligned", Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Fields: [MaxFields]Field{{FieldSpinLock, 2}}}, unix.EINVAL},
		{"outside", Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Fields: [MaxFields]Field{{FieldTimer, 0}}}, unix.EINVAL},
		{"overlap", Spec{Type: Hash, KeySize: 4, ValueSize: 24, MaxEntries: 1, Fields: [MaxFields]Field{{FieldTimer, 0}, {FieldSpinLock, 4}}}, unix.EINVAL},
		{"percpu", Spec{Type: PerCPUHash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Fields: [MaxFields]Field{{FieldSpinLock, 0}}}, unix.EOPNOTSUPP},
		{"lru lock", Spec{Type: LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Fields: [MaxFields]Field{{FieldSpinLock, 0}}}, unix.EOPNOTSUPP},
		{"lru timer", Spec{Type: LRUHash, KeySize: 4, ValueSize: 16, MaxEntries: 1, Fields: [MaxFields]Field{{FieldTimer, 0}}}, 0},
		{"rdonly prog", Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagRdonlyProg, Fields: [MaxFields]Field{{FieldSpinLock, 0}}}, unix.EACCES},
	} {
		m, err := New(c.s)
		if Errno(err) != c.errno {
			t.Errorf("%s: %v, want errno %d", c.name, err, c.errno)
		}
		if err == nil {
			if got := m.Spec(); got.SpinLockOff() != c.s.SpinLockOff() || got.TimerOff() != c.s.TimerOff() {
				t.Errorf("%s: offsets %d %d", c.name, got.SpinLockOff(), got.TimerOff())
			}
		}
	}
	if s := (Spec{}); s.SpinLockOff() != -1 || s.TimerOff() != -1 {
		t.Fatal("a spec without fields has offsets")
	}
}

// Plain updates never write the live lock word; lookups read it as 0;
// BPF_F_LOCK waits for a program's lock.
func TestLockFlagUser(t *testing.T) {
	m := mustNew(t, lockSpec())
	live := m.LookupElem(u32(1), 0)
	lw := live[4:8]
	binary.NativeEndian.PutUint32(lw, 1) // held by "a program"
	v := []byte{1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 9, 10, 11, 12, 13, 14, 15, 16}
	if err := m.Update(u32(1), v, UpdateAny); err != nil {
		t.Fatal(err)
	}
	if binary.NativeEndian.Uint32(lw) != 1 {
		t.Fatal("a plain update overwrote the lock word")
	}
	got, _ := m.Lookup(u32(1))
	want := append(append(append([]byte{}, v[:4]...), 0, 0, 0, 0), v[8:]...)
	if string(got) != string(want) {
		t.Fatalf("lookup %x, want %x", got, want)
	}
	done := make(chan error)
	go func() { done <- m.Update(u32(1), make([]byte, 16), UpdateLock) }()
	select {
	case <-done:
		t.Fatal("BPF_F_LOCK update did not wait for the held lock")
	case <-time.After(20 * time.Millisecond):
	}
	spinRelease((*uint32)(ptrOf(lw)))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, _ := m.LookupFlags(u32(1), UpdateLock); string(got) != string(make([]byte, 16)) {
		t.Fatalf("locked lookup %x", got)
	}
	// The flag checks.
	plain := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err := plain.Update(u32(0), make([]byte, 8), UpdateLock); Errno(err) != unix.EINVAL {
		t.Fatalf("BPF_F_LOCK without a lock: %v", err)
	}
	if _, err := plain.LookupFlags(u32(0), UpdateLock); Errno(err) != unix.EINVAL {
		t.Fatalf("locked lookup without a lock: %v", err)
	}
	if _, err := m.LookupFlags(u32(0), 8); Errno(err) != unix.EINVAL {
		t.Fatalf("lookup flag 8: %v", err)
	}
	if err := m.Update(u32(0), make([]byte, 16), UpdateLock|UpdateNoExist); Errno(err) != unix.EEXIST {
		t.Fatalf("array BPF_F_LOCK|BPF_NOEXIST: %v", err)
	}
}

// lockRulesSrc takes the lock of element 0 and then, by mode: 0 unlocks
// and exits; 1 locks again; 2 calls bpf_map_lookup_elem; 3 exits holding
// it; 4 unlocks a lock it does not hold (the other element's).
const lockRulesSrc = `
	*(u32 *)(r10 - 4) = 0
	r1 = %[1]d ll
	r2 = r10
	r2 += -4
	call 1
	if r0 == 0 goto out
	r6 = r0
	r1 = r6
	r1 += 4
	call 93
	r7 = %[2]d
	if r7 == 1 goto relock
	if r7 == 2 goto helper
	if r7 == 3 goto out
	if r7 == 4 goto other
	r1 = r6
	r1 += 4
	call 94
	goto out
relock:
	r1 = r6
	r1 += 4
	call 93
	goto out
helper:
	r1 = %[1]d ll
	r2 = r10
	r2 += -4
	call 1
	goto out
other:
	r1 = r6
	call 94
out:
	r0 = 0
	exit
`

func TestLockRules(t *testing.T) {
	m := mustNew(t, lockSpec())
	h := Handle(m)
	for mode, want := range map[int]string{1: "one lock at a time", 2: "helper 1 called while holding", 4: "but the run holds"} {
		p := loadChecked(t, fmt.Sprintf(lockRulesSrc, h, mode))
		_, err := p.Run(&interp.Input{})
		var re *interp.RuntimeError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), want) {
			t.Fatalf("mode %d: %v, want a runtime error with %q", mode, err, want)
		}
		// The failed run's exit hook released the lock it held.
		if w := *(*uint32)(ptrOf(m.LookupElem(u32(0), 0)[4:8])); w != 0 {
			t.Fatalf("mode %d: the lock word is %d after the failed run", mode, w)
		}
	}
	ok := loadChecked(t, fmt.Sprintf(lockRulesSrc, h, 0))
	for i := 0; i < 3; i++ {
		if _, err := ok.Run(&interp.Input{}); err != nil {
			t.Fatal(err)
		}
	}
	// Exiting with the lock held fails that run and releases the lock, so
	// the next run takes it again.
	leak := loadChecked(t, fmt.Sprintf(lockRulesSrc, h, 3))
	for i := 0; i < 2; i++ {
		_, err := leak.Run(&interp.Input{})
		var re *interp.RuntimeError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "BPF_EXIT while holding") {
			t.Fatalf("run %d exiting with the lock held: %v", i, err)
		}
	}
	if w := *(*uint32)(ptrOf(m.LookupElem(u32(0), 0)[4:8])); w != 0 {
		t.Fatalf("the lock word is %d after runs that exited holding it", w)
	}
}

// timerOnlySrc arms element 0's timer (at offset 0) to fire after %[2]d
// ns; the callback increments the u64 at offset 16.
const timerOnlySrc = `
	*(u32 *)(r10 - 4) = 0
	r1 = %[1]d ll
	r2 = r10
	r2 += -4
	call 1
	if r0 == 0 goto out
	r6 = r0
	r1 = r6
	r2 = %[1]d ll
	r3 = 1
	call 169
	if r0 != 0 goto out
	r1 = r6
	r2 = func(cb) ll
	call 170
	r1 = r6
	r2 = %[2]d ll
	r3 = 0
	call 171
out:
	exit
cb:
	r1 = 1
	lock *(u64 *)(r3 + 16) += r1
	r0 = 0
	exit
`

func TestTimerCancelledOnRelease(t *testing.T) {
	spec := Spec{Type: Hash, KeySize: 4, ValueSize: 24, MaxEntries: 2, Fields: [MaxFields]Field{{FieldTimer, 0}}}
	m := mustNew(t, spec)
	if err := m.Update(u32(0), make([]byte, 24), UpdateAny); err != nil {
		t.Fatal(err)
	}
	p := loadChecked(t, fmt.Sprintf(timerOnlySrc, Handle(m), 30*time.Millisecond))
	if r, err := p.Run(&interp.Input{}); err != nil || r != 0 {
		t.Fatalf("arm: %d %v", int64(r), err)
	}
	live := m.LookupElem(u32(0), 0)
	if _, _, ok := TimerStats(live[:16]); !ok {
		t.Fatal("armed timer not initialised")
	}
	Release(m)
	// Freed at once: the word is cleared and the registry holds no timer
	// of the map.
	if _, _, ok := TimerStats(live[:16]); ok {
		t.Fatal("timer of a released map still registered")
	}
	if n := timersOf(m.(*object)); n != 0 {
		t.Fatalf("%d timers of a released map left in the registry", n)
	}
	time.Sleep(150 * time.Millisecond)
	if n := binary.NativeEndian.Uint64(live[16:]); n != 0 {
		t.Fatalf("the callback ran %d times after Release", n)
	}
}

// TestTimerReleaseRunning: Release racing a timer of 0 ns (its callback
// about to start or running) leaves no timer behind, and no callback runs
// after it returns.
func TestTimerReleaseRunning(t *testing.T) {
	spec := Spec{Type: Hash, KeySize: 4, ValueSize: 24, MaxEntries: 2, Fields: [MaxFields]Field{{FieldTimer, 0}}}
	for range 20 {
		m := mustNew(t, spec)
		if err := m.Update(u32(0), make([]byte, 24), UpdateAny); err != nil {
			t.Fatal(err)
		}
		p := loadChecked(t, fmt.Sprintf(timerOnlySrc, Handle(m), 0))
		if r, err := p.Run(&interp.Input{}); err != nil || r != 0 {
			t.Fatalf("arm: %d %v", int64(r), err)
		}
		live := m.LookupElem(u32(0), 0)
		Release(m)
		after := atomic.LoadUint64((*uint64)(unsafe.Pointer(&live[16])))
		if n := timersOf(m.(*object)); n != 0 {
			t.Fatalf("%d timers of a released map left in the registry", n)
		}
		time.Sleep(5 * time.Millisecond)
		if n := atomic.LoadUint64((*uint64)(unsafe.Pointer(&live[16]))); n != after {
			t.Fatalf("the callback ran after Release: %d runs, %d at Release", n, after)
		}
	}
}

// timersOf counts the registry's timers of o.
func timersOf(o *object) int {
	timers.Lock()
	defer timers.Unlock()
	n := 0
	for _, t := range timers.byID {
		if t.o == o {
			n++
		}
	}
	return n
}

func TestTimerInitNoField(t *testing.T) {
	m := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 24, MaxEntries: 2})
	if err := m.Update(u32(0), make([]byte, 24), UpdateAny); err != nil {
		t.Fatal(err)
	}
	p := loadChecked(t, fmt.Sprintf(timerOnlySrc, Handle(m), time.Hour))
	_, err := p.Run(&interp.Input{})
	if err == nil || !strings.Contains(err.Error(), "has no valid bpf_timer") {
		t.Fatalf("bpf_timer_init on a map without a timer: %v", err)
	}
}

func ptrOf(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
