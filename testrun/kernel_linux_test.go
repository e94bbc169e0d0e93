//go:build linux

package testrun

import (
	"errors"
	"syscall"

	"github.com/gobee-dev/gobee/kernel"
)

// kernelRun is the oracle for Run: BPF_PROG_TEST_RUN with a data_out
// buffer of outSize bytes (Options.DataSizeOut, when set, is what
// data_size_out says) and, when ctx_in or Options.CtxOut is given, a
// ctx_out buffer of ctxOutSize bytes.
func kernelRun(p *kernel.Program, o Options, outSize, ctxOutSize int) (Result, error) {
	ko := kernel.TestRunOptions{DataIn: o.DataIn, DataOut: outSize, DataSizeOut: o.DataSizeOut, CtxIn: o.CtxIn,
		Repeat: o.Repeat, Flags: o.Flags, CPU: o.CPU, BatchSize: o.BatchSize}
	if o.CtxIn != nil || o.CtxOut {
		ko.CtxOut = ctxOutSize
	}
	res, err := p.TestRunWith(ko)
	if err != nil {
		return Result{}, err
	}
	return Result{Retval: res.Retval, DataSizeOut: res.DataSizeOut, DataOut: res.DataOut, CtxOut: res.CtxOut}, nil
}

// errnoOf returns the errno of a test-run error, or 0.
func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

// noVerifierLog reports whether err is a load the kernel refused without
// writing a verifier log: EINVAL for a program type not built into it.
func noVerifierLog(err error) bool {
	var ve *kernel.VerifierError
	return errors.Is(err, syscall.EINVAL) && errors.As(err, &ve) && len(ve.Log) == 0
}
