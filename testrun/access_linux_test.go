//go:build linux

package testrun

import (
	"fmt"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/gobee-dev/gobee/internal/testutil"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/kernel"
	"github.com/gobee-dev/gobee/progtype"
)

// TestContextAccessMatrix compares, for every offset, width and direction
// of a context access, the kernel verifier's verdict with progtype's rules.
func TestContextAccessMatrix(t *testing.T) {
	testutil.RequireKernel(t)
	widths := map[uint32]string{1: "u8", 2: "u16", 4: "u32", 8: "u64"}
	compared := 0
	check := func(typ progtype.Type, size int, rule func(off, size uint32, write bool) error) {
		for off := uint32(0); off < uint32(size)+4; off++ {
			for _, w := range []uint32{1, 2, 4, 8} {
				for _, write := range []bool{false, true} {
					asm := fmt.Sprintf("r2 = *(%s *)(r1 + %d)\nr0 = 0\nexit\n", widths[w], off)
					if write {
						asm = fmt.Sprintf("r2 = 0\n*(%s *)(r1 + %d) = r2\nr0 = 0\nexit\n", widths[w], off)
					}
					insns, err := isa.Assemble(asm)
					if err != nil {
						t.Fatal(err)
					}
					p, kerr := kernel.LoadProgram(ebpf.ProgramType(typ), insns, "GPL")
					if kerr == nil {
						p.Close()
					}
					gerr := rule(off, w, write)
					compared++
					if (kerr == nil) != (gerr == nil) {
						t.Errorf("%v: %s: kernel %v, gobee %v", typ, asm, firstLineOrNil(kerr), gerr)
					}
				}
			}
		}
	}
	for _, typ := range []progtype.Type{progtype.SocketFilter, progtype.SchedCLS, progtype.SchedACT, progtype.CGroupSKB,
		progtype.LWTIn, progtype.LWTOut, progtype.LWTXmit, progtype.LWTSeg6Local, progtype.SKSKB, progtype.FlowDissector} {
		check(typ, progtype.SKBSize, func(off, size uint32, write bool) error {
			_, err := progtype.SKBAccess(typ, off, size, write)
			return err
		})
	}
	check(progtype.XDP, progtype.XDPMDSize, func(off, size uint32, write bool) error {
		_, err := progtype.XDPAccess(progtype.AttachXDP, off, size, write)
		return err
	})
	fmt.Printf("testrun: compared %d context-access verdicts against the kernel verifier\n", compared)
}

func firstLineOrNil(err error) string {
	if err == nil {
		return "accepts"
	}
	return firstLine(err)
}
