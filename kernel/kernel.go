// Package kernel is the real-kernel engine: it loads gobee's bytecode into
// the running Linux kernel through bpf() (via github.com/cilium/ebpf) and
// runs it with BPF_PROG_TEST_RUN. The differential tests and
// `--engine kernel` use it as the oracle.
package kernel

import (
	"errors"

	"github.com/gobee-dev/gobee/isa"
)

// RunSubprogram runs insns in the kernel as a bpf-to-bpf subprogram of an
// XDP wrapper that passes r1 = pointer to a copy of mem and r2 = len(mem),
// the calling convention of the conformance suite. It returns the full
// 64-bit r0 and mem as the program left it.
func RunSubprogram(insns isa.Instructions, mem []byte) (r0 uint64, memOut []byte, err error) {
	return 0, nil, errors.New("kernel: RunSubprogram not implemented yet")
}
