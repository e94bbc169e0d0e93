package kernel

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cilium/ebpf"

	"github.com/gobee-dev/gobee/isa"
)

// LoadOptions are the BPF_PROG_LOAD attributes LoadProgramWith passes to
// the kernel. The zero value loads a program of type 0 without a license.
type LoadOptions struct {
	// Type is the program type (prog_type).
	Type ebpf.ProgramType
	// ExpectedAttachType is expected_attach_type, which sk_lookup,
	// netfilter, cgroup and tracing programs need.
	ExpectedAttachType ebpf.AttachType
	// Flags is prog_flags (BPF_F_SLEEPABLE, ...).
	Flags uint32
	// AttachBTFID is attach_btf_id, the BTF type a tracing program
	// attaches to.
	AttachBTFID uint32
	// License is the license string ("GPL" unlocks GPL-only helpers).
	License string
	// LogLevel, when 0, makes LoadProgramWith load as LoadProgram does:
	// once without a log and, if that fails, again with a verbose log.
	// Otherwise it loads once with this log_level and a LogSize buffer;
	// since Linux 6.4 a load whose log does not fit then fails with
	// ENOSPC, so the level and size can change the verdict.
	LogLevel uint32
	// LogSize is the log buffer size with a LogLevel; 0 means 1 MiB.
	LogSize int
}

// LoadProgramWith loads insns with the attributes in opts. A program the
// kernel refuses is reported as a *VerifierError with the log (empty when
// the kernel wrote none, as when a program type is not built in).
func LoadProgramWith(insns isa.Instructions, opts LoadOptions) (*Program, error) {
	code := insns.Encode(nil, binary.NativeEndian)
	fd, err := progLoadWith(code, opts)
	if err != nil {
		return nil, err
	}
	return &Program{fd: fd, typ: opts.Type}, nil
}

// TestRunOptions are the BPF_PROG_TEST_RUN attributes TestRunWith passes
// to the kernel. Buffer sizes of 0 pass a NULL pointer, so the kernel sees
// exactly which outputs the caller asked for.
type TestRunOptions struct {
	// DataIn is data_in, the packet.
	DataIn []byte
	// DataOut is the size of the data_out buffer; 0 passes none.
	DataOut int
	// DataSizeOut, when not 0, is put in data_size_out instead of
	// DataOut (to test how the kernel treats a short or long size). The
	// buffer is made large enough for it either way.
	DataSizeOut uint32
	// CtxIn is ctx_in, the raw context. TestRunWith passes a copy, which
	// the result returns (syscall programs write their context back).
	CtxIn []byte
	// CtxOut is the size of the ctx_out buffer; 0 passes none.
	CtxOut int
	// Repeat, Flags, CPU and BatchSize are repeat, flags, cpu and
	// batch_size.
	Repeat, Flags, CPU, BatchSize uint32
}

// TestRunResult is what BPF_PROG_TEST_RUN reported.
type TestRunResult struct {
	// Retval is the program's return value.
	Retval uint32
	// DataSizeOut is data_size_out as the kernel wrote it: the size of
	// the packet the program left, which may exceed the buffer.
	DataSizeOut uint32
	// DataOut is the part of the data_out buffer the kernel filled, or
	// nil when no buffer was passed.
	DataOut []byte
	// CtxSizeOut is ctx_size_out as the kernel left it: unchanged (the
	// buffer size) when the kernel did not write a context back.
	CtxSizeOut uint32
	// CtxOut is the ctx_out buffer cut to CtxSizeOut, or nil when no
	// buffer was passed.
	CtxOut []byte
	// CtxIn is the copy of TestRunOptions.CtxIn as the kernel left it,
	// or nil when there was none.
	CtxIn []byte
	// Duration is the mean time per run as the kernel measured it.
	Duration time.Duration
}

// TestRunWith runs the program once with BPF_PROG_TEST_RUN and the
// attributes in opts. Unlike TestRun it returns ctx_out and does not grow
// a data_out buffer that was too small (the kernel's ENOSPC is returned).
// Errors wrap the kernel's errno.
func (p *Program) TestRunWith(opts TestRunOptions) (TestRunResult, error) {
	if opts.DataOut < 0 || opts.CtxOut < 0 {
		return TestRunResult{}, fmt.Errorf("kernel: test run: negative buffer size")
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.fd < 0 {
		return TestRunResult{}, errClosed
	}
	res, err := testRunWith(p.fd, opts)
	if err != nil {
		return TestRunResult{}, fmt.Errorf("kernel: test run: %w", err)
	}
	return res, nil
}
