package objects

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/testrun"
)

// RunOptions are the inputs and outputs of Program.Run, with the fields
// of cilium/ebpf's RunOptions (BPF_PROG_TEST_RUN).
type RunOptions struct {
	// Data is the packet (data_in).
	Data []byte
	// DataOut, if not empty, receives the packet after the run and is
	// resliced to its length; a longer packet is cut and Run fails with
	// ENOSPC, as the kernel does.
	DataOut []byte
	// Context is ctx_in: []byte or fixed-size data (a struct such as
	// struct xdp_md's layout), encoded in the host's byte order.
	Context any
	// ContextOut receives ctx_out: a []byte, or a pointer to fixed-size
	// data. A context larger than it is ENOSPC.
	ContextOut any
	// Repeat is the number of runs (0 means 1).
	Repeat uint32
	// Flags are BPF_F_TEST_* flags.
	Flags uint32
	// CPU is the CPU to run on with BPF_F_TEST_RUN_ON_CPU.
	CPU uint32
	// BatchSize is the batch size of XDP live-frame runs.
	BatchSize uint32
	// Duration is set to the mean duration of one run.
	Duration time.Duration
}

// Test runs the program once on in, as cilium/ebpf's Program.Test: it
// returns the return value and the packet afterwards.
func (p *Program) Test(in []byte) (uint32, []byte, error) {
	// As cilium/ebpf: room for the packet to grow by XDP's headroom.
	out := make([]byte, len(in)+256+2)
	opts := RunOptions{Data: in, DataOut: out, Repeat: 1}
	ret, err := p.Run(&opts)
	if err != nil {
		return ret, nil, err
	}
	return ret, opts.DataOut, nil
}

// Run runs the program with BPF_PROG_TEST_RUN's semantics (package
// testrun): the same validation errors (errors.Is with unix.EINVAL, ...),
// data_out, ctx_out and repeat. Types the kernel cannot test-run fail
// with ENOTSUPP (524), as bpf() does. Runs count into Info's RunCount and
// Runtime.
func (p *Program) Run(opts *RunOptions) (uint32, error) {
	o, err := p.use()
	if err != nil {
		return 0, err
	}
	if opts == nil {
		opts = &RunOptions{}
	}
	var ctxIn []byte
	if opts.Context != nil {
		ctxIn, err = contextBytes(opts.Context)
		if err != nil {
			return 0, fmt.Errorf("program %s: context: %w", o.name, err)
		}
	}
	ctxOutSize := -1
	if opts.ContextOut != nil {
		ctxOutSize, err = outSize(opts.ContextOut)
		if err != nil {
			return 0, fmt.Errorf("program %s: context out: %w", o.name, err)
		}
	}
	to := testrun.Options{
		DataIn: opts.Data, CtxIn: ctxIn, CtxOut: opts.ContextOut != nil,
		Repeat: opts.Repeat, Flags: opts.Flags, CPU: opts.CPU, BatchSize: opts.BatchSize, Attach: o.attach,
		CtxAccessEnd: o.ctxEnd,
		Input:        interp.Input{Regions: o.regions, CPU: int(opts.CPU)},
	}
	if len(opts.DataOut) > 0 {
		to.DataSizeOut = uint32(len(opts.DataOut))
	}
	res, runErr := testrun.Run(o.prog, o.typ, to)
	var errno *testrun.Errno
	if runErr != nil && !(errors.As(runErr, &errno) && errno.Errno == syscall.ENOSPC) {
		if errors.Is(runErr, testrun.ErrUnsupported) {
			return 0, fmt.Errorf("program %s: %w: %w", o.name, ErrNotSupported, runErr)
		}
		return 0, fmt.Errorf("program %s: %w", o.name, runErr)
	}
	n := max(opts.Repeat, 1)
	o.runCnt.Add(uint64(n))
	o.runTime.Add(uint64(res.Duration) * uint64(n))
	opts.Duration = res.Duration
	if len(opts.DataOut) > 0 {
		k := copy(opts.DataOut, res.DataOut)
		opts.DataOut = opts.DataOut[:k]
	}
	if opts.ContextOut != nil && res.CtxOut != nil {
		buf := make([]byte, ctxOutSize)
		copy(buf, res.CtxOut)
		if err := unmarshal(opts.ContextOut, buf); err != nil {
			return res.Retval, fmt.Errorf("program %s: context out: %w", o.name, err)
		}
		if len(res.CtxOut) > ctxOutSize && runErr == nil {
			runErr = &testrun.Errno{Errno: syscall.ENOSPC, Reason: fmt.Sprintf("ctx_out of %d bytes does not fit in %d", len(res.CtxOut), ctxOutSize)}
		}
	}
	if runErr != nil {
		return res.Retval, fmt.Errorf("program %s: %w", o.name, runErr)
	}
	return res.Retval, nil
}

// contextBytes encodes a ctx_in value.
func contextBytes(v any) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	n := binary.Size(v)
	if n < 0 {
		return nil, errorf(unix.EINVAL, "%T has no fixed size", v)
	}
	return marshal("context", v, n)
}

// outSize is the size of a ctx_out destination.
func outSize(v any) (int, error) {
	switch x := v.(type) {
	case []byte:
		return len(x), nil
	case *[]byte:
		return 0, errorf(unix.EINVAL, "ContextOut *[]byte has no size: pass a []byte of the context's size")
	}
	n := binary.Size(v)
	if n < 0 {
		return 0, errorf(unix.EINVAL, "%T has no fixed size", v)
	}
	return n, nil
}
