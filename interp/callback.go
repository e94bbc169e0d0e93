package interp

import "fmt"

// RunFunc starts a new run of p at the function whose address an lddw of
// BPF_PSEUDO_FUNC gave it, with r1–r5 = args, and returns its r0. It is
// how callbacks that fire outside any run (bpf_timer) execute: the run has
// its own stack, in's regions, context and CPU, and the program's budget.
func (p *Program) RunFunc(fn uint64, args [5]uint64, in *Input) (uint64, error) {
	slot, ok := p.funcSlot(fn)
	if !ok {
		return 0, fmt.Errorf("%w: %#x", ErrBadCallTarget, fn)
	}
	if in == nil {
		in = &Input{}
	}
	return p.start(slot, &args, in)
}
