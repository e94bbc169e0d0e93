// Package kernel is the real-kernel engine: it loads gobee's bytecode into
// the running Linux kernel through bpf() and runs it with
// BPF_PROG_TEST_RUN. The differential tests and `--engine kernel` use it as
// the oracle.
//
// Programs are loaded with a raw BPF_PROG_LOAD rather than through
// github.com/cilium/ebpf's ProgramSpec, so the kernel sees exactly the bytes
// gobee encoded: cilium's asm package re-encodes instructions and wants
// bpf-to-bpf calls and map loads expressed as symbols. Maps are created
// through cilium/ebpf.
//
// Nothing here holds file descriptors beyond the life of a call or of a
// *Program the caller closes.
package kernel

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// ErrNotSupported is returned on systems without bpf().
var ErrNotSupported = errors.New("kernel: bpf() is not supported on this system")

// VerifierError is a program the kernel refused to load. It carries the
// verifier's log.
type VerifierError struct {
	// Errno is what BPF_PROG_LOAD returned (EACCES, EINVAL, ...).
	Errno syscall.Errno
	// Log is the verifier log, one line per element. With a long log the
	// kernel keeps only its tail.
	Log []string
}

// logTail is how many log lines Error includes.
const logTail = 12

// Error returns the errno and the last lines of the log, where the
// verifier states its reason.
func (e *VerifierError) Error() string {
	lines := e.Log
	if len(lines) > logTail {
		lines = lines[len(lines)-logTail:]
	}
	if len(lines) == 0 {
		return fmt.Sprintf("kernel: load program: %v (no verifier log)", e.Errno)
	}
	return fmt.Sprintf("kernel: load program: %v: verifier log (last %d lines):\n\t%s",
		e.Errno, len(lines), strings.Join(lines, "\n\t"))
}

// Unwrap returns the errno.
func (e *VerifierError) Unwrap() error { return e.Errno }

// Reason returns the verifier's last line that states an error, or ""
// when the log is empty. It skips the statistics lines the kernel prints
// after the error.
func (e *VerifierError) Reason() string {
	for i := len(e.Log) - 1; i >= 0; i-- {
		l := e.Log[i]
		if l == "" || strings.HasPrefix(l, "processed ") || strings.HasPrefix(l, "verification time") ||
			strings.HasPrefix(l, "stack depth") {
			continue
		}
		return l
	}
	return ""
}

// splitLog turns a NUL-terminated log buffer into lines.
func splitLog(buf []byte) []string {
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		buf = buf[:i]
	}
	s := strings.TrimRight(string(buf), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
