package testrun

import (
	"syscall"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/progtype"
)

// runSyscall is bpf_prog_test_run_syscall: the context is ctx_in itself
// (up to U16_MAX bytes and at least the program's max_ctx_offset), which
// the program may read and write; the kernel copies it back into ctx_in,
// and Run returns it as CtxOut. No data, ctx_out, duration, repeat or
// flags.
func runSyscall(prog *interp.Program, opts Options) (Result, error) {
	var res Result
	if len(opts.DataIn) != 0 || opts.DataSizeOut != 0 || opts.CtxOut || opts.Repeat != 0 || opts.Flags != 0 || opts.BatchSize != 0 {
		return res, fail(syscall.EINVAL, "syscall test runs take no data_in, data_out, ctx_out, repeat, flags or batch_size")
	}
	n := uint32(len(opts.CtxIn))
	if n < opts.CtxAccessEnd || n > progtype.SyscallCtxMax {
		return res, fail(syscall.EINVAL, "ctx_size_in %d is outside %d..%d", n, opts.CtxAccessEnd, progtype.SyscallCtxMax)
	}
	mc := &progtype.MemContext{Mem: append([]byte(nil), opts.CtxIn...), Rule: progtype.SyscallAccess, Writable: true}
	in := opts.Input
	in.Args = [5]uint64{mc.Addr()}
	in.Regions = append([]interp.Region{mc.Region()}, in.Regions...)
	in.Packet = nil
	ret, err := prog.Run(&in)
	if err != nil {
		return res, err
	}
	res.Retval = uint32(ret)
	if n != 0 {
		res.CtxOut = mc.Mem
	}
	return res, nil
}
