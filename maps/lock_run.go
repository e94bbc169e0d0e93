package maps

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobee-dev/gobee/interp"
)

// The verifier's bpf_spin_lock rules, checked at run time: gobee has no
// verifier, so a run that breaks one fails with an error naming the
// instruction (the helper call) instead of being refused at load.
//
//   - one lock at a time: bpf_spin_lock while the run holds a lock;
//   - bpf_spin_unlock of a lock the run does not hold;
//   - no helper calls while holding a lock except bpf_spin_unlock
//     (LockChecked wraps the other helpers);
//   - a run must not end holding its lock ("BPF_EXIT while holding a
//     lock"): an interp.Run.OnExit hook releases a lock still held when
//     the run ends, and fails the run if it had not failed already.

type heldLock struct {
	word *uint32
	addr uint64
}

var (
	held      sync.Map     // *interp.Run → *heldLock
	heldCount atomic.Int64 // entries in held, to skip the checks cheaply
)

// current is the lock r holds, or nil.
func current(r *interp.Run) *heldLock {
	if heldCount.Load() == 0 {
		return nil
	}
	if v, ok := held.Load(r); ok {
		return v.(*heldLock)
	}
	return nil
}

// releaseAtExit is the end-of-run hook of a run that took a lock.
func releaseAtExit(r *interp.Run) error {
	v, ok := held.LoadAndDelete(r)
	if !ok {
		return nil
	}
	heldCount.Add(-1)
	h := v.(*heldLock)
	spinRelease(h.word)
	return fmt.Errorf("BPF_EXIT while holding the bpf_spin_lock at %#x (released)", h.addr)
}

// progLockWait bounds how long bpf_spin_lock waits: critical sections are
// short by construction (no calls), so a lock held this long is held by
// something other than a program run, e.g. a user-space BPF_F_LOCK copy
// that never finished.
const progLockWait = time.Second

// spinAcquireFor is spinAcquire that gives up after d.
func spinAcquireFor(w *uint32, d time.Duration) bool {
	var deadline time.Time
	for spins := 0; !atomic.CompareAndSwapUint32(w, 0, 1); spins++ {
		if spins > 16 {
			if deadline.IsZero() {
				deadline = time.Now().Add(d)
			} else if spins%1024 == 0 && time.Now().After(deadline) {
				return false
			}
			runtime.Gosched()
		}
	}
	return true
}

// SpinLock is bpf_spin_lock(lock): it takes the lock word (0 free, 1
// held) in a map value, spinning (and yielding) while another run holds
// it, so runs on different goroutines exclude each other. The same lock
// copy_map_value_locked takes for BPF_F_LOCK from user space.
func SpinLock(r *interp.Run, lock, _, _, _, _ uint64) (uint64, error) {
	w, err := lockWord("bpf_spin_lock", r, lock)
	if err != nil {
		return 0, err
	}
	if h := current(r); h != nil {
		return 0, fmt.Errorf("bpf_spin_lock: the run already holds the bpf_spin_lock at %#x (one lock at a time)", h.addr)
	}
	if !spinAcquireFor(w, progLockWait) {
		return 0, fmt.Errorf("bpf_spin_lock: the lock at %#x has been held for over %v", lock, progLockWait)
	}
	held.Store(r, &heldLock{word: w, addr: lock})
	heldCount.Add(1)
	r.OnExit(releaseAtExit)
	return 0, nil
}

// SpinUnlock is bpf_spin_unlock(lock).
func SpinUnlock(r *interp.Run, lock, _, _, _, _ uint64) (uint64, error) {
	w, err := lockWord("bpf_spin_unlock", r, lock)
	if err != nil {
		return 0, err
	}
	h := current(r)
	switch {
	case h == nil:
		return 0, fmt.Errorf("bpf_spin_unlock: the run holds no bpf_spin_lock (unlock of %#x without lock)", lock)
	case h.addr != lock:
		return 0, fmt.Errorf("bpf_spin_unlock of %#x, but the run holds the bpf_spin_lock at %#x", lock, h.addr)
	}
	if held.CompareAndDelete(r, h) {
		heldCount.Add(-1)
	}
	spinRelease(w)
	return 0, nil
}

// LockChecked wraps helper id so that calling it while the run holds a
// bpf_spin_lock fails the run, as the verifier's "function calls are not
// allowed while holding a lock". bpf_spin_lock and bpf_spin_unlock are
// returned as they are (they do their own checks).
func LockChecked(id int32, fn interp.HelperFunc) interp.HelperFunc {
	if id == HelperSpinLock || id == HelperSpinUnlock || fn == nil {
		return fn
	}
	return func(r *interp.Run, a1, a2, a3, a4, a5 uint64) (uint64, error) {
		if h := current(r); h != nil {
			return 0, fmt.Errorf("helper %d called while holding the bpf_spin_lock at %#x (function calls are not allowed while holding a lock)", id, h.addr)
		}
		return fn(r, a1, a2, a3, a4, a5)
	}
}
