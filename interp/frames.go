package interp

import (
	"fmt"

	"github.com/gobee-dev/gobee/isa"
)

// pushFrame enters a bpf-to-bpf call: it saves the caller's r6–r9, frame
// pointer and may_goto budget, gives the callee a fresh 512-byte frame
// below the caller's, and charges the budget one instruction.
func (r *Run) pushFrame(prog *Program, ret int) error {
	if r.depth+1 >= isa.MaxCallFrames {
		return fmt.Errorf("%w: %d frames", ErrCallDepth, isa.MaxCallFrames)
	}
	if r.budget--; r.budget < 0 {
		return ErrBudget
	}
	f := &r.frames[r.depth]
	f.prog, f.ret, f.fp, f.loops = prog, ret, r.regs[isa.RFP], r.loops
	copy(f.saved[:], r.regs[6:10])
	r.depth++
	r.regs[isa.RFP] -= isa.StackSize
	lo := r.regs[isa.RFP] - isa.StackSize
	r.setStack(lo)
	clear(r.stackMem[lo-Addr(r.stackMem[:]):][:isa.StackSize])
	r.loops = isa.MaxLoops
	return nil
}

// popFrame returns from a bpf-to-bpf call and gives the caller's resume pc.
func (r *Run) popFrame() int {
	r.depth--
	f := &r.frames[r.depth]
	copy(r.regs[6:10], f.saved[:])
	r.regs[isa.RFP] = f.fp
	r.setStack(f.fp - isa.StackSize)
	r.loops = f.loops
	r.prog = f.prog
	return f.ret
}

// callX performs callx: a call through a register. A function address
// (from lddw of BPF_PSEUDO_FUNC) is a bpf-to-bpf call; a small number is
// a helper id, which is how the conformance suite uses callx. It returns
// the next pc.
func (r *Run) callX(prog *Program, pc int, target uint64) (int, error) {
	if slot, ok := prog.funcSlot(target); ok {
		if err := r.pushFrame(prog, pc+1); err != nil {
			return 0, err
		}
		return slot, nil
	}
	fn, ok := prog.opts.Helpers[int32(target)]
	if target > 1<<31 || !ok || fn == nil {
		return 0, fmt.Errorf("%w: %#x", ErrBadCallTarget, target)
	}
	v, err := fn(r, r.regs[1], r.regs[2], r.regs[3], r.regs[4], r.regs[5])
	if err != nil {
		return 0, err
	}
	r.regs[0] = v
	return pc + 1, nil
}

// CallFunc calls a subprogram of the running program by the address an
// lddw of BPF_PSEUDO_FUNC gave it, with r1–r5 = args, and returns its r0.
// Callback helpers (bpf_loop, bpf_for_each_map_elem, timers) use it. The
// caller's registers are restored afterwards.
func (r *Run) CallFunc(fn uint64, args [5]uint64) (uint64, error) {
	slot, ok := r.prog.funcSlot(fn)
	if !ok {
		return 0, fmt.Errorf("%w: %#x", ErrBadCallTarget, fn)
	}
	saved, depth := r.regs, r.depth
	if err := r.pushFrame(r.prog, -1); err != nil {
		return 0, err
	}
	copy(r.regs[1:6], args[:])
	ret, err := r.exec(slot, r.depth)
	// A fault may leave deeper frames behind; unwind to our own.
	r.depth = depth + 1
	r.popFrame()
	r.regs = saved
	return ret, err
}

func (r *Run) fault(pc int, err error) error {
	if re, ok := err.(*RuntimeError); ok {
		return re
	}
	return &RuntimeError{PC: pc, Err: err}
}

// accessFaultAt reports a load or store outside the run's memory.
func (r *Run) accessFaultAt(pc int, addr, n uint64, write bool) error {
	kind := "load from"
	if write {
		kind = "store to"
		if r.writableMiss(addr, n) {
			return r.fault(pc, fmt.Errorf("%w: %d bytes at %#x", ErrReadOnly, n, addr))
		}
	}
	return r.fault(pc, fmt.Errorf("%w: %s %d bytes at %#x (stack is [%#x, %#x))",
		ErrOutOfBounds, kind, n, addr, r.lo, r.lo+r.span))
}

// writableMiss reports whether addr lies in a read-only region.
func (r *Run) writableMiss(addr, n uint64) bool {
	for _, m := range r.regions {
		if off := addr - m.addr; off < m.size && n <= m.size-off && !m.writable {
			return true
		}
	}
	return false
}

// context finds the context region holding [addr, addr+n).
func (r *Run) context(addr, n uint64) (*region, uint64) {
	for i := range r.regions {
		m := &r.regions[i]
		if off := addr - m.addr; m.accessor != nil && off < m.size && n <= m.size-off {
			return m, off
		}
	}
	return nil, 0
}

// contextLoad is the slow path of a load that missed the stack and the
// plain regions: a context field, or a fault.
func (r *Run) contextLoad(pc int, addr, n uint64) (uint64, error) {
	m, off := r.context(addr, n)
	if m == nil {
		return 0, r.accessFaultAt(pc, addr, n, false)
	}
	v, err := m.accessor.LoadContext(r, uint32(off), uint32(n))
	if err != nil {
		return 0, r.fault(pc, fmt.Errorf("%w: load of %d bytes at offset %d: %w", ErrContextAccess, n, off, err))
	}
	return v, nil
}

// contextStore is contextLoad for stores.
func (r *Run) contextStore(pc int, addr, n, v uint64) error {
	m, off := r.context(addr, n)
	if m == nil {
		return r.accessFaultAt(pc, addr, n, true)
	}
	if err := m.accessor.StoreContext(r, uint32(off), uint32(n), v); err != nil {
		return r.fault(pc, fmt.Errorf("%w: store of %d bytes at offset %d: %w", ErrContextAccess, n, off, err))
	}
	return nil
}
