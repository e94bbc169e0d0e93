package objects

import (
	"encoding/binary"
	"errors"
	"testing"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"

	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/loader"
)

// TestRunKernelOnlyType: a kprobe cannot be test-run by the kernel, but
// gobee runs it through Program.Run with a struct pt_regs as ctx_in
// (x86-64: di at offset 112, 168 bytes in all).
func TestRunKernelOnlyType(t *testing.T) {
	insns, err := isa.Assemble("r0 = *(u64 *)(r1 + 112)\nexit")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProgram(&ProgramSpec{Name: "kp", Type: loader.ProgKprobe, Instructions: insns, License: "GPL"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	regs := make([]byte, 168)
	binary.NativeEndian.PutUint64(regs[112:], 0x1234)
	ret, err := p.Run(&RunOptions{Context: regs})
	if err != nil || ret != 0x1234 {
		t.Fatalf("got %#x, %v; want 0x1234", ret, err)
	}
	if _, err := p.Run(&RunOptions{Context: make([]byte, 100)}); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("short pt_regs: got %v, want EINVAL", err)
	}
}
