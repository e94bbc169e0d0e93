//go:build linux

package kernel

import (
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bpf() commands (enum bpf_cmd).
const (
	cmdProgLoad    = 5
	cmdProgTestRun = 10
)

// logLevelVerbose is BPF_LOG_LEVEL1: the verifier's per-instruction trace
// of the path that failed, ending with the reason.
const logLevelVerbose = 1

// logSize is the log buffer for a failed load. Since Linux 6.4 the log is a
// rotating buffer, so a long log keeps its tail, which holds the reason.
const logSize = 1 << 20

// progLoadAttr is the BPF_PROG_LOAD part of union bpf_attr, up to
// attach_btf_id. The kernel zero-fills the fields after it.
type progLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              unsafe.Pointer
	license            unsafe.Pointer
	logLevel           uint32
	logSize            uint32
	logBuf             unsafe.Pointer
	kernVersion        uint32
	progFlags          uint32
	progName           [16]byte
	progIfindex        uint32
	expectedAttachType uint32
	progBTFFd          uint32
	funcInfoRecSize    uint32
	funcInfo           uint64
	funcInfoCnt        uint32
	lineInfoRecSize    uint32
	lineInfo           uint64
	lineInfoCnt        uint32
	attachBTFID        uint32
}

// testRunAttr is the BPF_PROG_TEST_RUN part of union bpf_attr.
type testRunAttr struct {
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

// bpf issues one bpf() command, retrying when the kernel asks to (EAGAIN
// from a load racing with memory pressure, EINTR from a signal).
func bpf(cmd uintptr, attr unsafe.Pointer, size uintptr) (int, error) {
	for attempt := 0; ; attempt++ {
		r, _, errno := unix.Syscall(unix.SYS_BPF, cmd, uintptr(attr), size)
		runtime.KeepAlive(attr)
		if errno == 0 {
			return int(r), nil
		}
		if (errno == unix.EAGAIN || errno == unix.EINTR) && attempt < 10 {
			continue
		}
		return -1, errno
	}
}

// progLoadWith runs BPF_PROG_LOAD on encoded bytecode. Without a log
// level it loads once without a log (the fast path) and, when that fails,
// again with a verbose log; with one it loads once with that log. A
// refusal is a *VerifierError carrying the log.
func progLoadWith(code []byte, o LoadOptions) (int, error) {
	if len(code) == 0 {
		return -1, errors.New("kernel: load program: no instructions")
	}
	lic := append([]byte(o.License), 0)
	attr := progLoadAttr{
		progType:           uint32(o.Type),
		insnCnt:            uint32(len(code) / 8),
		insns:              unsafe.Pointer(&code[0]),
		license:            unsafe.Pointer(&lic[0]),
		progFlags:          o.Flags,
		expectedAttachType: uint32(o.ExpectedAttachType),
		attachBTFID:        o.AttachBTFID,
	}
	copy(attr.progName[:], "gobee")
	var errno unix.Errno
	if o.LogLevel == 0 {
		fd, err := bpf(cmdProgLoad, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		runtime.KeepAlive(code)
		runtime.KeepAlive(lic)
		if err == nil {
			return fd, nil
		}
		errno, _ = err.(unix.Errno)
	}
	size, level := logSize, uint32(logLevelVerbose)
	if o.LogLevel != 0 {
		level = o.LogLevel
		if o.LogSize > 0 {
			size = o.LogSize
		}
	}
	buf := make([]byte, size)
	attr.logLevel, attr.logSize, attr.logBuf = level, uint32(len(buf)), unsafe.Pointer(&buf[0])
	fd, err := bpf(cmdProgLoad, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(code)
	runtime.KeepAlive(lic)
	runtime.KeepAlive(buf)
	if err == nil {
		// Loads are deterministic; a second attempt that succeeds means
		// the first failed for a transient reason.
		return fd, nil
	}
	if o.LogLevel != 0 {
		errno, _ = err.(unix.Errno)
	}
	return -1, &VerifierError{Errno: errno, Log: splitLog(buf)}
}

// testRun runs BPF_PROG_TEST_RUN once with repeat runs. The output buffer
// grows when the kernel reports that the packet grew beyond it.
func testRun(fd int, data, ctx []byte, repeat uint32) (retval uint32, out []byte, durationNs uint32, err error) {
	size := len(data) + 256
	for {
		res, err := testRunWith(fd, TestRunOptions{DataIn: data, DataOut: size, CtxIn: ctx, Repeat: repeat})
		if errors.Is(err, unix.ENOSPC) && int(res.DataSizeOut) > size {
			size = int(res.DataSizeOut)
			continue
		}
		if err != nil {
			return 0, nil, 0, fmt.Errorf("kernel: test run: %w", err)
		}
		return res.Retval, res.DataOut, uint32(res.Duration), nil
	}
}

// testRunWith runs BPF_PROG_TEST_RUN once. On error the result still
// carries data_size_out, so that a caller can grow its buffer on ENOSPC.
func testRunWith(fd int, o TestRunOptions) (TestRunResult, error) {
	outSize := o.DataOut
	if o.DataOut > 0 && int(o.DataSizeOut) > outSize {
		outSize = int(o.DataSizeOut) // room for all the kernel may write
	}
	out := make([]byte, outSize)
	ctxOut := make([]byte, o.CtxOut)
	var ctxIn []byte
	if o.CtxIn != nil {
		ctxIn = append([]byte{}, o.CtxIn...)
	}
	attr := testRunAttr{
		progFd:     uint32(fd),
		dataSizeIn: uint32(len(o.DataIn)),
		repeat:     o.Repeat,
		ctxSizeIn:  uint32(len(ctxIn)),
		flags:      o.Flags,
		cpu:        o.CPU,
		batchSize:  o.BatchSize,
	}
	if len(o.DataIn) > 0 {
		attr.dataIn = unsafe.Pointer(&o.DataIn[0])
	}
	if o.DataOut > 0 {
		attr.dataOut, attr.dataSizeOut = unsafe.Pointer(&out[0]), uint32(o.DataOut)
		if o.DataSizeOut != 0 {
			attr.dataSizeOut = o.DataSizeOut
		}
	}
	if len(ctxIn) > 0 {
		attr.ctxIn = unsafe.Pointer(&ctxIn[0])
	}
	if o.CtxOut > 0 {
		attr.ctxOut, attr.ctxSizeOut = unsafe.Pointer(&ctxOut[0]), uint32(o.CtxOut)
	}
	_, err := bpf(cmdProgTestRun, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(o.DataIn)
	runtime.KeepAlive(ctxIn)
	runtime.KeepAlive(out)
	runtime.KeepAlive(ctxOut)
	res := TestRunResult{DataSizeOut: attr.dataSizeOut}
	if err != nil {
		return res, err
	}
	res.Retval, res.CtxSizeOut, res.CtxIn = attr.retval, attr.ctxSizeOut, ctxIn
	res.Duration = time.Duration(attr.duration)
	if o.DataOut > 0 {
		res.DataOut = out[:min(int(attr.dataSizeOut), o.DataOut)]
	}
	if o.CtxOut > 0 {
		res.CtxOut = ctxOut[:min(int(attr.ctxSizeOut), o.CtxOut)]
	}
	return res, nil
}

// closeFD closes a program's file descriptor.
func closeFD(fd int) error { return unix.Close(fd) }

// mapCmd is MapCmd: bpf() retried only on EINTR.
func mapCmd(cmd uintptr, attr unsafe.Pointer, size uintptr) (int, error) {
	for {
		r, _, errno := unix.Syscall(unix.SYS_BPF, cmd, uintptr(attr), size)
		runtime.KeepAlive(attr)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(r), nil
	}
}
