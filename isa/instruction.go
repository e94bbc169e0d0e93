package isa

import "fmt"

// Register is an eBPF register number, r0 to r10.
type Register uint8

// Registers. R10 is the read-only frame pointer.
const (
	R0 Register = iota
	R1
	R2
	R3
	R4
	R5
	R6
	R7
	R8
	R9
	R10
	// RFP is the frame pointer.
	RFP = R10
)

// MaxRegister is the highest register number.
const MaxRegister = R10

func (r Register) String() string { return fmt.Sprintf("r%d", uint8(r)) }

// Instruction is one decoded instruction. A 64-bit immediate load (lddw)
// is one Instruction that occupies two slots: Imm holds all 64 bits.
// For every other instruction Imm is the sign-extended 32-bit immediate.
type Instruction struct {
	Op  Opcode
	Dst Register
	Src Register
	Off int16
	Imm int64
}

// IsLDDW reports whether the instruction is a two-slot 64-bit immediate load.
func (ins Instruction) IsLDDW() bool { return ins.Op == OpcodeLDDW }

// Slots returns how many 8-byte slots the instruction occupies.
func (ins Instruction) Slots() int {
	if ins.IsLDDW() {
		return 2
	}
	return 1
}

// Imm32 returns the 32-bit immediate as stored in the first slot.
func (ins Instruction) Imm32() int32 { return int32(ins.Imm) }

// IsHelperCall reports whether the instruction calls a helper by id.
func (ins Instruction) IsHelperCall() bool {
	return ins.Op == OpcodeCall && ins.Src == PseudoCallHelper
}

// IsLocalCall reports whether the instruction is a bpf-to-bpf call.
func (ins Instruction) IsLocalCall() bool {
	return ins.Op == OpcodeCall && ins.Src == PseudoCall
}

// IsKfuncCall reports whether the instruction calls a kfunc.
func (ins Instruction) IsKfuncCall() bool {
	return ins.Op == OpcodeCall && ins.Src == PseudoKfuncCall
}

// IsExit reports whether the instruction is exit.
func (ins Instruction) IsExit() bool { return ins.Op == OpcodeExit }

// IsJumpWithOffset reports whether the instruction transfers control to
// pc+1+offset, and returns that offset in slots. Calls to subprograms and
// lddw of a function address count, since their imm is pc-relative too.
func (ins Instruction) JumpOffset() (int64, bool) {
	switch {
	case ins.Op == OpcodeGotoL:
		return ins.Imm, true
	case ins.Op == OpcodeCall || ins.Op == OpcodeCallX || ins.Op == OpcodeExit:
		if ins.IsLocalCall() {
			return ins.Imm, true
		}
		return 0, false
	case ins.Op.Class().IsJump():
		return int64(ins.Off), true
	case ins.IsLDDW() && ins.Src == PseudoFunc:
		return int64(int32(ins.Imm)), true
	}
	return 0, false
}

// Instructions is a program: instructions in order. Offsets in jumps count
// slots, so an lddw counts twice.
type Instructions []Instruction

// Slots returns the number of 8-byte slots the program occupies.
func (p Instructions) Slots() int {
	n := 0
	for _, ins := range p {
		n += ins.Slots()
	}
	return n
}

// SlotIndex returns, for each instruction, its slot index, and a final
// entry with the total slot count.
func (p Instructions) SlotIndex() []int {
	idx := make([]int, len(p)+1)
	n := 0
	for i, ins := range p {
		idx[i] = n
		n += ins.Slots()
	}
	idx[len(p)] = n
	return idx
}
