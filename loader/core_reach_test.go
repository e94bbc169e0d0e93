package loader

import (
	"testing"

	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

func poisonCall() asm.Instruction { return asm.BuiltinFunc(btf.COREBadRelocationSentinel).Call() }

// jmp sets a jump's raw offset (in instruction slots).
func jmp(ins asm.Instruction, off int16) asm.Instruction {
	ins.Offset = off
	return ins
}

func TestReachable(t *testing.T) {
	for _, c := range []struct {
		name  string
		insns asm.Instructions
		live  []bool
	}{
		{"guarded by a constant", asm.Instructions{
			asm.Mov.Imm(asm.R1, 0),
			jmp(asm.JEq.Imm(asm.R1, 0, ""), 1),
			poisonCall(),
			asm.Mov.Imm(asm.R0, 2),
			asm.Return(),
		}, []bool{true, true, false, true, true}},
		{"unknown condition", asm.Instructions{
			asm.LoadMem(asm.R1, asm.R1, 0, asm.Word),
			jmp(asm.JEq.Imm(asm.R1, 0, ""), 1),
			poisonCall(),
			asm.Mov.Imm(asm.R0, 2),
			asm.Return(),
		}, []bool{true, true, true, true, true}},
		{"constant through lddw, mov and add", asm.Instructions{
			asm.LoadImm(asm.R2, 5, asm.DWord),
			asm.Mov.Reg(asm.R3, asm.R2),
			asm.Add.Imm(asm.R3, 1),
			jmp(asm.JGT.Imm(asm.R3, 5, ""), 1),
			asm.Return(),
			asm.Mov.Imm(asm.R0, 1),
			asm.Return(),
		}, []bool{true, true, true, true, false, true, true}},
		{"join forgets differing constants", asm.Instructions{
			asm.LoadMem(asm.R4, asm.R1, 0, asm.Word),
			asm.Mov.Imm(asm.R1, 1),
			jmp(asm.JEq.Imm(asm.R4, 0, ""), 1),
			asm.Mov.Imm(asm.R1, 0),
			jmp(asm.JNE.Imm(asm.R1, 0, ""), 1),
			poisonCall(),
			asm.Return(),
		}, []bool{true, true, true, true, true, true, true}},
		{"calls clobber r0-r5", asm.Instructions{
			asm.Mov.Imm(asm.R1, 0),
			asm.Mov.Imm(asm.R6, 0),
			asm.FnKtimeGetNs.Call(),
			jmp(asm.JEq.Imm(asm.R6, 0, ""), 2),
			jmp(asm.JEq.Imm(asm.R1, 0, ""), 1),
			poisonCall(),
			asm.Return(),
		}, []bool{true, true, true, true, false, false, true}},
	} {
		got := reachable(c.insns)
		for i := range c.live {
			if got[i] != c.live[i] {
				t.Errorf("%s: insn %d live=%v, want %v", c.name, i, got[i], c.live[i])
			}
		}
	}
}
