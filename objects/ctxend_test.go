package objects

import (
	"errors"
	"testing"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/loader"
)

// TestRunChecksContextReach: a raw tracepoint program reading args[3] needs
// a ctx_in of at least 32 bytes; a shorter one is the kernel's EINVAL up
// front (max_ctx_offset), not a fault in the middle of the run.
func TestRunChecksContextReach(t *testing.T) {
	insns, err := isa.Assemble("r0 = *(u64 *)(r1 + 24)\nexit")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProgram(&ProgramSpec{Name: "rawtp", Type: loader.ProgRawTracepoint, Instructions: insns, License: "GPL"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ret, err := p.Run(&RunOptions{Context: make([]byte, 32)})
	if err != nil || ret != 0 {
		t.Fatalf("32-byte ctx: %d, %v", ret, err)
	}
	if _, err := p.Run(&RunOptions{Context: make([]byte, 16)}); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("16-byte ctx: got %v, want EINVAL", err)
	}
}
