package kernel

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cilium/ebpf"

	"github.com/gobee-dev/gobee/isa"
)

// Program is a program loaded into the kernel. Close releases it.
type Program struct {
	mu  sync.RWMutex // held for reading while the fd is in use
	fd  int
	typ ebpf.ProgramType
}

// LoadProgram loads insns as a program of type typ under the given license
// ("GPL" unlocks GPL-only helpers). A program the verifier rejects is
// reported as a *VerifierError with the log.
func LoadProgram(typ ebpf.ProgramType, insns isa.Instructions, license string) (*Program, error) {
	return LoadProgramWith(insns, LoadOptions{Type: typ, License: license})
}

// Type returns the program type.
func (p *Program) Type() ebpf.ProgramType { return p.typ }

// FD returns the program's file descriptor, or -1 once closed.
func (p *Program) FD() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.fd
}

// Close releases the program, waiting for test runs in progress. Closing
// twice is not an error.
func (p *Program) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fd < 0 {
		return nil
	}
	err := closeFD(p.fd)
	p.fd = -1
	if err != nil {
		return fmt.Errorf("kernel: close program: %w", err)
	}
	return nil
}

// errClosed is returned by TestRun on a closed program.
var errClosed = errors.New("kernel: program is closed")

// TestRun runs the program with BPF_PROG_TEST_RUN: data is the packet (at
// least 14 bytes for XDP and skb programs), ctx the raw context or nil,
// repeat the number of runs (0 means 1). It returns the last run's return
// value, the packet as the program left it, and the mean time per run as
// the kernel measured it.
func (p *Program) TestRun(data, ctx []byte, repeat int) (retval uint32, dataOut []byte, duration time.Duration, err error) {
	if repeat < 0 || uint64(repeat) > 1<<32-1 {
		return 0, nil, 0, fmt.Errorf("kernel: test run: repeat %d out of range", repeat)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.fd < 0 {
		return 0, nil, 0, errClosed
	}
	ret, out, ns, err := testRun(p.fd, data, ctx, uint32(repeat))
	if err != nil {
		return 0, nil, 0, err
	}
	return ret, out, time.Duration(ns), nil
}
