package isa

import (
	"errors"
	"fmt"
)

// Error names the instruction (its slot index, as in the kernel's verifier
// log) at which decoding or validation failed.
type Error struct {
	Insn int
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("insn %d: %v", e.Insn, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Validation errors. Each is wrapped in an *Error naming the instruction.
var (
	ErrUnknownOpcode   = errors.New("unknown opcode")
	ErrReservedFields  = errors.New("reserved fields set")
	ErrInvalidRegister = errors.New("invalid register")
	ErrFramePointer    = errors.New("frame pointer is read only")
	ErrJumpOutOfRange  = errors.New("jump out of range")
	ErrJumpIntoLDDW    = errors.New("jump into the middle of ldimm64 insn")
	ErrLastInsn        = errors.New("last insn is not an exit or jmp")
	ErrEmptyProgram    = errors.New("empty program")
	ErrTooLong         = errors.New("program too long")
)

// MaxInstructions is the largest program, as BPF_COMPLEXITY_LIMIT_INSNS.
const MaxInstructions = 1_000_000

// Check checks that one instruction is a known opcode with its reserved
// fields clear and its registers in range, as the kernel's do_check does
// before it looks at types. It does not look at other instructions.
func (ins Instruction) Check() error {
	if ins.Dst > MaxRegister {
		return fmt.Errorf("%w: R%d", ErrInvalidRegister, ins.Dst)
	}
	if ins.Src > MaxRegister && !(ins.IsLDDW() || ins.Op == OpcodeCall) {
		return fmt.Errorf("%w: R%d", ErrInvalidRegister, ins.Src)
	}
	var err error
	switch ins.Op.Class() {
	case ClassALU, ClassALU64:
		err = checkALU(ins)
	case ClassLD:
		err = checkLD(ins)
	case ClassLDX:
		err = checkLDX(ins)
	case ClassST:
		err = checkST(ins)
	case ClassSTX:
		err = checkSTX(ins)
	case ClassJMP, ClassJMP32:
		err = checkJump(ins)
	}
	if err != nil {
		return err
	}
	if ins.Dst == RFP && writesDst(ins) {
		return ErrFramePointer
	}
	return nil
}

func unknown(ins Instruction) error { return fmt.Errorf("%w %#02x", ErrUnknownOpcode, uint8(ins.Op)) }

func reserved(ins Instruction, what string) error {
	return fmt.Errorf("%w: %s (opcode %#02x)", ErrReservedFields, what, uint8(ins.Op))
}

func checkALU(ins Instruction) error {
	op, x, is64 := ins.Op.ALUOp(), ins.Op.Source() == SrcX, ins.Op.Class() == ClassALU64
	switch op {
	case OpEnd:
		if is64 && x {
			return unknown(ins)
		}
		if ins.Src != 0 || ins.Off != 0 || (ins.Imm != 16 && ins.Imm != 32 && ins.Imm != 64) {
			return reserved(ins, "BPF_END")
		}
		return nil
	case OpNeg:
		if x {
			return unknown(ins)
		}
		if ins.Src != 0 || ins.Off != 0 || ins.Imm != 0 {
			return reserved(ins, "BPF_NEG")
		}
		return nil
	case OpMov:
		if !x {
			if ins.Src != 0 || ins.Off != 0 {
				return reserved(ins, "BPF_MOV")
			}
			return nil
		}
		if ins.Off == OffAddrSpaceCast && is64 {
			if ins.Imm != AddrSpaceToKernel && ins.Imm != AddrSpaceToUser {
				return reserved(ins, "addr_space_cast")
			}
			return nil
		}
		if ins.Imm != 0 {
			return reserved(ins, "BPF_MOV")
		}
		switch ins.Off {
		case 0, 8, 16:
			return nil
		case 32:
			if is64 {
				return nil
			}
		}
		return reserved(ins, "BPF_MOV")
	case OpAdd, OpSub, OpMul, OpOr, OpAnd, OpLsh, OpRsh, OpXor, OpArsh, OpDiv, OpMod:
		if ins.Off != 0 && !((op == OpDiv || op == OpMod) && ins.Off == OffSigned) {
			return reserved(ins, "BPF_ALU")
		}
		if (x && ins.Imm != 0) || (!x && ins.Src != 0) {
			return reserved(ins, "BPF_ALU")
		}
		return nil
	}
	return unknown(ins)
}

func checkLD(ins Instruction) error {
	switch ins.Op.Mode() {
	case ModeIMM:
		if ins.Op.Size() != SizeDW {
			return unknown(ins)
		}
		if ins.Off != 0 || ins.Src > PseudoMapIdxValue {
			return reserved(ins, "BPF_LD_IMM64")
		}
		return nil
	case ModeABS, ModeIND:
		if ins.Op.Size() == SizeDW {
			return unknown(ins)
		}
		if ins.Dst != R0 || ins.Off != 0 || (ins.Op.Mode() == ModeABS && ins.Src != 0) {
			return reserved(ins, "BPF_LD_[ABS|IND]")
		}
		return nil
	}
	return unknown(ins)
}

func checkLDX(ins Instruction) error {
	switch ins.Op.Mode() {
	case ModeMEM:
	case ModeMEMSX:
		if ins.Op.Size() == SizeDW {
			return unknown(ins)
		}
	default:
		return unknown(ins)
	}
	if ins.Imm != 0 {
		return reserved(ins, "BPF_LDX")
	}
	return nil
}

func checkST(ins Instruction) error {
	if ins.Op.Mode() != ModeMEM {
		return unknown(ins)
	}
	if ins.Src != 0 {
		return reserved(ins, "BPF_ST")
	}
	return nil
}

func checkSTX(ins Instruction) error {
	switch ins.Op.Mode() {
	case ModeMEM:
		if ins.Imm != 0 {
			return reserved(ins, "BPF_STX")
		}
		return nil
	case ModeATOMIC:
		switch ins.Imm {
		case AtomicLoadAcq, AtomicStoreRel:
			return nil
		case AtomicAdd, AtomicOr, AtomicAnd, AtomicXor,
			AtomicAdd | AtomicFetch, AtomicOr | AtomicFetch, AtomicAnd | AtomicFetch, AtomicXor | AtomicFetch,
			AtomicXchg, AtomicCmpXchg:
			if s := ins.Op.Size(); s != SizeW && s != SizeDW {
				return fmt.Errorf("%w: atomic of size %d", ErrUnknownOpcode, SizeBytes(s))
			}
			return nil
		}
		return fmt.Errorf("%w: BPF_ATOMIC uses invalid atomic opcode %#02x", ErrReservedFields, ins.Imm)
	}
	return unknown(ins)
}

func checkJump(ins Instruction) error {
	op, x, j32 := ins.Op.JumpOp(), ins.Op.Source() == SrcX, ins.Op.Class() == ClassJMP32
	switch op {
	case OpJA:
		if x {
			return unknown(ins)
		}
		if ins.Src != 0 || ins.Dst != 0 || (!j32 && ins.Imm != 0) || (j32 && ins.Off != 0) {
			return reserved(ins, "BPF_JA")
		}
		return nil
	case OpCall:
		if j32 {
			return unknown(ins)
		}
		if x { // callx: the target is in dst
			if ins.Src != 0 || ins.Off != 0 || ins.Imm != 0 {
				return reserved(ins, "BPF_CALLX")
			}
			return nil
		}
		if ins.Dst != 0 || ins.Src > PseudoKfuncCall || (ins.Off != 0 && ins.Src != PseudoKfuncCall) {
			return reserved(ins, "BPF_CALL")
		}
		return nil
	case OpExit:
		if j32 || x {
			return unknown(ins)
		}
		if ins.Src != 0 || ins.Dst != 0 || ins.Off != 0 || ins.Imm != 0 {
			return reserved(ins, "BPF_EXIT")
		}
		return nil
	case OpJCOND:
		if j32 || x {
			return unknown(ins)
		}
		if ins.Src != 0 || ins.Dst != 0 || ins.Imm != 0 {
			return reserved(ins, "may_goto")
		}
		return nil
	case OpJEQ, OpJGT, OpJGE, OpJSET, OpJNE, OpJSGT, OpJSGE, OpJLT, OpJLE, OpJSLT, OpJSLE:
		if (x && ins.Imm != 0) || (!x && ins.Src != 0) {
			return reserved(ins, "BPF_JMP")
		}
		return nil
	}
	return unknown(ins)
}

// writesDst reports whether the instruction writes its dst register.
func writesDst(ins Instruction) bool {
	switch c := ins.Op.Class(); {
	case c.IsALU(), c == ClassLDX:
		return true
	case c == ClassLD:
		return ins.IsLDDW()
	case c == ClassSTX && ins.Op.Mode() == ModeATOMIC:
		return ins.Imm == AtomicLoadAcq
	}
	return false
}

// Validate checks a whole program: every instruction with Check, the
// length, that jumps and calls land on an instruction inside the program
// (not in the second half of an lddw), and that the last instruction
// cannot fall off the end. Errors name the slot index.
func (p Instructions) Validate() error {
	if len(p) == 0 {
		return &Error{Insn: 0, Err: ErrEmptyProgram}
	}
	slots := p.SlotIndex()
	total := slots[len(p)]
	if total > MaxInstructions {
		return &Error{Insn: MaxInstructions, Err: fmt.Errorf("%w: %d insns", ErrTooLong, total)}
	}
	// secondHalf marks slots that hold the second half of an lddw.
	secondHalf := make(map[int]bool)
	for i, ins := range p {
		if ins.IsLDDW() {
			secondHalf[slots[i]+1] = true
		}
	}
	for i, ins := range p {
		if err := ins.Check(); err != nil {
			return &Error{Insn: slots[i], Err: err}
		}
		off, ok := ins.JumpOffset()
		if !ok {
			continue
		}
		target := int64(slots[i]) + 1 + off
		if target < 0 || target >= int64(total) {
			return &Error{Insn: slots[i], Err: fmt.Errorf("%w from insn %d to %d", ErrJumpOutOfRange, slots[i], target)}
		}
		if secondHalf[int(target)] {
			return &Error{Insn: slots[i], Err: fmt.Errorf("%w %d", ErrJumpIntoLDDW, target-1)}
		}
	}
	last := p[len(p)-1]
	if c := last.Op.Class(); !last.IsExit() && !(c == ClassJMP && last.Op.JumpOp() == OpJA) && last.Op != OpcodeGotoL {
		return &Error{Insn: slots[len(p)-1], Err: ErrLastInsn}
	}
	return nil
}
