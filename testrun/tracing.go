package testrun

import (
	"syscall"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/progtype"
)

// runTracing is bpf_prog_test_run_tracing. The kernel does not run the
// program: it calls its bpf_fentry_test* (fentry, fexit) or
// bpf_modify_return_test* (fmod_ret) functions, where an attached program
// would run, and reports what they returned: 0 for fentry/fexit, and for
// fmod_ret (side effects << 16) | the sum of the functions' results,
// which is 0x2001f for a program that is not attached. Other tracing
// attach types (tp_btf, iter) fail with EFAULT (the error the kernel's
// function starts out with).
//
// gobee has no such kernel functions to attach to, so it reports what
// the kernel reports for a program that is loaded but not attached.
// Kernels with lockdown refuse to load fentry, fexit and fmod_ret
// programs at all, so this is gobee's side only there.
func runTracing(_ *interp.Program, opts Options) (Result, error) {
	var res Result
	if opts.Flags != 0 || opts.CPU != 0 || opts.BatchSize != 0 {
		return res, fail(syscall.EINVAL, "flags %#x, cpu %d, batch_size %d not allowed for tracing programs", opts.Flags, opts.CPU, opts.BatchSize)
	}
	switch opts.Attach {
	case progtype.AttachTraceFentry, progtype.AttachTraceFexit:
		res.Retval = 0
	case progtype.AttachModifyReturn:
		// bpf_modify_return_test(1, &b) with b = 0: b becomes 1, returns
		// 2; then b = 2 and bpf_modify_return_test2(1, &b, 3, 4, 5, 6, 7):
		// b becomes 3, returns 29. b != 2 both times: 2 side effects.
		res.Retval = 2<<16 | (2 + 29)
	default:
		return res, fail(syscall.EFAULT, "tracing programs with attach type %v cannot be test-run", opts.Attach)
	}
	return res, nil
}
