package progen

import (
	"math"

	"github.com/gobee-dev/gobee/isa"
)

func alu(c isa.Class, op, src uint8) isa.Opcode      { return isa.Opcode(uint8(c) | op | src) }
func jmp(c isa.Class, op, src uint8) isa.Opcode      { return isa.Opcode(uint8(c) | op | src) }
func memOp(c isa.Class, mode, size uint8) isa.Opcode { return isa.Opcode(uint8(c) | mode | size) }

// movX is a register move; off 8, 16 or 32 makes it movsx.
func movX(c isa.Class, dst, src isa.Register, off int16) isa.Instruction {
	return isa.Instruction{Op: alu(c, isa.OpMov, isa.SrcX), Dst: dst, Src: src, Off: off}
}

// aluClass returns ALU64 or ALU (32-bit) at random.
func (g *gen) aluClass() isa.Class {
	if g.rng.IntN(2) == 0 {
		return isa.ClassALU64
	}
	return isa.ClassALU
}

// loadImm sets dst to a random value: lddw, or a 64- or 32-bit mov.
func (g *gen) loadImm(dst isa.Register) {
	switch g.rng.IntN(3) {
	case 0:
		g.b.emit(isa.Instruction{Op: isa.OpcodeLDDW, Dst: dst, Imm: g.imm64()})
	default:
		g.b.emit(isa.Instruction{Op: alu(g.aluClass(), isa.OpMov, isa.SrcK), Dst: dst, Imm: int64(g.imm32())})
	}
}

// setValue sets dst to exactly v, with a mov when v fits the sign-extended
// 32-bit immediate and an lddw otherwise.
func (g *gen) setValue(dst isa.Register, v uint64) {
	if int64(v) == int64(int32(v)) {
		g.b.emit(isa.Instruction{Op: alu(isa.ClassALU64, isa.OpMov, isa.SrcK), Dst: dst, Imm: int64(v)})
		return
	}
	g.b.emit(isa.Instruction{Op: isa.OpcodeLDDW, Dst: dst, Imm: int64(v)})
}

// aluOps are the operations aluStatement picks from.
var aluOps = []uint8{
	isa.OpAdd, isa.OpSub, isa.OpMul, isa.OpDiv, isa.OpOr, isa.OpAnd, isa.OpLsh, isa.OpRsh,
	isa.OpNeg, isa.OpMod, isa.OpXor, isa.OpMov, isa.OpArsh, isa.OpEnd,
}

// aluStatement emits one ALU or ALU32 operation on a random register.
func (g *gen) aluStatement() {
	c, op, dst := g.aluClass(), aluOps[g.rng.IntN(len(aluOps))], g.pickDst()
	switch op {
	case isa.OpNeg:
		g.b.emit(isa.Instruction{Op: alu(c, isa.OpNeg, isa.SrcK), Dst: dst})
	case isa.OpEnd:
		g.endian(c, dst)
	case isa.OpMov:
		g.mov(c, dst)
	case isa.OpLsh, isa.OpRsh, isa.OpArsh:
		g.shift(c, op, dst)
	case isa.OpDiv, isa.OpMod:
		g.divMod(c, op, dst)
	default:
		if g.rng.IntN(2) == 0 {
			g.b.emit(isa.Instruction{Op: alu(c, op, isa.SrcK), Dst: dst, Imm: int64(g.imm32())})
		} else {
			g.b.emit(isa.Instruction{Op: alu(c, op, isa.SrcX), Dst: dst, Src: g.pickSrc()})
		}
	}
}

// endian emits le/be 16/32/64 (ALU) or bswap 16/32/64 (ALU64).
func (g *gen) endian(c isa.Class, dst isa.Register) {
	width := []int64{16, 32, 64}[g.rng.IntN(3)]
	if !g.cfg.NoOperandSetup && g.rng.IntN(4) == 0 {
		// High bits in every byte, so a swap that keeps or drops the
		// wrong ones shows.
		g.setValue(dst, swapEdges[g.rng.IntN(len(swapEdges))])
	}
	order := isa.EndToLE
	if c == isa.ClassALU && g.rng.IntN(2) == 0 {
		order = isa.EndToBE
	}
	g.b.emit(isa.Instruction{Op: alu(c, isa.OpEnd, order), Dst: dst, Imm: width})
}

// mov emits mov with an immediate, a register, or sign extension (movsx
// 8/16/32 for ALU64, 8/16 for ALU).
func (g *gen) mov(c isa.Class, dst isa.Register) {
	switch g.rng.IntN(3) {
	case 0:
		g.b.emit(isa.Instruction{Op: alu(c, isa.OpMov, isa.SrcK), Dst: dst, Imm: int64(g.imm32())})
	case 1:
		g.b.emit(movX(c, dst, g.pickSrc(), 0))
	default:
		src := g.pickSrc()
		if !g.cfg.NoOperandSetup && g.f.depth == 0 && g.rng.IntN(3) == 0 {
			// Sign-extend a value just loaded from the memory or stack.
			src = g.pickDst()
			g.loadInto(src)
		}
		offs := []int16{8, 16, 32}
		if c == isa.ClassALU {
			offs = offs[:2]
		}
		g.b.emit(movX(c, dst, src, offs[g.rng.IntN(len(offs))]))
	}
}

// shift emits a shift. Immediate amounts stay below the width, as the
// verifier demands; register amounts are often set to values at or past
// the width first, which the kernel masks at run time.
func (g *gen) shift(c isa.Class, op uint8, dst isa.Register) {
	width := 64
	if c == isa.ClassALU {
		width = 32
	}
	if g.rng.IntN(2) == 0 {
		amounts := []int{0, 1, width / 2, width - 1, g.rng.IntN(width)}
		g.b.emit(isa.Instruction{Op: alu(c, op, isa.SrcK), Dst: dst, Imm: int64(amounts[g.rng.IntN(len(amounts))])})
		return
	}
	src := g.pickSrc()
	if g.rng.IntN(2) == 0 {
		src = g.pickDst()
		g.setValue(src, shiftEdges[g.rng.IntN(len(shiftEdges))])
	}
	g.b.emit(isa.Instruction{Op: alu(c, op, isa.SrcX), Dst: dst, Src: src})
}

// divMod emits div or mod, unsigned or signed (off 1). Immediate divisors
// are never zero (the verifier rejects that); register divisors often are
// zero or -1.
func (g *gen) divMod(c isa.Class, op uint8, dst isa.Register) {
	var off int16
	if g.rng.IntN(2) == 0 {
		off = isa.OffSigned
	}
	if g.rng.IntN(3) == 0 {
		g.b.emit(isa.Instruction{Op: alu(c, op, isa.SrcK), Dst: dst, Off: off, Imm: int64(g.imm32NonZero())})
		return
	}
	src := g.pickSrc()
	if g.rng.IntN(2) == 0 {
		src = g.pickDst()
		g.setValue(src, divisorEdges[g.rng.IntN(len(divisorEdges))])
		if off == isa.OffSigned && src != dst && !g.cfg.NoOperandSetup && g.rng.IntN(2) == 0 {
			// INT_MIN (64- or 32-bit) over -1: the signed overflow.
			g.setValue(src, math.MaxUint64)
			g.setValue(dst, intMinEdges[g.rng.IntN(len(intMinEdges))])
		}
	}
	g.b.emit(isa.Instruction{Op: alu(c, op, isa.SrcX), Dst: dst, Src: src, Off: off})
}
