package maps

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/interp"
)

// bpf_timer: struct bpf_timer is 16 opaque bytes inside a map value. gobee
// keeps the timer's state in a registry and its id in the first 8 bytes,
// as the kernel keeps a pointer there. A timer fires on its own goroutine
// and runs the callback as a new run of the program that set it
// ((*interp.Program).RunFunc), with callback(map, &key, &value).

// Timer flags and clocks.
const (
	TimerAbs    = 1 << 0 // BPF_F_TIMER_ABS
	TimerCPUPin = 1 << 1 // BPF_F_TIMER_CPU_PIN
)

type timerState struct {
	mu       sync.Mutex
	o        *object
	key      []byte
	value    []byte
	clock    int32
	prog     *interp.Program
	fn       uint64
	t        *time.Timer
	gen      uint64 // start generation: a stale firing does nothing
	pending  bool
	cpu      int
	firing   bool
	lastErr  error
	runCount uint64
	// freed: the element went away (bpf_obj_free_fields); the timer
	// never fires again.
	freed bool
}

var timers struct {
	sync.Mutex
	next uint64
	byID map[uint64]*timerState
}

// timerCtx is the context of a callback run, so that bpf_timer_cancel
// on the running timer can fail with -EDEADLK.
type timerCtx struct{ t *timerState }

func timerWord(name string, r *interp.Run, addr uint64) ([]byte, error) {
	b, err := r.Mem(addr, 16, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

// timerID is the timer word: the id, read and written atomically (the
// field is 8-byte aligned in a value, checkFields sees to it).
func timerID(b []byte) *uint64 { return (*uint64)(unsafe.Pointer(&b[0])) }

func timerOf(b []byte) *timerState {
	if len(b) < 8 || uintptr(unsafe.Pointer(&b[0]))%8 != 0 {
		return nil
	}
	id := atomic.LoadUint64(timerID(b))
	if id == 0 {
		return nil
	}
	timers.Lock()
	defer timers.Unlock()
	return timers.byID[id]
}

// TimerInit is bpf_timer_init(timer, map, flags): flags is the clock
// (CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME), else -EINVAL; a
// timer already initialised is -EBUSY.
func TimerInit(r *interp.Run, timer, m, flags, _, _ uint64) (uint64, error) {
	b, err := timerWord("bpf_timer_init", r, timer)
	if err != nil {
		return 0, err
	}
	o, ok := lookupHandle(m)
	if !ok {
		return 0, fmt.Errorf("bpf_timer_init: %#x is not a map", m)
	}
	clock := int32(flags)
	if flags>>32 != 0 || (clock != clockMonotonic && clock != clockRealtime && clock != clockBoottime) {
		return errnoRet(errorf(unix.EINVAL, "clock %d", flags)), nil
	}
	key, value := keyOfValue(o, timer, r.CPU())
	if value == nil {
		return 0, fmt.Errorf("bpf_timer_init: timer at %#x is not in a value of the map", timer)
	}
	// What the verifier checks statically: the map has a bpf_timer and
	// the pointer is that field of one of its values.
	if !o.special.hasTimer() {
		return 0, fmt.Errorf("bpf_timer_init: map %q has no valid bpf_timer", o.spec.Name)
	}
	if off := timer - interp.Addr(value); off != uint64(o.special.timer-1) {
		return 0, fmt.Errorf("bpf_timer_init: off %d doesn't point to 'struct bpf_timer' that is at %d", off, o.special.timer-1)
	}
	timers.Lock()
	if timers.byID == nil {
		timers.byID = map[uint64]*timerState{}
	}
	timers.next++
	id := timers.next
	if !atomic.CompareAndSwapUint64(timerID(b), 0, id) {
		timers.Unlock()
		return errnoRet(errorf(unix.EBUSY, "timer already initialised")), nil
	}
	timers.byID[id] = &timerState{o: o, key: key, value: value, clock: clock, cpu: r.CPU()}
	timers.Unlock()
	return 0, nil
}

// TimerSetCallback is bpf_timer_set_callback(timer, callback_fn):
// -EINVAL if the timer is not initialised.
func TimerSetCallback(r *interp.Run, timer, fn, _, _, _ uint64) (uint64, error) {
	b, err := timerWord("bpf_timer_set_callback", r, timer)
	if err != nil {
		return 0, err
	}
	t := timerOf(b)
	if t == nil {
		return errnoRet(errorf(unix.EINVAL, "timer not initialised")), nil
	}
	t.mu.Lock()
	t.prog, t.fn = r.Program(), fn
	t.mu.Unlock()
	return 0, nil
}

// TimerStart is bpf_timer_start(timer, nsecs, flags): flags are
// BPF_F_TIMER_ABS and BPF_F_TIMER_CPU_PIN (else -EINVAL); a timer without
// a callback is -EINVAL. Starting a pending timer restarts it.
func TimerStart(r *interp.Run, timer, nsecs, flags, _, _ uint64) (uint64, error) {
	b, err := timerWord("bpf_timer_start", r, timer)
	if err != nil {
		return 0, err
	}
	if flags&^(TimerAbs|TimerCPUPin) != 0 {
		return errnoRet(errorf(unix.EINVAL, "flags %#x", flags)), nil
	}
	t := timerOf(b)
	if t == nil {
		return errnoRet(errorf(unix.EINVAL, "timer not initialised")), nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.freed {
		return errnoRet(errorf(unix.EINVAL, "timer not initialised")), nil
	}
	if t.prog == nil {
		return errnoRet(errorf(unix.EINVAL, "timer has no callback")), nil
	}
	d := time.Duration(nsecs)
	if flags&TimerAbs != 0 {
		if now, ok := clockNow(t.clock); ok {
			d = time.Duration(int64(nsecs) - now)
		}
	}
	if d < 0 {
		d = 0
	}
	if flags&TimerCPUPin != 0 {
		t.cpu = r.CPU()
	}
	if t.t != nil {
		t.t.Stop()
	}
	t.gen++
	gen := t.gen
	t.pending = true
	t.t = time.AfterFunc(d, func() { t.fire(gen) })
	return 0, nil
}

// fire runs the callback unless the timer was cancelled or restarted.
func (t *timerState) fire(gen uint64) {
	t.mu.Lock()
	if gen != t.gen || !t.pending || t.freed {
		t.mu.Unlock()
		return
	}
	// A released map's timers are gone (map_release_uref frees them).
	if _, ok := registry.Load(uint64(uintptr(unsafe.Pointer(t.o)))); !ok {
		t.pending = false
		t.mu.Unlock()
		return
	}
	t.pending, t.firing = false, true
	prog, fn := t.prog, t.fn
	in := &interp.Input{
		Regions: []interp.Region{{Mem: t.value, Writable: t.o.spec.Flags&FlagRdonlyProg == 0}, {Mem: t.key}},
		Context: timerCtx{t},
		CPU:     t.cpu,
	}
	t.mu.Unlock()
	_, err := prog.RunFunc(fn, [5]uint64{Handle(t.o), interp.Addr(t.key), interp.Addr(t.value)}, in)
	t.mu.Lock()
	t.firing, t.lastErr = false, err
	t.runCount++
	t.mu.Unlock()
}

// TimerCancel is bpf_timer_cancel(timer): 1 if the timer was pending, 0
// if not, -EINVAL if not initialised, -EDEADLK from the timer's own
// callback.
func TimerCancel(r *interp.Run, timer, _, _, _, _ uint64) (uint64, error) {
	b, err := timerWord("bpf_timer_cancel", r, timer)
	if err != nil {
		return 0, err
	}
	t := timerOf(b)
	if t == nil {
		return errnoRet(errorf(unix.EINVAL, "timer not initialised")), nil
	}
	if c, ok := r.Context().(timerCtx); ok && c.t == t {
		return errnoRet(errorf(unix.EDEADLK, "cancelling the running timer from its callback")), nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	was := t.pending
	t.pending = false
	t.gen++
	if t.t != nil {
		t.t.Stop()
	}
	if was {
		return 1, nil
	}
	return 0, nil
}

// TimerStats reports, for the timer whose 16 bytes are timer, how many
// times its callback ran and the last run's error (for tests and tools).
func TimerStats(timer []byte) (runs uint64, lastErr error, ok bool) {
	t := timerOf(timer)
	if t == nil {
		return 0, nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.runCount, t.lastErr, true
}

// freeTimers is what map_release_uref does to a released map's timers
// (bpf_obj_free_timer on every value): each is cancelled, dropped from the
// registry and its word cleared, so no callback starts afterwards; a
// callback already running is waited for, as hrtimer_cancel does.
func freeTimers(o *object) {
	if !o.special.hasTimer() {
		return
	}
	var ts []*timerState
	var ids []uint64
	timers.Lock()
	for id, t := range timers.byID {
		if t.o == o {
			ts = append(ts, t)
			ids = append(ids, id)
			delete(timers.byID, id)
		}
	}
	timers.Unlock()
	off := o.special.timer - 1
	for i, t := range ts {
		if w := t.value[off:]; len(w) >= 16 && uintptr(unsafe.Pointer(&w[0]))%8 == 0 {
			atomic.CompareAndSwapUint64(timerID(w), ids[i], 0)
		}
		t.mu.Lock()
		t.freed, t.pending = true, false
		t.gen++
		if t.t != nil {
			t.t.Stop()
		}
		t.mu.Unlock()
	}
	for _, t := range ts {
		for {
			t.mu.Lock()
			f := t.firing
			t.mu.Unlock()
			if !f {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// timerFree is bpf_timer_cancel_and_free on the timer whose 16 bytes are
// b: the word is cleared, and the timer cancelled and dropped, so its
// callback never runs again (one that is running finishes).
func timerFree(b []byte) {
	if uintptr(unsafe.Pointer(&b[0]))%8 != 0 {
		return
	}
	id := atomic.SwapUint64(timerID(b), 0)
	if id == 0 {
		return
	}
	timers.Lock()
	t := timers.byID[id]
	delete(timers.byID, id)
	timers.Unlock()
	if t == nil {
		return
	}
	t.mu.Lock()
	t.freed, t.pending = true, false
	t.gen++
	if t.t != nil {
		t.t.Stop()
	}
	t.mu.Unlock()
}
