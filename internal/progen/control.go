package progen

import "github.com/gobee-dev/gobee/isa"

// conditions are the conditional jump operations.
var conditions = []uint8{
	isa.OpJEQ, isa.OpJGT, isa.OpJGE, isa.OpJSET, isa.OpJNE, isa.OpJSGT,
	isa.OpJSGE, isa.OpJLT, isa.OpJLE, isa.OpJSLT, isa.OpJSLE,
}

// condJump emits a JMP or JMP32 conditional jump to l, comparing a
// register with an immediate or another register.
func (g *gen) condJump(l label) {
	c := isa.ClassJMP
	if g.rng.IntN(2) == 0 {
		c = isa.ClassJMP32
	}
	op := conditions[g.rng.IntN(len(conditions))]
	ins := isa.Instruction{Op: jmp(c, op, isa.SrcK), Dst: g.pickSrc(), Imm: int64(g.imm32())}
	if g.rng.IntN(2) == 0 {
		ins = isa.Instruction{Op: jmp(c, op, isa.SrcX), Dst: g.pickSrc(), Src: g.pickSrc()}
	}
	g.b.branch(ins, l, fixOff)
}

// goTo emits an unconditional jump to l: ja (16-bit offset) or gotol
// (32-bit offset in imm).
func (g *gen) goTo(l label) {
	if g.rng.IntN(4) == 0 {
		g.b.branch(isa.Instruction{Op: isa.OpcodeGotoL}, l, fixImm)
		return
	}
	g.b.branch(isa.Instruction{Op: isa.OpcodeJA}, l, fixOff)
}

// nested runs body with the block nesting one deeper.
func (g *gen) nested(body func()) {
	g.f.depth++
	body()
	g.f.depth--
}

// bodySize returns a size for a nested block given the room left.
func (g *gen) bodySize(room, most int) int { return 1 + g.rng.IntN(max(min(room/2, most), 1)) }

// ifBlock emits: if cond goto end; body; end:
func (g *gen) ifBlock(room int) {
	end := g.b.newLabel()
	g.condJump(end)
	g.nested(func() { g.block(g.bodySize(room, 10)) })
	g.b.bind(end)
}

// ifElse emits: if cond goto else; then; goto end; else: other; end:
func (g *gen) ifElse(room int) {
	other, end := g.b.newLabel(), g.b.newLabel()
	g.condJump(other)
	g.nested(func() {
		g.block(g.bodySize(room/2, 6))
		g.goTo(end)
		g.b.bind(other)
		g.block(g.bodySize(room/2, 6))
	})
	g.b.bind(end)
}

// loop emits a loop that runs a body a small constant number of times,
// counting in a callee-saved register the body does not write, so the
// verifier can follow every iteration to the end. With may_goto the loop
// may also check may_goto at the top (leaving the loop when it jumps),
// and may take the shape of a loop bounded by may_goto: it leaves through
// may_goto or a test of the counter, and jumps back with goto or gotol.
func (g *gen) loop(room int) {
	f := g.f
	counter := isa.R6 + isa.Register(g.rng.IntN(3))
	trips := int64(1 + g.rng.IntN(4))
	top, end := g.b.newLabel(), g.b.newLabel()
	saved := f.reserved
	f.reserved |= 1 << counter
	f.inLoop = true
	style := g.rng.IntN(4)
	switch style {
	case 0, 1: // count down
		g.b.emit(isa.Instruction{Op: alu(g.aluClass(), isa.OpMov, isa.SrcK), Dst: counter, Imm: trips})
	default: // count up
		g.b.emit(isa.Instruction{Op: alu(g.aluClass(), isa.OpMov, isa.SrcK), Dst: counter})
	}
	// Only the entry subprogram: in callees the verifier may widen the
	// counter at may_goto and then fail to bound the loop.
	mayGoto := f.index == 0 && f.mayGotos > 0 && g.rng.IntN(2) == 0
	backward := mayGoto && g.rng.IntN(2) == 0 // leave forward, jump back unconditionally
	g.b.bind(top)
	if mayGoto {
		f.mayGotos--
		g.b.branch(isa.Instruction{Op: isa.OpcodeMayGoto}, end, fixOff)
	}
	g.nested(func() {
		f.inMayGoto = mayGoto
		g.block(g.bodySize(room, 8))
		f.inMayGoto = false
	})
	// Each style: the counter update, the condition that repeats the loop
	// and the one that leaves it.
	var update, again, leave isa.Instruction
	switch style {
	case 0:
		update = isa.Instruction{Op: alu(isa.ClassALU64, isa.OpAdd, isa.SrcK), Dst: counter, Imm: -1}
		again = isa.Instruction{Op: jmp(isa.ClassJMP, isa.OpJNE, isa.SrcK), Dst: counter}
		leave = isa.Instruction{Op: jmp(isa.ClassJMP, isa.OpJEQ, isa.SrcK), Dst: counter}
	case 1:
		update = isa.Instruction{Op: alu(isa.ClassALU, isa.OpSub, isa.SrcK), Dst: counter, Imm: 1}
		again = isa.Instruction{Op: jmp(isa.ClassJMP32, isa.OpJSGT, isa.SrcK), Dst: counter}
		leave = isa.Instruction{Op: jmp(isa.ClassJMP32, isa.OpJSLE, isa.SrcK), Dst: counter}
	case 2:
		update = isa.Instruction{Op: alu(isa.ClassALU64, isa.OpAdd, isa.SrcK), Dst: counter, Imm: 1}
		again = isa.Instruction{Op: jmp(isa.ClassJMP, isa.OpJLT, isa.SrcK), Dst: counter, Imm: trips}
		leave = isa.Instruction{Op: jmp(isa.ClassJMP, isa.OpJGE, isa.SrcK), Dst: counter, Imm: trips}
	default:
		update = isa.Instruction{Op: alu(isa.ClassALU, isa.OpAdd, isa.SrcK), Dst: counter, Imm: 1}
		again = isa.Instruction{Op: jmp(isa.ClassJMP32, isa.OpJNE, isa.SrcK), Dst: counter, Imm: trips}
		leave = isa.Instruction{Op: jmp(isa.ClassJMP32, isa.OpJEQ, isa.SrcK), Dst: counter, Imm: trips}
	}
	g.b.emit(update)
	if backward {
		g.b.branch(leave, end, fixOff)
		g.goTo(top)
	} else {
		g.b.branch(again, top, fixOff)
	}
	g.b.bind(end)
	f.reserved = saved
	f.inLoop = false
}

// mayGotoSkip emits: may_goto end; body; end: — the body runs unless the
// may_goto budget is spent, which never happens here. Sometimes the body
// is empty (may_goto +0, which the kernel removes as a no-op).
func (g *gen) mayGotoSkip(room int) {
	g.f.mayGotos--
	end := g.b.newLabel()
	g.b.branch(isa.Instruction{Op: isa.OpcodeMayGoto}, end, fixOff)
	if g.rng.IntN(8) != 0 {
		g.nested(func() {
			g.f.inMayGoto = true
			g.block(g.bodySize(room, 6))
			g.f.inMayGoto = false
		})
	}
	g.b.bind(end)
}

// call emits a bpf-to-bpf call of subprogram t with the memory pointer in
// r1 and the current scalars in r2–r5, then sets r1–r5 again, because the
// call leaves them uninitialised for the verifier.
func (g *gen) call(t int) {
	g.called[t] = true
	g.f.calls++
	g.b.emit(movX(isa.ClassALU64, isa.R1, isa.R9, 0))
	g.b.branch(isa.Instruction{Op: isa.OpcodeCall, Src: isa.PseudoCall}, g.entries[t], fixImm)
	for r := isa.R1; r <= isa.R5; r++ {
		if g.rng.IntN(2) == 0 {
			g.loadImm(r)
			continue
		}
		src := []isa.Register{isa.R0, isa.R6, isa.R7, isa.R8}[g.rng.IntN(4)]
		g.b.emit(movX(g.aluClass(), r, src, 0))
	}
}
