//go:build linux

package kernel

import (
	"errors"
	"fmt"
	"runtime"
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
// expected_attach_type. The kernel zero-fills the fields after it.
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

// Syscall issues one bpf() command with a raw union bpf_attr, retrying
// when the kernel asks to (EAGAIN from a load racing with memory pressure
// or RCU, EINTR from a signal). Tests that need attributes this package
// does not model (expected attach types, ctx_out) use it.
func Syscall(cmd uintptr, attr unsafe.Pointer, size uintptr) (int, error) {
	return bpf(cmd, attr, size)
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

// progLoad runs BPF_PROG_LOAD on encoded bytecode. It loads once without a
// log (the fast path); when that fails it loads again with a verbose log
// and returns a *VerifierError carrying it.
func progLoad(progType uint32, code []byte, license string) (int, error) {
	if len(code) == 0 {
		return -1, errors.New("kernel: load program: no instructions")
	}
	lic := append([]byte(license), 0)
	attr := progLoadAttr{
		progType: progType,
		insnCnt:  uint32(len(code) / 8),
		insns:    unsafe.Pointer(&code[0]),
		license:  unsafe.Pointer(&lic[0]),
	}
	copy(attr.progName[:], "gobee")
	fd, err := bpf(cmdProgLoad, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err == nil {
		return fd, nil
	}
	errno, _ := err.(unix.Errno)
	buf := make([]byte, logSize)
	attr.logLevel, attr.logSize, attr.logBuf = logLevelVerbose, uint32(len(buf)), unsafe.Pointer(&buf[0])
	fd, err2 := bpf(cmdProgLoad, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(buf)
	if err2 == nil {
		// Loads are deterministic; a second attempt that succeeds means
		// the first failed for a transient reason.
		return fd, nil
	}
	return -1, &VerifierError{Errno: errno, Log: splitLog(buf)}
}

// testRun runs BPF_PROG_TEST_RUN once with repeat runs. The output buffer
// grows when the kernel reports that the packet grew beyond it.
func testRun(fd int, data, ctx []byte, repeat uint32) (retval uint32, out []byte, durationNs uint32, err error) {
	out = make([]byte, len(data)+256)
	for {
		attr := testRunAttr{
			progFd:      uint32(fd),
			dataSizeIn:  uint32(len(data)),
			dataSizeOut: uint32(len(out)),
			repeat:      repeat,
			ctxSizeIn:   uint32(len(ctx)),
		}
		if len(data) > 0 {
			attr.dataIn = unsafe.Pointer(&data[0])
		}
		if len(out) > 0 {
			attr.dataOut = unsafe.Pointer(&out[0])
		}
		if len(ctx) > 0 {
			attr.ctxIn = unsafe.Pointer(&ctx[0])
		}
		_, err := bpf(cmdProgTestRun, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		runtime.KeepAlive(data)
		runtime.KeepAlive(ctx)
		runtime.KeepAlive(out)
		if errors.Is(err, unix.ENOSPC) && int(attr.dataSizeOut) > len(out) {
			out = make([]byte, attr.dataSizeOut)
			continue
		}
		if err != nil {
			return 0, nil, 0, fmt.Errorf("kernel: test run: %w", err)
		}
		return attr.retval, out[:min(int(attr.dataSizeOut), len(out))], attr.duration, nil
	}
}

// closeFD closes a program's file descriptor.
func closeFD(fd int) error { return unix.Close(fd) }
