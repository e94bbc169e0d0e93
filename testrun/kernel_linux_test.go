//go:build linux

package testrun

import (
	"errors"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gobee-dev/gobee/kernel"
)

// kernelTestRunAttr is the BPF_PROG_TEST_RUN part of union bpf_attr.
type kernelTestRunAttr struct {
	progFd      uint32
	retval      uint32
	dataSizeIn  uint32
	dataSizeOut uint32
	dataIn      unsafe.Pointer
	dataOut     unsafe.Pointer
	repeat      uint32
	duration    uint32
	ctxSizeIn   uint32
	ctxSizeOut  uint32
	ctxIn       unsafe.Pointer
	ctxOut      unsafe.Pointer
	flags       uint32
	cpu         uint32
	batchSize   uint32
}

// kernelRun is BPF_PROG_TEST_RUN with ctx_out, which the kernel package
// does not expose: the oracle for Run.
func kernelRun(fd int, o Options, ctxOutSize int) (Result, error) {
	out := make([]byte, len(o.DataIn)+512)
	ctxOut := make([]byte, ctxOutSize)
	attr := kernelTestRunAttr{
		progFd: uint32(fd), dataSizeIn: uint32(len(o.DataIn)), dataSizeOut: uint32(len(out)),
		dataOut: unsafe.Pointer(&out[0]), repeat: o.Repeat, ctxSizeIn: uint32(len(o.CtxIn)),
		flags: o.Flags, cpu: o.CPU, batchSize: o.BatchSize,
	}
	if o.DataSizeOut != 0 {
		attr.dataSizeOut = o.DataSizeOut
	}
	if len(o.DataIn) > 0 {
		attr.dataIn = unsafe.Pointer(&o.DataIn[0])
	}
	if len(o.CtxIn) > 0 {
		attr.ctxIn = unsafe.Pointer(&o.CtxIn[0])
	}
	if o.CtxIn != nil || o.CtxOut {
		attr.ctxOut, attr.ctxSizeOut = unsafe.Pointer(&ctxOut[0]), uint32(len(ctxOut))
	}
	_, err := kernel.Syscall(unix.BPF_PROG_TEST_RUN, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(o.DataIn)
	runtime.KeepAlive(o.CtxIn)
	runtime.KeepAlive(out)
	runtime.KeepAlive(ctxOut)
	if err != nil {
		return Result{}, err
	}
	res := Result{Retval: attr.retval, DataSizeOut: attr.dataSizeOut, DataOut: out[:min(int(attr.dataSizeOut), len(out))]}
	if attr.ctxOut != nil {
		res.CtxOut = ctxOut[:attr.ctxSizeOut]
	}
	return res, nil
}

// errnoOf returns the errno of a test-run error, or 0.
func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}
