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

// TestCGroupSKBReturnRangeKernel: the verifier allows cgroup_skb programs
// 2 and 3 only when loaded for egress; progtype.ReturnRange must agree.
func TestCGroupSKBReturnRangeKernel(t *testing.T) {
	testutil.RequireKernel(t)
	n := 0
	for _, attach := range []progtype.AttachType{progtype.AttachCGroupInetIngress, progtype.AttachCGroupInetEgress} {
		for r0 := int64(-1); r0 <= 4; r0++ {
			insns, err := isa.Assemble(fmt.Sprintf("r0 = %d\nexit", r0))
			if err != nil {
				t.Fatal(err)
			}
			p, err := kernel.LoadProgramWith(insns, kernel.LoadOptions{Type: ebpf.CGroupSKB, ExpectedAttachType: ebpf.AttachType(attach), License: "GPL"})
			kernelOK := err == nil
			if p != nil {
				p.Close()
			}
			rr := progtype.ReturnRange(progtype.CGroupSKB, attach)
			gobeeOK := r0 >= rr.Min && r0 <= rr.Max
			if kernelOK != gobeeOK {
				t.Errorf("attach %v, r0 %d: kernel accepts %v, gobee's range [%d, %d]", attach, r0, kernelOK, rr.Min, rr.Max)
			}
			n++
		}
	}
	t.Logf("testrun: compared %d cgroup_skb return-range verdicts against the kernel verifier", n)
}
