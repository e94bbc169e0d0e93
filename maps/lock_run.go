package maps

import (
	"fmt"
	"sync"
	"sync/atomic"

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
//   - a run that ended holding its lock: the kernel refuses
//     "BPF_EXIT while holding a lock" statically; gobee notices it when
//     the same interp.Run next takes a lock, releases the leaked lock so
//     other runs do not spin forever, and fails that later run.
//
// The state is per interp.Run. A run's hold is marked by a one-byte
// region the run is granted when it takes the lock: regions last exactly
// one run, so a mark the run can no longer read belongs to an earlier
// run of the same (pooled) Run.

type heldLock struct {
	word *uint32
	addr uint64
	mark []byte
}

var (
	held      sync.Map     // *interp.Run → *heldLock
	heldCount atomic.Int64 // entries in held, to skip the checks cheaply
)

// current is the lock r holds in this run, or nil. A hold left by an
// earlier run is released and reported through leaked.
func current(r *interp.Run) (h, leaked *heldLock) {
	if heldCount.Load() == 0 {
		return nil, nil
	}
	v, ok := held.Load(r)
	if !ok {
		return nil, nil
	}
	h = v.(*heldLock)
	if _, err := r.Mem(interp.Addr(h.mark), 1, false); err == nil {
		return h, nil
	}
	if held.CompareAndDelete(r, h) {
		heldCount.Add(-1)
		spinRelease(h.word)
	}
	return nil, h
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
	h, leaked := current(r)
	if leaked != nil {
		return 0, fmt.Errorf("bpf_spin_lock: an earlier run of this program exited holding the bpf_spin_lock at %#x (BPF_EXIT while holding a lock); released it", leaked.addr)
	}
	if h != nil {
		return 0, fmt.Errorf("bpf_spin_lock: the run already holds the bpf_spin_lock at %#x (one lock at a time)", h.addr)
	}
	spinAcquire(w)
	mark := make([]byte, 1)
	r.Grant(mark, false)
	held.Store(r, &heldLock{word: w, addr: lock, mark: mark})
	heldCount.Add(1)
	return 0, nil
}

// SpinUnlock is bpf_spin_unlock(lock).
func SpinUnlock(r *interp.Run, lock, _, _, _, _ uint64) (uint64, error) {
	w, err := lockWord("bpf_spin_unlock", r, lock)
	if err != nil {
		return 0, err
	}
	h, _ := current(r)
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
		if heldCount.Load() != 0 {
			if h, _ := current(r); h != nil {
				return 0, fmt.Errorf("helper %d called while holding the bpf_spin_lock at %#x (function calls are not allowed while holding a lock)", id, h.addr)
			}
		}
		return fn(r, a1, a2, a3, a4, a5)
	}
}
