// Package helpers implements the kernel's generic eBPF helper functions
// (time, randomness, task identity, trace_printk and snprintf, string
// parsing, bpf_loop, probe reads) for gobee's interpreter. Helpers are
// numbered as in the kernel's enum bpf_func_id and follow the kernel's
// prototypes, return values and errno conventions: a failure the kernel
// reports to the program comes back as a negative errno in r0, while an
// argument the verifier would have rejected (memory the run may not
// touch) aborts the run with a Go error.
package helpers

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"

	"github.com/gobee-dev/gobee/interp"
)

// Helper ids (enum bpf_func_id in include/uapi/linux/bpf.h).
const (
	IDKtimeGetNs         = 5
	IDTracePrintk        = 6
	IDGetPrandomU32      = 7
	IDGetSmpProcessorID  = 8
	IDGetCurrentPidTgid  = 14
	IDGetCurrentUIDGid   = 15
	IDGetCurrentComm     = 16
	IDGetNumaNodeID      = 42
	IDStrtol             = 105
	IDStrtoul            = 106
	IDProbeReadUser      = 112
	IDProbeReadKernel    = 113
	IDProbeReadUserStr   = 114
	IDProbeReadKernelStr = 115
	IDJiffies64          = 118
	IDKtimeGetBootNs     = 125
	IDKtimeGetCoarseNs   = 160
	IDSnprintf           = 165
	IDTraceVprintk       = 177
	IDLoop               = 181
	IDStrncmp            = 182
	IDKtimeGetTaiNs      = 208
)

// MaxLoops is BPF_MAX_LOOPS, the most iterations bpf_loop accepts.
const MaxLoops = 1 << 23

// TaskCommLen is TASK_COMM_LEN.
const TaskCommLen = 16

// Helper is one helper function.
type Helper struct {
	ID   int32
	Name string
	Fn   interp.HelperFunc
}

// Task is the identity bpf_get_current_* report.
type Task struct {
	Pid, Tgid uint32
	UID, GID  uint32
	Comm      string // at most TaskCommLen-1 bytes are used
}

// TaskContext may be implemented by a run's Input.Context to give the run
// its own task identity instead of Env.Task.
type TaskContext interface {
	BPFTask() Task
}

// Env is what the helpers need from their surroundings. The zero value of
// each field selects the host's: the system clocks, a random source, the
// host process as the current task, CPU 0's NUMA node, HZ 250 and a trace
// pipe of its own.
type Env struct {
	Clock    Clock
	Rand     func() uint32
	Task     *Task
	Trace    *TracePipe
	NumaNode func(cpu int) uint32
	// HZ is the kernel tick rate jiffies64 counts in.
	HZ uint64
	// PtrKey keys the hash that %p prints instead of an address.
	PtrKey uint64
	// hostTask: Task is the host process (the default), whose thread id
	// is read at each call.
	hostTask bool
	// TraceFlags is the irqs-off/need-resched/hardirq-softirq/preempt
	// field of trace_pipe lines; empty means "...11" (preemption and
	// migration disabled, as a program runs). Test runs of networking
	// programs run with bottom halves off: "b..11".
	TraceFlags string
}

// HostTask returns the host process as a Task.
func HostTask() Task {
	pid := uint32(os.Getpid())
	t := Task{Pid: pid, Tgid: pid, UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
	if b, err := os.ReadFile("/proc/self/comm"); err == nil {
		t.Comm = strings.TrimSuffix(string(b), "\n")
	} else if exe, err := os.Executable(); err == nil {
		t.Comm = exe[strings.LastIndexByte(exe, '/')+1:]
	}
	return t
}

func (e *Env) withDefaults() *Env {
	c := Env{}
	if e != nil {
		c = *e
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Rand == nil {
		c.Rand = rand.Uint32
	}
	if c.Task == nil {
		t := HostTask()
		c.Task = &t
		c.hostTask = true
	}
	if c.Trace == nil {
		c.Trace = NewTracePipe()
	}
	if c.NumaNode == nil {
		c.NumaNode = func(int) uint32 { return 0 }
	}
	if c.HZ == 0 {
		c.HZ = 250
	}
	if c.PtrKey == 0 {
		c.PtrKey = rand.Uint64() | 1
	}
	return &c
}

// List returns the helpers with env's services (nil env: all defaults).
func List(env *Env) []Helper {
	e := env.withDefaults()
	return []Helper{
		{IDKtimeGetNs, "bpf_ktime_get_ns", e.ktimeGetNs},
		{IDTracePrintk, "bpf_trace_printk", e.tracePrintk},
		{IDGetPrandomU32, "bpf_get_prandom_u32", e.getPrandomU32},
		{IDGetSmpProcessorID, "bpf_get_smp_processor_id", getSmpProcessorID},
		{IDGetCurrentPidTgid, "bpf_get_current_pid_tgid", e.getCurrentPidTgid},
		{IDGetCurrentUIDGid, "bpf_get_current_uid_gid", e.getCurrentUIDGid},
		{IDGetCurrentComm, "bpf_get_current_comm", e.getCurrentComm},
		{IDGetNumaNodeID, "bpf_get_numa_node_id", e.getNumaNodeID},
		{IDStrtol, "bpf_strtol", Strtol},
		{IDStrtoul, "bpf_strtoul", Strtoul},
		{IDProbeReadUser, "bpf_probe_read_user", ProbeReadUser},
		{IDProbeReadKernel, "bpf_probe_read_kernel", ProbeReadKernel},
		{IDProbeReadUserStr, "bpf_probe_read_user_str", ProbeReadUserStr},
		{IDProbeReadKernelStr, "bpf_probe_read_kernel_str", ProbeReadKernelStr},
		{IDJiffies64, "bpf_jiffies64", e.jiffies64},
		{IDKtimeGetBootNs, "bpf_ktime_get_boot_ns", e.ktimeGetBootNs},
		{IDKtimeGetCoarseNs, "bpf_ktime_get_coarse_ns", e.ktimeGetCoarseNs},
		{IDSnprintf, "bpf_snprintf", e.snprintf},
		{IDTraceVprintk, "bpf_trace_vprintk", e.traceVprintk},
		{IDLoop, "bpf_loop", Loop},
		{IDStrncmp, "bpf_strncmp", Strncmp},
		{IDKtimeGetTaiNs, "bpf_ktime_get_tai_ns", e.ktimeGetTaiNs},
	}
}

// Table returns the helpers by id, to merge into interp.Options.Helpers.
func Table(env *Env) map[int32]interp.HelperFunc {
	l := List(env)
	m := make(map[int32]interp.HelperFunc, len(l))
	for _, h := range l {
		m[h.ID] = h.Fn
	}
	return m
}

// errno returns -e as the u64 a helper puts in r0.
func errno(e syscall.Errno) uint64 { return uint64(-int64(e)) }

// mem is r.Mem with the helper's name on the error.
func mem(r *interp.Run, name, what string, addr, n uint64, write bool) ([]byte, error) {
	b, err := r.Mem(addr, n, write)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", name, what, err)
	}
	return b, nil
}

// readable reports whether the run may read the byte at addr.
func readable(r *interp.Run, addr uint64) (byte, bool) {
	b, err := r.Mem(addr, 1, false)
	if err != nil {
		return 0, false
	}
	return b[0], true
}

// cString reads the NUL-terminated string at addr, without the NUL, looking
// at most max bytes. ok is false when a byte before the NUL is unreadable
// or there is no NUL within max bytes.
func cString(r *interp.Run, addr uint64, max int) ([]byte, bool) {
	var s []byte
	for i := 0; i < max; i++ {
		c, ok := readable(r, addr+uint64(i))
		if !ok {
			return s, false
		}
		if c == 0 {
			return s, true
		}
		s = append(s, c)
	}
	return s, false
}

func (e *Env) task(r *interp.Run) Task {
	if tc, ok := r.Context().(TaskContext); ok {
		return tc.BPFTask()
	}
	t := *e.Task
	if e.hostTask {
		// The kernel's current->pid is the calling thread's id (a test
		// run executes in the thread that made the bpf() call); the run's
		// goroutine sits on one OS thread for the whole run.
		t.Pid = currentThreadID()
	}
	return t
}

func (e *Env) ktimeGetNs(*interp.Run, uint64, uint64, uint64, uint64, uint64) (uint64, error) {
	return e.Clock.Now(ClockMonotonic), nil
}

func (e *Env) ktimeGetBootNs(*interp.Run, uint64, uint64, uint64, uint64, uint64) (uint64, error) {
	return e.Clock.Now(ClockBoottime), nil
}

func (e *Env) ktimeGetCoarseNs(*interp.Run, uint64, uint64, uint64, uint64, uint64) (uint64, error) {
	return e.Clock.Now(ClockMonotonicCoarse), nil
}

func (e *Env) ktimeGetTaiNs(*interp.Run, uint64, uint64, uint64, uint64, uint64) (uint64, error) {
	return e.Clock.Now(ClockTAI), nil
}

// jiffies64 counts ticks of HZ since boot from INITIAL_JIFFIES, as the
// kernel does (so that 32-bit jiffies wrap five minutes after boot).
func (e *Env) jiffies64(*interp.Run, uint64, uint64, uint64, uint64, uint64) (uint64, error) {
	initial := uint64(uint32(-300 * int64(e.HZ)))
	ns := e.Clock.Now(ClockMonotonic)
	return initial + ns/1e9*e.HZ + ns%1e9*e.HZ/1e9, nil
}

func (e *Env) getPrandomU32(*interp.Run, uint64, uint64, uint64, uint64, uint64) (uint64, error) {
	return uint64(e.Rand()), nil
}

func getSmpProcessorID(r *interp.Run, _, _, _, _, _ uint64) (uint64, error) {
	return uint64(uint32(r.CPU())), nil
}

func (e *Env) getNumaNodeID(r *interp.Run, _, _, _, _, _ uint64) (uint64, error) {
	return uint64(e.NumaNode(r.CPU())), nil
}

// getCurrentPidTgid is tgid<<32 | pid.
func (e *Env) getCurrentPidTgid(r *interp.Run, _, _, _, _, _ uint64) (uint64, error) {
	t := e.task(r)
	return uint64(t.Tgid)<<32 | uint64(t.Pid), nil
}

// getCurrentUIDGid is gid<<32 | uid.
func (e *Env) getCurrentUIDGid(r *interp.Run, _, _, _, _, _ uint64) (uint64, error) {
	t := e.task(r)
	return uint64(t.GID)<<32 | uint64(t.UID), nil
}

// getCurrentComm is bpf_get_current_comm(buf, size): strscpy_pad of the
// comm into buf, 0.
func (e *Env) getCurrentComm(r *interp.Run, buf, size, _, _, _ uint64) (uint64, error) {
	size = uint64(uint32(size))
	dst, err := mem(r, "bpf_get_current_comm", "buf", buf, size, true)
	if err != nil {
		return 0, err
	}
	if size == 0 {
		return 0, fmt.Errorf("bpf_get_current_comm: size 0")
	}
	comm := e.task(r).Comm
	if len(comm) > TaskCommLen-1 {
		comm = comm[:TaskCommLen-1]
	}
	if i := strings.IndexByte(comm, 0); i >= 0 {
		comm = comm[:i]
	}
	clear(dst)
	copy(dst[:size-1], comm)
	return 0, nil
}

// Loop is bpf_loop(nr_loops, callback_fn, callback_ctx, flags): it calls
// callback_fn(i, callback_ctx) for i from 0 until nr_loops or until the
// callback returns non-zero, and returns the number of calls made.
func Loop(r *interp.Run, nr, fn, ctx, flags, _ uint64) (uint64, error) {
	n := uint32(nr)
	if flags != 0 {
		return errno(syscall.EINVAL), nil
	}
	if n > MaxLoops {
		return errno(syscall.E2BIG), nil
	}
	for i := uint32(0); i < n; i++ {
		ret, err := r.CallFunc(fn, [5]uint64{uint64(i), ctx})
		if err != nil {
			return 0, fmt.Errorf("bpf_loop: callback %d: %w", i, err)
		}
		if ret != 0 {
			return uint64(i) + 1, nil
		}
	}
	return uint64(n), nil
}

// Strncmp is bpf_strncmp(s1, s1_sz, s2): the kernel's strncmp(s1, s2,
// s1_sz), which returns -1, 0 or 1 comparing unsigned bytes.
func Strncmp(r *interp.Run, s1, s1sz, s2, _, _ uint64) (uint64, error) {
	n := uint64(uint32(s1sz))
	a, err := mem(r, "bpf_strncmp", "s1", s1, n, false)
	if err != nil {
		return 0, err
	}
	for i := uint64(0); i < n; i++ {
		c2, ok := readable(r, s2+i)
		if !ok {
			return 0, fmt.Errorf("bpf_strncmp: s2: %w: byte at %#x", interp.ErrOutOfBounds, s2+i)
		}
		c1 := a[i]
		if c1 != c2 {
			if c1 < c2 {
				return uint64(^uint64(0)), nil
			}
			return 1, nil
		}
		if c1 == 0 {
			break
		}
	}
	return 0, nil
}
