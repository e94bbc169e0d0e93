package interp

import (
	"fmt"

	"github.com/gobee-dev/gobee/isa"
)

// op is the interpreter's own opcode: one value per distinct behaviour, so
// that the run loop is a single dense switch (compiled to a jump table)
// with no further decoding of fields at run time.
type op uint8

const (
	opInvalid op = iota

	// 64-bit ALU, immediate (K) and register (X) forms.
	opAdd64K
	opAdd64X
	opSub64K
	opSub64X
	opMul64K
	opMul64X
	opDiv64K
	opDiv64X
	opSDiv64K
	opSDiv64X
	opMod64K
	opMod64X
	opSMod64K
	opSMod64X
	opOr64K
	opOr64X
	opAnd64K
	opAnd64X
	opXor64K
	opXor64X
	opLsh64K
	opLsh64X
	opRsh64K
	opRsh64X
	opArsh64K
	opArsh64X
	opNeg64
	opMov64K
	opMov64X
	opMovSX64_8
	opMovSX64_16
	opMovSX64_32
	opAddrSpaceCast

	// 32-bit ALU: results are zero-extended to 64 bits.
	opAdd32K
	opAdd32X
	opSub32K
	opSub32X
	opMul32K
	opMul32X
	opDiv32K
	opDiv32X
	opSDiv32K
	opSDiv32X
	opMod32K
	opMod32X
	opSMod32K
	opSMod32X
	opOr32K
	opOr32X
	opAnd32K
	opAnd32X
	opXor32K
	opXor32X
	opLsh32K
	opLsh32X
	opRsh32K
	opRsh32X
	opArsh32K
	opArsh32X
	opNeg32
	opMov32K
	opMov32X
	opMovSX32_8
	opMovSX32_16

	// Byte order.
	opLE16
	opLE32
	opLE64
	opBE16
	opBE32
	opBE64

	// Memory.
	opLdxB
	opLdxH
	opLdxW
	opLdxDW
	opLdxSB
	opLdxSH
	opLdxSW
	opStB
	opStH
	opStW
	opStDW
	opStxB
	opStxH
	opStxW
	opStxDW
	opLddw
	opLdAbsB
	opLdAbsH
	opLdAbsW
	opLdIndB
	opLdIndH
	opLdIndW

	// Atomics. The width is in inst.size.
	opAtomicAdd
	opAtomicOr
	opAtomicAnd
	opAtomicXor
	opAtomicFetchAdd
	opAtomicFetchOr
	opAtomicFetchAnd
	opAtomicFetchXor
	opAtomicXchg
	opAtomicCmpXchg
	opLoadAcquire
	opStoreRelease

	// Control flow. Jump targets are absolute slot indices in inst.off.
	opJA
	opJEQ64K
	opJEQ64X
	opJNE64K
	opJNE64X
	opJGT64K
	opJGT64X
	opJGE64K
	opJGE64X
	opJLT64K
	opJLT64X
	opJLE64K
	opJLE64X
	opJSGT64K
	opJSGT64X
	opJSGE64K
	opJSGE64X
	opJSLT64K
	opJSLT64X
	opJSLE64K
	opJSLE64X
	opJSET64K
	opJSET64X
	opJEQ32K
	opJEQ32X
	opJNE32K
	opJNE32X
	opJGT32K
	opJGT32X
	opJGE32K
	opJGE32X
	opJLT32K
	opJLT32X
	opJLE32K
	opJLE32X
	opJSGT32K
	opJSGT32X
	opJSGE32K
	opJSGE32X
	opJSLT32K
	opJSLT32X
	opJSLE32K
	opJSLE32X
	opJSET32K
	opJSET32X
	opMayGoto
	opCallHelper
	opCallLocal
	opCallKfunc
	opCallX
	opTailCall
	opExit
)

// inst is one decoded instruction. imm holds the immediate already
// extended the way the operation uses it; off is the memory offset or the
// absolute jump target.
type inst struct {
	op   op
	dst  uint8
	src  uint8
	size uint8 // access width in bytes, for atomics
	off  int32
	imm  uint64
}

// aluOps maps (ALU op bits, source bit) to the 64-bit and 32-bit ops.
// sdiv/smod share the div/mod slots and are chosen by the offset.
var aluOps = map[uint8][2][2]op{
	// op: {{64K, 64X}, {32K, 32X}}
	isa.OpAdd:  {{opAdd64K, opAdd64X}, {opAdd32K, opAdd32X}},
	isa.OpSub:  {{opSub64K, opSub64X}, {opSub32K, opSub32X}},
	isa.OpMul:  {{opMul64K, opMul64X}, {opMul32K, opMul32X}},
	isa.OpDiv:  {{opDiv64K, opDiv64X}, {opDiv32K, opDiv32X}},
	isa.OpMod:  {{opMod64K, opMod64X}, {opMod32K, opMod32X}},
	isa.OpOr:   {{opOr64K, opOr64X}, {opOr32K, opOr32X}},
	isa.OpAnd:  {{opAnd64K, opAnd64X}, {opAnd32K, opAnd32X}},
	isa.OpXor:  {{opXor64K, opXor64X}, {opXor32K, opXor32X}},
	isa.OpLsh:  {{opLsh64K, opLsh64X}, {opLsh32K, opLsh32X}},
	isa.OpRsh:  {{opRsh64K, opRsh64X}, {opRsh32K, opRsh32X}},
	isa.OpArsh: {{opArsh64K, opArsh64X}, {opArsh32K, opArsh32X}},
	isa.OpMov:  {{opMov64K, opMov64X}, {opMov32K, opMov32X}},
}

var signedDivOps = map[uint8][2][2]op{
	isa.OpDiv: {{opSDiv64K, opSDiv64X}, {opSDiv32K, opSDiv32X}},
	isa.OpMod: {{opSMod64K, opSMod64X}, {opSMod32K, opSMod32X}},
}

// jumpOps maps a conditional jump op to {{64K, 64X}, {32K, 32X}}.
var jumpOps = map[uint8][2][2]op{
	isa.OpJEQ:  {{opJEQ64K, opJEQ64X}, {opJEQ32K, opJEQ32X}},
	isa.OpJNE:  {{opJNE64K, opJNE64X}, {opJNE32K, opJNE32X}},
	isa.OpJGT:  {{opJGT64K, opJGT64X}, {opJGT32K, opJGT32X}},
	isa.OpJGE:  {{opJGE64K, opJGE64X}, {opJGE32K, opJGE32X}},
	isa.OpJLT:  {{opJLT64K, opJLT64X}, {opJLT32K, opJLT32X}},
	isa.OpJLE:  {{opJLE64K, opJLE64X}, {opJLE32K, opJLE32X}},
	isa.OpJSGT: {{opJSGT64K, opJSGT64X}, {opJSGT32K, opJSGT32X}},
	isa.OpJSGE: {{opJSGE64K, opJSGE64X}, {opJSGE32K, opJSGE32X}},
	isa.OpJSLT: {{opJSLT64K, opJSLT64X}, {opJSLT32K, opJSLT32X}},
	isa.OpJSLE: {{opJSLE64K, opJSLE64X}, {opJSLE32K, opJSLE32X}},
	isa.OpJSET: {{opJSET64K, opJSET64X}, {opJSET32K, opJSET32X}},
}

var atomicOps = map[int64]op{
	isa.AtomicAdd:                   opAtomicAdd,
	isa.AtomicOr:                    opAtomicOr,
	isa.AtomicAnd:                   opAtomicAnd,
	isa.AtomicXor:                   opAtomicXor,
	isa.AtomicAdd | isa.AtomicFetch: opAtomicFetchAdd,
	isa.AtomicOr | isa.AtomicFetch:  opAtomicFetchOr,
	isa.AtomicAnd | isa.AtomicFetch: opAtomicFetchAnd,
	isa.AtomicXor | isa.AtomicFetch: opAtomicFetchXor,
	isa.AtomicXchg:                  opAtomicXchg,
	isa.AtomicCmpXchg:               opAtomicCmpXchg,
	isa.AtomicLoadAcq:               opLoadAcquire,
	isa.AtomicStoreRel:              opStoreRelease,
}

// sizeIndex orders B, H, W, DW for the load/store op tables.
func sizeIndex(size uint8) int {
	switch size {
	case isa.SizeB:
		return 0
	case isa.SizeH:
		return 1
	case isa.SizeW:
		return 2
	}
	return 3
}

var (
	ldxOps   = [4]op{opLdxB, opLdxH, opLdxW, opLdxDW}
	ldxsOps  = [4]op{opLdxSB, opLdxSH, opLdxSW, opInvalid}
	stOps    = [4]op{opStB, opStH, opStW, opStDW}
	stxOps   = [4]op{opStxB, opStxH, opStxW, opStxDW}
	ldAbsOps = [4]op{opLdAbsB, opLdAbsH, opLdAbsW, opInvalid}
	ldIndOps = [4]op{opLdIndB, opLdIndH, opLdIndW, opInvalid}
)

// compiler turns validated instructions into the run form.
type compiler struct {
	opts  *Options
	slots []int // slot index of each instruction
	funcs []HelperFunc
}

// addFunc returns the index of fn in the program's call table.
func (c *compiler) addFunc(fn HelperFunc) uint64 {
	c.funcs = append(c.funcs, fn)
	return uint64(len(c.funcs) - 1)
}

// compile translates instruction i (already checked by isa.Validate).
func (c *compiler) compile(i int, ins isa.Instruction) (inst, error) {
	out := inst{dst: uint8(ins.Dst), src: uint8(ins.Src), off: int32(ins.Off), imm: uint64(ins.Imm)}
	var err error
	switch cl := ins.Op.Class(); cl {
	case isa.ClassALU, isa.ClassALU64:
		out.op, err = c.alu(ins, &out)
	case isa.ClassLD:
		out.op, err = c.ld(i, ins, &out)
	case isa.ClassLDX:
		if ins.Op.Mode() == isa.ModeMEMSX {
			out.op = ldxsOps[sizeIndex(ins.Op.Size())]
		} else {
			out.op = ldxOps[sizeIndex(ins.Op.Size())]
		}
	case isa.ClassST:
		out.op = stOps[sizeIndex(ins.Op.Size())]
	case isa.ClassSTX:
		out.size = uint8(isa.SizeBytes(ins.Op.Size()))
		if ins.Op.Mode() == isa.ModeATOMIC {
			out.op = atomicOps[ins.Imm]
		} else {
			out.op = stxOps[sizeIndex(ins.Op.Size())]
		}
	case isa.ClassJMP, isa.ClassJMP32:
		out.op, err = c.jump(i, ins, &out)
	}
	if err == nil && out.op == opInvalid {
		err = fmt.Errorf("%w: opcode %#02x", ErrUnsupported, uint8(ins.Op))
	}
	return out, err
}

func (c *compiler) alu(ins isa.Instruction, out *inst) (op, error) {
	aluOp, x, is32 := ins.Op.ALUOp(), ins.Op.Source() == isa.SrcX, ins.Op.Class() == isa.ClassALU
	w, s := b2i(is32), b2i(x)
	switch aluOp {
	case isa.OpNeg:
		return [2]op{opNeg64, opNeg32}[w], nil
	case isa.OpEnd:
		return endOp(ins), nil
	case isa.OpMov:
		if x && ins.Off != 0 {
			return movOp(ins), nil
		}
	case isa.OpDiv, isa.OpMod:
		if ins.Off == isa.OffSigned {
			return signedDivOps[aluOp][w][s], nil
		}
	}
	if is32 {
		out.imm = uint64(uint32(ins.Imm))
	}
	return aluOps[aluOp][w][s], nil
}

func endOp(ins isa.Instruction) op {
	// On a little-endian machine "to LE" only truncates; "to BE" and the
	// ALU64 bswap swap.
	swap := ins.Op.Source() == isa.EndToBE || ins.Op.Class() == isa.ClassALU64
	ops := map[int64][2]op{16: {opLE16, opBE16}, 32: {opLE32, opBE32}, 64: {opLE64, opBE64}}
	return ops[ins.Imm][b2i(swap)]
}

func movOp(ins isa.Instruction) op {
	if ins.Op.Class() == isa.ClassALU64 {
		switch ins.Off {
		case 8:
			return opMovSX64_8
		case 16:
			return opMovSX64_16
		case 32:
			return opMovSX64_32
		case isa.OffAddrSpaceCast:
			return opAddrSpaceCast
		}
		return opInvalid
	}
	switch ins.Off {
	case 8:
		return opMovSX32_8
	case 16:
		return opMovSX32_16
	}
	return opInvalid
}

func (c *compiler) ld(i int, ins isa.Instruction, out *inst) (op, error) {
	switch ins.Op.Mode() {
	case isa.ModeABS:
		return ldAbsOps[sizeIndex(ins.Op.Size())], nil
	case isa.ModeIND:
		return ldIndOps[sizeIndex(ins.Op.Size())], nil
	}
	switch ins.Src {
	case 0:
		return opLddw, nil
	case isa.PseudoFunc:
		out.imm = funcAddr(c.slots[i] + 1 + int(int32(ins.Imm)))
		return opLddw, nil
	}
	if c.opts.ResolveImm64 == nil {
		return opInvalid, fmt.Errorf("lddw with pseudo source %d needs a loader to resolve it", ins.Src)
	}
	v, err := c.opts.ResolveImm64(ins)
	if err != nil {
		return opInvalid, fmt.Errorf("resolve lddw: %w", err)
	}
	out.imm = v
	return opLddw, nil
}

func (c *compiler) jump(i int, ins isa.Instruction, out *inst) (op, error) {
	jop, x, j32 := ins.Op.JumpOp(), ins.Op.Source() == isa.SrcX, ins.Op.Class() == isa.ClassJMP32
	next := int32(c.slots[i] + 1)
	switch jop {
	case isa.OpJA:
		if j32 {
			out.off = next + int32(ins.Imm)
		} else {
			out.off = next + int32(ins.Off)
		}
		return opJA, nil
	case isa.OpExit:
		return opExit, nil
	case isa.OpJCOND:
		out.off = next + int32(ins.Off)
		return opMayGoto, nil
	case isa.OpCall:
		return c.call(i, ins, out)
	}
	out.off = next + int32(ins.Off)
	if j32 {
		out.imm = uint64(uint32(ins.Imm))
	}
	return jumpOps[jop][b2i(j32)][b2i(x)], nil
}

func (c *compiler) call(i int, ins isa.Instruction, out *inst) (op, error) {
	if ins.Op.Source() == isa.SrcX {
		return opCallX, nil
	}
	switch ins.Src {
	case isa.PseudoCall:
		out.off = int32(c.slots[i]+1) + int32(ins.Imm)
		return opCallLocal, nil
	case isa.PseudoKfuncCall:
		fn, ok := c.opts.Kfuncs[int32(ins.Imm)]
		if !ok || fn == nil {
			return opInvalid, fmt.Errorf("%w: btf id %d", ErrUnknownKfunc, ins.Imm)
		}
		out.imm = c.addFunc(fn)
		return opCallKfunc, nil
	}
	if ins.Imm == HelperTailCall && c.opts.TailCall != nil {
		return opTailCall, nil
	}
	fn, ok := c.opts.Helpers[int32(ins.Imm)]
	if !ok || fn == nil {
		return opInvalid, fmt.Errorf("%w #%d", ErrUnknownHelper, ins.Imm)
	}
	out.imm = c.addFunc(fn)
	return opCallHelper, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
