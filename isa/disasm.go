package isa

import (
	"fmt"
	"strings"
)

// String returns the instruction in the syntax of llvm-objdump, with jump
// targets as relative slot offsets ("goto +3"). An instruction that fails
// Check is written as a ".insn" line, which Assemble also reads:
//
//	.insn op=0x18 dst=1 src=7 off=0 imm=0x1122334455667788
//
// Registers are written as they are encoded (four bits) and, except for
// lddw, imm as the 32-bit value the encoding holds.
func (ins Instruction) String() string {
	if ins.Check() == nil {
		if s := ins.text(); s != "" {
			return s
		}
	}
	return ins.rawText()
}

// rawText renders every field of the instruction as a ".insn" line.
func (ins Instruction) rawText() string {
	imm := fmt.Sprint(int32(ins.Imm))
	if ins.IsLDDW() {
		imm = fmt.Sprintf("%#x", uint64(ins.Imm))
	}
	return fmt.Sprintf(".insn op=0x%02x dst=%d src=%d off=%d imm=%s",
		uint8(ins.Op), ins.Dst&0x0f, ins.Src&0x0f, ins.Off, imm)
}

// text renders an instruction that passed Check, or returns "" if it has
// no text form.
func (ins Instruction) text() string {
	switch ins.Op.Class() {
	case ClassALU, ClassALU64:
		return aluText(ins)
	case ClassLD:
		return ldText(ins)
	case ClassLDX:
		return fmt.Sprintf("r%d = *(%s *)(%s)", ins.Dst,
			sizeName(ins.Op.Size(), ins.Op.Mode() == ModeMEMSX), memText(ins.Src, int64(ins.Off)))
	case ClassST:
		return fmt.Sprintf("*(%s *)(%s) = %d", sizeName(ins.Op.Size(), false),
			memText(ins.Dst, int64(ins.Off)), int32(ins.Imm))
	case ClassSTX:
		if ins.Op.Mode() == ModeATOMIC {
			return atomicText(ins)
		}
		return fmt.Sprintf("*(%s *)(%s) = r%d", sizeName(ins.Op.Size(), false),
			memText(ins.Dst, int64(ins.Off)), ins.Src)
	}
	return jumpText(ins)
}

func aluText(ins Instruction) string {
	wide := ins.Op.Class() == ClassALU64
	dst, src := regText(ins.Dst, wide), regText(ins.Src, wide)
	imm := int32(ins.Imm)
	switch op := ins.Op.ALUOp(); op {
	case OpEnd:
		for _, e := range endianOps {
			if e.op == ins.Op {
				return fmt.Sprintf("r%d = %s%d r%d", ins.Dst, e.name, imm, ins.Dst)
			}
		}
		return ""
	case OpNeg:
		return dst + " = -" + dst
	case OpMov:
		return movText(ins, dst, src)
	}
	sym, ok := aluSym(ins.Op.ALUOp(), ins.Off)
	if !ok {
		return ""
	}
	if ins.Op.Source() == SrcX {
		return fmt.Sprintf("%s %s %s", dst, sym, src)
	}
	return fmt.Sprintf("%s %s %d", dst, sym, imm)
}

func movText(ins Instruction, dst, src string) string {
	switch {
	case ins.Op.Source() == SrcK:
		return fmt.Sprintf("%s = %d", dst, int32(ins.Imm))
	case ins.Op.Class() == ClassALU64 && ins.Off == OffAddrSpaceCast:
		imm := uint32(ins.Imm)
		return fmt.Sprintf("%s = addr_space_cast(%s, %d, %d)", dst, src, imm>>16, imm&0xffff)
	case ins.Off == 0:
		return dst + " = " + src
	}
	return fmt.Sprintf("%s = (s%d)%s", dst, ins.Off, src)
}

func ldText(ins Instruction) string {
	size := sizeName(ins.Op.Size(), false)
	switch {
	case ins.IsLDDW():
		return lddwText(ins)
	case ins.Op.Mode() == ModeABS:
		return fmt.Sprintf("r%d = *(%s *)skb[%d]", ins.Dst, size, int32(ins.Imm))
	}
	return fmt.Sprintf("r%d = *(%s *)skb[%s]", ins.Dst, size, memText(ins.Src, int64(int32(ins.Imm))))
}

// lddwText renders lddw. A plain constant fitting in 32 bits is decimal,
// anything else hex. Pseudo loads show the upper 32 bits as a second
// argument when they are not zero (always for the *_value forms).
func lddwText(ins Instruction) string {
	if ins.Src == 0 {
		if ins.Imm == int64(int32(ins.Imm)) {
			return fmt.Sprintf("r%d = %d ll", ins.Dst, ins.Imm)
		}
		return fmt.Sprintf("r%d = %#x ll", ins.Dst, uint64(ins.Imm))
	}
	lo, hi := int32(ins.Imm), uint32(uint64(ins.Imm)>>32)
	for _, e := range lddwPseudos {
		if e.src != ins.Src {
			continue
		}
		args := fmt.Sprint(lo)
		if e.src == PseudoFunc {
			args = fmt.Sprintf("%+d", lo)
		}
		if hi != 0 || strings.HasSuffix(e.name, "_value") {
			args += fmt.Sprintf(", %d", hi)
		}
		return fmt.Sprintf("r%d = %s(%s) ll", ins.Dst, e.name, args)
	}
	return ""
}

func atomicText(ins Instruction) string {
	size := ins.Op.Size()
	wide := size == SizeDW
	cast := fmt.Sprintf("(%s *)", sizeName(size, false))
	addr := memText(ins.Dst, int64(ins.Off))
	val := regText(ins.Src, wide)
	switch ins.Imm {
	case AtomicLoadAcq:
		return fmt.Sprintf("%s = load_acquire(%s(%s))", regText(ins.Dst, wide), cast, memText(ins.Src, int64(ins.Off)))
	case AtomicStoreRel:
		return fmt.Sprintf("store_release(%s(%s), %s)", cast, addr, val)
	case AtomicXchg:
		return fmt.Sprintf("%s = %s(%s, %s)", val, sized("xchg", wide), addr, val)
	case AtomicCmpXchg:
		r0 := regText(R0, wide)
		return fmt.Sprintf("%s = %s(%s, %s, %s)", r0, sized("cmpxchg", wide), addr, r0, val)
	}
	for _, e := range atomicOps {
		switch ins.Imm {
		case e.imm:
			return fmt.Sprintf("lock *%s(%s) %s %s", cast, addr, e.sym, val)
		case e.imm | AtomicFetch:
			return fmt.Sprintf("%s = atomic_fetch_%s(%s(%s), %s)", val, e.name, cast, addr, val)
		}
	}
	return ""
}

// sized returns llvm's name of xchg and cmpxchg: NAME_64 or NAME32_32.
func sized(name string, wide bool) string {
	if wide {
		return name + "_64"
	}
	return name + "32_32"
}

func jumpText(ins Instruction) string {
	switch ins.Op {
	case OpcodeJA:
		return fmt.Sprintf("goto %+d", ins.Off)
	case OpcodeGotoL:
		return fmt.Sprintf("gotol %+d", int32(ins.Imm))
	case OpcodeMayGoto:
		return fmt.Sprintf("may_goto %+d", ins.Off)
	case OpcodeExit:
		return "exit"
	case OpcodeCallX:
		return fmt.Sprintf("callx r%d", ins.Dst)
	case OpcodeCall:
		return callText(ins)
	}
	wide := ins.Op.Class() == ClassJMP
	sym, ok := jumpSym(ins.Op.JumpOp())
	if !ok {
		return ""
	}
	operand := fmt.Sprint(int32(ins.Imm))
	if ins.Op.Source() == SrcX {
		operand = regText(ins.Src, wide)
	}
	return fmt.Sprintf("if %s %s %s goto %+d", regText(ins.Dst, wide), sym, operand, ins.Off)
}

func callText(ins Instruction) string {
	imm := int32(ins.Imm)
	switch ins.Src {
	case PseudoCall:
		return fmt.Sprintf("call pc%+d", imm)
	case PseudoKfuncCall:
		if ins.Off != 0 {
			return fmt.Sprintf("call kfunc(%d, %d)", imm, ins.Off)
		}
		return fmt.Sprintf("call kfunc(%d)", imm)
	}
	return fmt.Sprintf("call %d", imm)
}
