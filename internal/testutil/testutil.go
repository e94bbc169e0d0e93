// Package testutil is test-only machinery shared by gobee's test packages:
// the skips for tests that need the kernel or root, and the conversion of
// cilium/ebpf instructions into gobee's. Nothing outside _test.go files
// imports it.
package testutil

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"

	"github.com/cilium/ebpf/asm"

	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/kernel"
)

// RequireKernel skips tb unless the kernel engine can load and test-run
// programs here (kernel.Supported).
func RequireKernel(tb testing.TB) {
	tb.Helper()
	if err := kernel.Supported(); err != nil {
		tb.Skipf("kernel engine unavailable: %v", err)
	}
}

// RequireRoot skips tb unless the test runs as root, which bpf() needs.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root for bpf()")
	}
}

// Decode turns cilium/ebpf instructions into gobee's by marshalling them
// little-endian and decoding the bytes, so both sides see the same
// encoding (one isa.Instruction per lddw slot pair). It fails tb on error.
func Decode(tb testing.TB, insns asm.Instructions) isa.Instructions {
	tb.Helper()
	var buf bytes.Buffer
	if err := insns.Marshal(&buf, binary.LittleEndian); err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	dec, err := isa.Decode(buf.Bytes(), binary.LittleEndian)
	if err != nil {
		tb.Fatalf("decode: %v", err)
	}
	return dec
}
