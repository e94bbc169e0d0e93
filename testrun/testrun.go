// Package testrun runs programs with the semantics of the kernel's
// BPF_PROG_TEST_RUN (net/bpf/test_run.c): the same validation of data_in
// and ctx_in with the same errno values, the same packet and context set
// up (an skb on the loopback device, or an xdp_buff on loopback's rx queue
// 0 with XDP_PACKET_HEADROOM), the same data_out and ctx_out, and repeat
// runs that share one context as the kernel's do.
package testrun

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/progtype"
)

// Flags of BPF_PROG_TEST_RUN.
const (
	FlagRunOnCPU                   = 1 << 0
	FlagXDPLiveFrames              = 1 << 1
	FlagSKBChecksumComplete        = 1 << 2
	pageSize                       = 4096
	ethHlen                        = 14
	netSKBPad                      = 64  // NET_SKB_PAD on x86-64 (NET_IP_ALIGN is 0)
	sharedInfoSize                 = 320 // SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86-64
	loopbackIfindex                = 1
	gsoMaxSegs                     = 65535
	gsoLegacyMaxSize               = 65536
	xdpMaxMetaLen                  = progtype.XDPPacketHeadroom - 40 // room for struct xdp_frame must stay in the headroom
	maxSKBFrags                    = 17
	skbDataAlign                   = 64
	loopbackRxQueues        uint32 = 1
)

// Options are the inputs of one BPF_PROG_TEST_RUN.
type Options struct {
	// DataIn is the packet.
	DataIn []byte
	// DataSizeOut, if not 0, is the size of the caller's data_out buffer:
	// a longer packet is cut to it and the run fails with ENOSPC.
	DataSizeOut uint32
	// CtxIn is the context (struct __sk_buff, struct xdp_md) or nil.
	CtxIn []byte
	// CtxOut asks for the context after the run even without CtxIn.
	CtxOut bool
	// Repeat is the number of runs (0 means 1).
	Repeat uint32
	// Flags are BPF_F_TEST_* flags; CPU and BatchSize as in bpf_attr.
	Flags, CPU, BatchSize uint32
	// Attach is the program's expected attach type (XDP devmap and
	// cpumap programs cannot be test-run).
	Attach progtype.AttachType
	// CtxAccessEnd is the verifier's max_ctx_offset of the program (see
	// MaxCtxOffset): raw tracepoint and syscall runs refuse a shorter
	// ctx_in.
	CtxAccessEnd uint32
	// Input is a template for the interpreter's input: Context, CPU and
	// extra Regions are passed on; Args, Packet and the context and packet
	// regions are set by Run.
	Input interp.Input
}

// Result is what BPF_PROG_TEST_RUN reports.
type Result struct {
	Retval uint32
	// DataOut is the packet after the last run (data_size_out in full,
	// even when cut to DataSizeOut).
	DataOut     []byte
	DataSizeOut uint32
	// CtxOut is the context after the run, when CtxIn or CtxOut was given.
	CtxOut []byte
	// Duration is the mean time of one run.
	Duration time.Duration
}

// Errno is a refusal with the errno the kernel returns. errors.Is matches
// it against syscall.Errno values.
type Errno struct {
	Errno  syscall.Errno
	Reason string
}

func (e *Errno) Error() string { return fmt.Sprintf("test run: %v: %s", e.Errno, e.Reason) }

// Is matches syscall.Errno targets.
func (e *Errno) Is(target error) bool {
	t, ok := target.(syscall.Errno)
	return ok && t == e.Errno
}

// Unwrap returns the errno.
func (e *Errno) Unwrap() error { return e.Errno }

func fail(errno syscall.Errno, format string, args ...any) error {
	return &Errno{Errno: errno, Reason: fmt.Sprintf(format, args...)}
}

// ErrUnsupported is returned for test runs the kernel can do but gobee
// cannot yet (program types, flags, multi-buffer frames).
var ErrUnsupported = errors.New("test run: not supported by gobee")

// Run runs prog as a program of type typ the way BPF_PROG_TEST_RUN does.
func Run(prog *interp.Program, typ progtype.Type, opts Options) (Result, error) {
	switch typ {
	case progtype.XDP:
		return runXDP(prog, opts)
	case progtype.SocketFilter, progtype.SchedCLS, progtype.SchedACT, progtype.CGroupSKB,
		progtype.LWTIn, progtype.LWTOut, progtype.LWTXmit:
		return runSKB(prog, typ, opts)
	case progtype.FlowDissector:
		return runFlowDissector(prog, opts)
	case progtype.SKLookup:
		return runSKLookup(prog, opts)
	case progtype.RawTracepoint:
		return runRawTP(prog, typ, opts)
	case progtype.Syscall:
		return runSyscall(prog, opts)
	case progtype.Netfilter:
		return runNetfilter(prog, opts)
	case progtype.Tracing:
		return runTracing(prog, opts)
	}
	if GobeeTestRunnable(typ) {
		// A gobee extension: the kernel answers ENOTSUPP for these
		// types (see kernelonly.go).
		return runKernelOnly(prog, typ, opts)
	}
	if info := progtype.Lookup(typ); info == nil || !info.TestRun {
		// bpf_prog_test_run: the type has no test_run operation.
		return Result{}, fail(ENOTSUPP, "program type %v cannot be test-run", typ)
	}
	return Result{}, fmt.Errorf("%w: program type %v", ErrUnsupported, typ)
}

// ctxInit is bpf_ctx_init: a zeroed context of size bytes with ctx_in
// copied in, or nil when neither ctx_in nor ctx_out was given.
func ctxInit(opts *Options, size int) ([]byte, error) {
	if opts.CtxIn == nil && !opts.CtxOut {
		return nil, nil
	}
	ctx := make([]byte, size)
	if in := opts.CtxIn; in != nil {
		if len(in) > pageSize {
			return nil, fail(syscall.E2BIG, "ctx_in of %d bytes is larger than a page", len(in))
		}
		for i := size; i < len(in); i++ {
			if in[i] != 0 {
				return nil, fail(syscall.E2BIG, "ctx_in has non-zero byte %d beyond the %d-byte context", i, size)
			}
		}
		copy(ctx, in)
	}
	return ctx, nil
}

// testInit is bpf_test_init's size check.
func testInit(size, headroom, tailroom int) error {
	if size < ethHlen {
		return fail(syscall.EINVAL, "data_in of %d bytes is shorter than an Ethernet header (%d)", size, ethHlen)
	}
	if size > pageSize-headroom-tailroom {
		return fail(syscall.EINVAL, "data_in of %d bytes is longer than %d", size, pageSize-headroom-tailroom)
	}
	return nil
}

// ErrReturnRange is the error of a run whose return value is outside the
// range the verifier allows for the program's type: the kernel would
// have refused the program at load time (check_return_code). gobee has
// no verifier, so the value is checked when a run returns it.
var ErrReturnRange = errors.New("return value out of range")

// checkReturn is check_return_code at run time: for types whose range
// progtype marks as checked (progtype.ReturnRange), r0 (all 64 bits, as
// the verifier's smin/smax) must be in [Min, Max].
func checkReturn(rr progtype.Return, typ progtype.Type, r0 uint64) error {
	if !rr.Checked {
		return nil
	}
	if v := int64(r0); v < rr.Min || v > rr.Max {
		return fmt.Errorf("test run: %w: %v program returned %d (%#x), outside [%d, %d]; "+
			"the kernel's verifier would have refused the program at load time", ErrReturnRange, typ, v, r0, rr.Min, rr.Max)
	}
	return nil
}

// repeatRuns runs prog repeat times on in, as bpf_test_run does; each
// run's return value is checked against rr (see checkReturn).
func repeatRuns(prog *interp.Program, in *interp.Input, repeat uint32, typ progtype.Type, rr progtype.Return) (uint32, time.Duration, error) {
	if repeat == 0 {
		repeat = 1
	}
	var ret uint64
	start := time.Now()
	for i := uint32(0); i < repeat; i++ {
		var err error
		ret, err = prog.Run(in)
		if err != nil {
			return 0, 0, err
		}
		if err := checkReturn(rr, typ, ret); err != nil {
			return 0, 0, err
		}
	}
	return uint32(ret), time.Since(start) / time.Duration(repeat), nil
}

// finish is bpf_test_finish: the data_out clamp.
func finish(res *Result, data []byte, sizeOut uint32) error {
	res.DataSizeOut = uint32(len(data))
	res.DataOut = append([]byte(nil), data...)
	if sizeOut != 0 && uint32(len(data)) > sizeOut {
		res.DataOut = res.DataOut[:sizeOut]
		return fail(syscall.ENOSPC, "data_out of %d bytes does not fit in %d", len(data), sizeOut)
	}
	return nil
}

func le32(b []byte, off int) uint32     { return binary.LittleEndian.Uint32(b[off:]) }
func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func put64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }
func le64(b []byte, off int) uint64     { return binary.LittleEndian.Uint64(b[off:]) }
func alignUp(n, a int) int              { return (n + a - 1) / a * a }
func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// ENOTSUPP is the kernel-internal errno 524 that bpf() returns for a
// program type without a test_run operation.
const ENOTSUPP = syscall.Errno(524)
