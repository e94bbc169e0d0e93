//go:build linux

package testrun

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gobee-dev/gobee/internal/testutil"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/progtype"
)

// kernelOnlyAccessCase is one program type and expected attach type whose
// context rules are compared with the kernel verifier's.
type kernelOnlyAccessCase struct {
	typ    progtype.Type
	attach progtype.AttachType
	// offs are the offsets to try (every one below size+4 when nil).
	size uint32
	offs []uint32
	rule func(off, size uint32, write bool) error
}

func kernelOnlyAccessCases() []kernelOnlyAccessCase {
	withAttach := func(a progtype.AttachType, f func(progtype.AttachType, uint32, uint32, bool) error) func(off, size uint32, write bool) error {
		return func(off, size uint32, write bool) error { return f(a, off, size, write) }
	}
	skb := func(typ progtype.Type) func(off, size uint32, write bool) error {
		return func(off, size uint32, write bool) error {
			_, err := progtype.SKBAccess(typ, off, size, write)
			return err
		}
	}
	var tpOffs []uint32
	for off := uint32(0); off < 72; off++ {
		tpOffs = append(tpOffs, off)
	}
	for off := uint32(progtype.PerfMaxTraceSize - 16); off < progtype.PerfMaxTraceSize+8; off++ {
		tpOffs = append(tpOffs, off)
	}
	cs := []kernelOnlyAccessCase{
		{typ: progtype.Kprobe, size: progtype.PtRegsSize, rule: progtype.KprobeAccess},
		{typ: progtype.Tracepoint, offs: tpOffs, rule: progtype.TracepointAccess},
		{typ: progtype.PerfEvent, attach: progtype.AttachPerfEvent, size: progtype.PerfEventDataSize, rule: progtype.PerfEventAccess},
		{typ: progtype.SockOps, attach: progtype.AttachCGroupSockOps, size: progtype.SockOpsSize, rule: progtype.SockOpsAccess},
		{typ: progtype.SKSKB, attach: progtype.AttachSKSKBStreamVerdict, size: progtype.SKBSize, rule: skb(progtype.SKSKB)},
		{typ: progtype.SKSKB, attach: progtype.AttachSKSKBStreamParser, size: progtype.SKBSize, rule: skb(progtype.SKSKB)},
		{typ: progtype.LWTSeg6Local, size: progtype.SKBSize, rule: skb(progtype.LWTSeg6Local)},
		{typ: progtype.SKMsg, attach: progtype.AttachSKMsgVerdict, size: progtype.SKMsgMDSize, rule: progtype.SKMsgAccess},
		{typ: progtype.CGroupDevice, attach: progtype.AttachCGroupDevice, size: progtype.CGroupDevCtxSize, rule: progtype.CGroupDevAccess},
		{typ: progtype.CGroupSysctl, attach: progtype.AttachCGroupSysctl, size: progtype.SysctlCtxSize, rule: progtype.SysctlAccess},
		{typ: progtype.LircMode2, attach: progtype.AttachLircMode2, size: progtype.LircMode2CtxSize, rule: progtype.LircMode2Access},
	}
	for _, a := range []progtype.AttachType{progtype.AttachSKReuseportSelect, progtype.AttachSKReuseportSelectOrMigrate} {
		cs = append(cs, kernelOnlyAccessCase{typ: progtype.SKReuseport, attach: a, size: progtype.SKReuseportMDSize, rule: progtype.SKReuseportAccess})
	}
	for _, a := range []progtype.AttachType{progtype.AttachCGroupInetSockCreate, progtype.AttachCGroupInetSockRelease,
		progtype.AttachCGroupInet4PostBind, progtype.AttachCGroupInet6PostBind} {
		cs = append(cs, kernelOnlyAccessCase{typ: progtype.CGroupSock, attach: a, size: progtype.BPFSockSize, rule: withAttach(a, progtype.SockAccess)})
	}
	for _, a := range progtype.Lookup(progtype.CGroupSockAddr).AttachTypes {
		cs = append(cs, kernelOnlyAccessCase{typ: progtype.CGroupSockAddr, attach: a, size: progtype.SockAddrSize, rule: withAttach(a, progtype.SockAddrAccess)})
	}
	for _, a := range []progtype.AttachType{progtype.AttachCGroupGetsockopt, progtype.AttachCGroupSetsockopt} {
		cs = append(cs, kernelOnlyAccessCase{typ: progtype.CGroupSockopt, attach: a, size: progtype.SockoptCtxSize, rule: withAttach(a, progtype.SockoptAccess)})
	}
	return cs
}

// TestKernelOnlyContextAccess compares, for the program types the kernel
// can load but not test-run, the kernel verifier's verdict on every
// offset, width and direction of a context access with progtype's rules,
// loading each one-instruction program with the type's expected attach
// type.
func TestKernelOnlyContextAccess(t *testing.T) {
	testutil.RequireKernel(t)
	widths := map[uint32]string{1: "u8", 2: "u16", 4: "u32", 8: "u64"}
	counts := map[progtype.Type]int{}
	var order, missing []progtype.Type
	for _, c := range kernelOnlyAccessCases() {
		offs := c.offs
		if offs == nil {
			for off := uint32(0); off < c.size+4; off++ {
				offs = append(offs, off)
			}
		}
		// The program must load at all with this attach type.
		if kp, err := loadWith(c.typ, c.attach, 0, 0, mustAssemble(t, "r0 = 1\nexit\n")); err != nil {
			if noVerifierLog(err) {
				// EINVAL without a verifier log: the type is not
				// built into this kernel (lirc_mode2 needs
				// CONFIG_BPF_LIRC_MODE2).
				missing = append(missing, c.typ)
				continue
			}
			t.Errorf("%v/%v: the kernel refuses the empty program: %v", c.typ, c.attach, err)
			continue
		} else {
			// The kernel has no test_run for the type: gobee's run is an
			// extension (progtype's GobeeTestRun, not TestRun).
			if _, err := kernelRunMode(kp, Options{DataIn: make([]byte, 64)}, runMode{}); !errors.Is(err, ENOTSUPP) {
				t.Errorf("%v/%v: kernel test run: %v, want ENOTSUPP", c.typ, c.attach, err)
			}
			kp.Close()
		}
		if _, ok := counts[c.typ]; !ok {
			order = append(order, c.typ)
		}
		for _, off := range offs {
			for _, w := range []uint32{1, 2, 4, 8} {
				for _, write := range []bool{false, true} {
					asm := fmt.Sprintf("r2 = *(%s *)(r1 + %d)\nr0 = 1\nexit\n", widths[w], off)
					if write {
						asm = fmt.Sprintf("r2 = 0\n*(%s *)(r1 + %d) = r2\nr0 = 1\nexit\n", widths[w], off)
					}
					insns, err := isa.Assemble(asm)
					if err != nil {
						t.Fatal(err)
					}
					kp, kerr := loadWith(c.typ, c.attach, 0, 0, insns)
					if kerr == nil {
						kp.Close()
					}
					gerr := c.rule(off, w, write)
					counts[c.typ]++
					if (kerr == nil) != (gerr == nil) {
						t.Errorf("%v/%v: %q: kernel %v, gobee %v", c.typ, c.attach, asm, firstLineOrNil(kerr), gerr)
					}
				}
			}
		}
	}
	for _, typ := range order {
		fmt.Printf("testrun: compared %d %v context-access verdicts against the kernel verifier\n", counts[typ], typ)
	}
	for _, typ := range missing {
		fmt.Printf("testrun: %v is not built into this kernel: its context-access verdicts were not compared\n", typ)
	}
}

// TestKernelOnlyReturnRange compares, for each type and attach type, the
// return values the kernel verifier accepts from "r0 = v; exit" with
// progtype.ReturnRange.
func TestKernelOnlyReturnRange(t *testing.T) {
	testutil.RequireKernel(t)
	compared := 0
	for _, c := range kernelOnlyAccessCases() {
		r := progtype.ReturnRange(c.typ, c.attach)
		for v := int64(-2); v <= 5; v++ {
			kp, kerr := loadWith(c.typ, c.attach, 0, 0, mustAssemble(t, fmt.Sprintf("r0 = %d\nexit\n", v)))
			if kerr == nil {
				kp.Close()
			} else if noVerifierLog(kerr) {
				break // not built into this kernel
			}
			gok := !r.Checked || v >= r.Min && v <= r.Max
			compared++
			if (kerr == nil) != gok {
				t.Errorf("%v/%v: return %d: kernel %v, gobee range %+v", c.typ, c.attach, v, firstLineOrNil(kerr), r)
			}
		}
	}
	fmt.Printf("testrun: compared %d kernel-only return-range verdicts against the kernel verifier\n", compared)
}
