package testrun

import (
	"runtime"
	"syscall"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/progtype"
)

// NumCPU is the number of CPUs a BPF_F_TEST_RUN_ON_CPU run may name
// (the kernel's online CPUs); a larger cpu fails with ENXIO.
var NumCPU = runtime.NumCPU()

// runRawTP is bpf_prog_test_run_raw_tp: ctx_in is the u64 argument array
// (at most MAX_BPF_FUNC_ARGS of them, and at least the program's
// max_ctx_offset bytes); no data, ctx_out, duration or repeat; cpu only
// with BPF_F_TEST_RUN_ON_CPU. Only retval comes back.
func runRawTP(prog *interp.Program, typ progtype.Type, opts Options) (Result, error) {
	var res Result
	if len(opts.DataIn) != 0 || opts.DataSizeOut != 0 || opts.CtxOut || opts.Repeat != 0 || opts.BatchSize != 0 {
		return res, fail(syscall.EINVAL, "raw tracepoint test runs take no data_in, data_out, ctx_out, repeat or batch_size")
	}
	n := uint32(len(opts.CtxIn))
	if n < opts.CtxAccessEnd || n > 8*progtype.MaxFuncArgs {
		return res, fail(syscall.EINVAL, "ctx_size_in %d is outside %d..%d", n, opts.CtxAccessEnd, 8*progtype.MaxFuncArgs)
	}
	if opts.Flags&FlagRunOnCPU == 0 && opts.CPU != 0 {
		return res, fail(syscall.EINVAL, "cpu %d needs BPF_F_TEST_RUN_ON_CPU", opts.CPU)
	}
	in := opts.Input
	if opts.Flags&FlagRunOnCPU != 0 {
		if int(opts.CPU) >= NumCPU {
			return res, fail(syscall.ENXIO, "cpu %d is not online", opts.CPU)
		}
		in.CPU = int(opts.CPU)
	}
	rule := progtype.TracingArgsAccess
	if typ == progtype.RawTracepointWritable {
		rule = progtype.RawTPWritableAccess
	}
	mc := &progtype.MemContext{Mem: append([]byte(nil), opts.CtxIn...), Rule: rule}
	in.Args = [5]uint64{mc.Addr()}
	in.Regions = append([]interp.Region{mc.Region()}, in.Regions...)
	in.Packet = nil
	ret, err := prog.Run(&in)
	if err != nil {
		return res, err
	}
	res.Retval = uint32(ret)
	return res, nil
}
