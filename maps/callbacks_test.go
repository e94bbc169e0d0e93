package maps

import (
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
)

func loadText(t *testing.T, src string) *interp.Program {
	t.Helper()
	insns, err := isa.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	h := Helpers()
	for id, f := range CallbackHelpers() {
		h[id] = f
	}
	p, err := interp.Load(insns, &interp.Options{Helpers: h, TailCall: TailCall})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// forEachSrc sums the values into a stack slot through callback_ctx and
// stops after key stop; it returns (visited << 32) | sum, or the
// helper's result when flags make it fail.
const forEachSrc = `
	*(u64 *)(r10 - 8) = 0
	r1 = %d ll
	r2 = func(cb) ll
	r3 = r10
	r3 += -8
	r4 = %d
	call 164
	if r0 s< 0 goto out
	r0 <<= 32
	r1 = *(u64 *)(r10 - 8)
	r0 += r1
out:
	exit
cb:
	r0 = *(u64 *)(r4 + 0)
	r5 = *(u64 *)(r3 + 0)
	r0 += r5
	*(u64 *)(r4 + 0) = r0
	r0 = 0
	r2 = *(u32 *)(r2 + 0)
	if r2 != %d goto ret
	r0 = 1
ret:
	exit
`

func TestForEachMapElem(t *testing.T) {
	for _, typ := range []Type{Array, PerCPUArray, Hash, LRUHash, PerCPUHash} {
		m := mustNew(t, Spec{Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 8, NumCPU: 1})
		h := Handle(m)
		for i := uint32(0); i < 8; i++ {
			if err := m.Update(u32(i), u64(uint64(i)), UpdateAny); err != nil {
				t.Fatal(err)
			}
		}
		// Stop at key 5: arrays visit 0..5; hashes visit in hash order
		// until 5, and the sum is of what was visited.
		got, err := loadText(t, fmt.Sprintf(forEachSrc, h, 0, 5)).Run(&interp.Input{})
		if err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		n, sum := got>>32, got&0xffffffff
		if typ == Array || typ == PerCPUArray {
			if n != 6 || sum != 15 {
				t.Fatalf("%v: visited %d sum %d, want 6 and 15", typ, n, sum)
			}
		} else if n < 1 || n > 8 || sum < 5 {
			t.Fatalf("%v: visited %d sum %d", typ, n, sum)
		}
		// No stop: all 8.
		got, _ = loadText(t, fmt.Sprintf(forEachSrc, h, 0, 99)).Run(&interp.Input{})
		if got>>32 != 8 || got&0xffffffff != 28 {
			t.Fatalf("%v: visited %d sum %d, want 8 and 28", typ, got>>32, got&0xffffffff)
		}
		got, _ = loadText(t, fmt.Sprintf(forEachSrc, h, 1, 99)).Run(&interp.Input{})
		if int64(got) != -22 {
			t.Fatalf("%v: flags 1 gave %d, want -EINVAL", typ, int64(got))
		}
		Release(m)
	}
}

func TestSpinLockConcurrent(t *testing.T) {
	m := mustNew(t, Spec{Type: Array, KeySize: 4, ValueSize: 16, MaxEntries: 1})
	p := loadText(t, fmt.Sprintf(`
	*(u32 *)(r10 - 4) = 0
	r1 = %d ll
	r2 = r10
	r2 += -4
	call 1
	if r0 == 0 goto out
	r6 = r0
	r1 = r6
	call 93
	r1 = *(u64 *)(r6 + 8)
	r1 += 1
	*(u64 *)(r6 + 8) = r1
	r1 = r6
	call 94
out:
	r0 = 0
	exit
`, Handle(m)))
	const workers, runs = 8, 2000
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(cpu int) {
			defer wg.Done()
			for i := 0; i < runs; i++ {
				if _, err := p.Run(&interp.Input{CPU: 0}); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	v, _ := m.Lookup(u32(0))
	if got := binary.NativeEndian.Uint64(v[8:]); got != workers*runs {
		t.Fatalf("counter %d, want %d: the lock did not exclude", got, workers*runs)
	}
}

// timerSrc: value = {struct bpf_timer; u64 fired; u64 cancel_result}.
// The program initialises the timer (returning the result of init if it
// fails), sets the callback and starts it after delay ns. The callback
// counts, and tries to cancel its own timer (-EDEADLK).
const timerSrc = `
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
	if r0 != 0 goto out
	r0 = 0
	r1 = %[3]d
	if r1 == 0 goto out
	r1 = r6
	call 172
	r7 = r0
	r1 = r6
	call 172
	r0 <<= 8
	r0 |= r7
out:
	exit
cb:
	r6 = r3
	r1 = *(u64 *)(r6 + 16)
	r1 += 1
	*(u64 *)(r6 + 16) = r1
	r1 = r6
	call 172
	*(u64 *)(r6 + 24) = r0
	r0 = 0
	exit
`

func TestTimers(t *testing.T) {
	timerField := [MaxFields]Field{{Kind: FieldTimer, Offset: 0}}
	m := mustNew(t, Spec{Type: Array, KeySize: 4, ValueSize: 32, MaxEntries: 2, Fields: timerField})
	h := Handle(m)
	// 50ms: time to read the timer's id before it fires (the callback
	// writes the value without locks, as programs do).
	p := loadText(t, fmt.Sprintf(timerSrc, h, 50*time.Millisecond, 0))
	if got, err := p.Run(&interp.Input{}); err != nil || got != 0 {
		t.Fatalf("start: %d %v", got, err)
	}
	// The live value: lookups from user space read the timer as zero.
	timer := m.LookupElem(u32(0), 0)[:16]
	deadline := time.Now().Add(5 * time.Second)
	for {
		runs, err, ok := TimerStats(timer)
		if !ok {
			t.Fatal("no such timer")
		}
		if runs == 1 {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the timer did not fire")
		}
		time.Sleep(time.Millisecond)
	}
	v, _ := m.Lookup(u32(0))
	if got := binary.NativeEndian.Uint64(v[16:]); got != 1 {
		t.Fatalf("fired %d times, want 1", got)
	}
	if got := int64(binary.NativeEndian.Uint64(v[24:])); got != -35 {
		t.Fatalf("cancel from the callback: %d, want -EDEADLK", got)
	}
	// A second init of the same timer is -EBUSY.
	if got, _ := p.Run(&interp.Input{}); int64(got) != -16 {
		t.Fatalf("init twice: %d, want -EBUSY", int64(got))
	}

	// Start far in the future, then cancel twice: 1 (was pending), 0.
	m2 := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 32, MaxEntries: 2, Fields: timerField})
	if err := m2.Update(u32(0), make([]byte, 32), UpdateAny); err != nil {
		t.Fatal(err)
	}
	p2 := loadText(t, fmt.Sprintf(timerSrc, Handle(m2), uint64(time.Hour), 1))
	if got, err := p2.Run(&interp.Input{}); err != nil || got != 0<<8|1 {
		t.Fatalf("cancel: %#x %v, want 0x1", got, err)
	}
	v, _ = m2.Lookup(u32(0))
	if binary.NativeEndian.Uint64(v[16:]) != 0 {
		t.Fatal("a cancelled timer fired")
	}
}
