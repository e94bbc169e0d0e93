package difftest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
)

// mutate returns a copy of insns with the immediate of one random ALU
// instruction with an immediate source changed by one, or false if there
// is none. The copy still passes the verifier's rules the generator keeps
// unless the change makes a shift or divisor immediate invalid, which
// mutate avoids.
func mutate(rng *rand.Rand, insns isa.Instructions) (isa.Instructions, bool) {
	var cands []int
	for i, ins := range insns {
		op := ins.Op.ALUOp()
		if ins.Op.Class().IsALU() && ins.Op.Source() == isa.SrcK &&
			(op == isa.OpAdd || op == isa.OpSub || op == isa.OpXor || op == isa.OpOr || op == isa.OpMov) {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return nil, false
	}
	out := slices.Clone(insns)
	out[cands[rng.IntN(len(cands))]].Imm ^= 1
	return out, true
}

// TestHarnessSeesMutations checks that the comparison can see a change: it
// runs mutated programs in gobee against the original in the kernel and
// expects most to differ. It measures how much of a program's computation
// reaches r0 and the memory.
func TestHarnessSeesMutations(t *testing.T) {
	requireKernel(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var tried, seen int
	for seed := uint64(0); seed < 300; seed++ {
		c := newCase(seed)
		m, ok := mutate(rng, c.insns)
		if !ok {
			continue
		}
		want := c.runKernel()
		if want.err != nil {
			continue
		}
		c.insns = m
		got := c.runInterp()
		if errors.Is(got.err, interp.ErrBudget) {
			continue // the mutation broke a loop counter
		}
		tried++
		if diff(want, got) != "" {
			seen++
		}
	}
	msg := fmt.Sprintf("differential: %d of %d single-bit immediate mutations changed r0 or memory", seen, tried)
	t.Log(msg)
	if tried == 0 || 10*seen < 3*tried {
		t.Errorf("%s; the comparison sees too little of what programs compute", msg)
	}
}
