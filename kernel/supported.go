package kernel

import (
	"fmt"
	"sync"

	"github.com/gobee-dev/gobee/isa"
)

// Supported reports whether this system can load and test-run programs
// with bpf-to-bpf calls, which RunSubprogram needs. It returns nil if so,
// or an error saying why not, for tests to skip with. The answer is
// computed once; no file descriptor outlives the probe.
func Supported() error { return supported() }

var supported = sync.OnceValue(probe)

// probe runs a subprogram that returns a constant and writes its memory.
func probe() error {
	sub := isa.Instructions{
		{Op: isa.Opcode(uint8(isa.ClassST) | isa.ModeMEM | isa.SizeB), Dst: isa.R1, Imm: 0x5a},
		movImm(isa.R0, 42),
		{Op: isa.OpcodeExit},
	}
	r0, mem, err := RunSubprogram(sub, []byte{0})
	if err != nil {
		return fmt.Errorf("kernel: bpf() cannot load and run a test XDP program: %w", err)
	}
	if r0 != 42 || mem[0] != 0x5a {
		return fmt.Errorf("kernel: probe program returned r0=%d mem=%#x, want 42 and 0x5a", r0, mem[0])
	}
	return nil
}
