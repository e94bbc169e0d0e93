package progen

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gobee-dev/gobee/isa"
)

func generate(seed uint64, cfg Config) isa.Instructions {
	return Generate(rand.New(rand.NewPCG(seed, 7)), cfg)
}

func TestDeterministic(t *testing.T) {
	for seed := range uint64(50) {
		a, b := generate(seed, Config{}), generate(seed, Config{})
		if !slices.Equal(a, b) {
			t.Fatalf("seed %d: two programs from one seed differ", seed)
		}
	}
}

// TestStaticRules checks, without a kernel, the rules the generator keeps
// for the verifier: valid encoding, registers, stack and memory bounds,
// alignment, immediates.
func TestStaticRules(t *testing.T) {
	configs := []Config{{}, {MemAtomics: true}, {MemSize: 8}, {MemSize: 80, Size: 200}, {MaxSubprogs: -1}}
	for _, cfg := range configs {
		work := cfg.WorkSize()
		for seed := range uint64(300) {
			p := generate(seed, cfg)
			if err := p.Validate(); err != nil {
				t.Fatalf("%+v seed %d: %v", cfg, seed, err)
			}
			for i, ins := range p {
				if err := checkInsn(ins, cfg.withDefaults(), work); err != "" {
					t.Fatalf("%+v seed %d insn %d %+v: %s", cfg, seed, i, ins, err)
				}
			}
		}
	}
}

// checkInsn returns what is wrong with one generated instruction, or "".
func checkInsn(ins isa.Instruction, cfg Config, work int) string {
	c := ins.Op.Class()
	switch {
	case c.IsALU():
		op := ins.Op.ALUOp()
		width := int64(64)
		if c == isa.ClassALU {
			width = 32
		}
		if ins.Op.Source() == isa.SrcK && (op == isa.OpLsh || op == isa.OpRsh || op == isa.OpArsh) && (ins.Imm < 0 || ins.Imm >= width) {
			return "immediate shift out of range"
		}
		if ins.Op.Source() == isa.SrcK && (op == isa.OpDiv || op == isa.OpMod) && ins.Imm == 0 {
			return "division by immediate zero"
		}
		if ins.Dst == isa.R10 || (ins.Dst == isa.R9 && !(op == isa.OpMov && ins.Src == isa.R1)) {
			return "ALU on a pointer register"
		}
		if ins.Op.Source() == isa.SrcX && op != isa.OpEnd && ins.Src == isa.R10 {
			return "frame pointer as ALU source"
		}
	case c == isa.ClassLDX || c == isa.ClassST || c == isa.ClassSTX:
		base := ins.Dst
		if c == isa.ClassLDX || (c == isa.ClassSTX && ins.Imm == isa.AtomicLoadAcq) {
			base = ins.Src
		}
		size := int(isa.SizeBytes(ins.Op.Size()))
		off := int(ins.Off)
		switch base {
		case isa.R10:
			if off >= 0 || off < -isa.StackSize || off%size != 0 {
				return "bad stack offset"
			}
		case isa.R9:
			if off < 0 || off+size > cfg.MemSize {
				return "memory access out of bounds"
			}
			if off+size > work && !(c == isa.ClassSTX && size == 8 && off >= work) {
				return "access to the dump area"
			}
			if ins.Op.Mode() == isa.ModeATOMIC && (!cfg.MemAtomics || off%size != 0) {
				return "atomic on memory not allowed or misaligned"
			}
		default:
			return "memory access through a scalar register"
		}
	case ins.IsLocalCall():
		if cfg.MaxSubprogs < 0 {
			return "call with calls disabled"
		}
	}
	return ""
}

// TestCoverage checks that a modest batch of programs uses every ALU and
// jump operation in both classes with both sources, and every atomic.
func TestCoverage(t *testing.T) {
	seen := map[isa.Opcode]bool{}
	atomics := map[int64]bool{}
	for seed := range uint64(300) {
		for _, ins := range generate(seed, Config{MemAtomics: true}) {
			seen[ins.Op] = true
			if ins.Op.Mode() == isa.ModeATOMIC && ins.Op.Class() == isa.ClassSTX {
				atomics[ins.Imm] = true
			}
		}
	}
	for _, c := range []isa.Class{isa.ClassALU, isa.ClassALU64} {
		for _, op := range aluOps {
			src := []uint8{isa.SrcK, isa.SrcX}
			if op == isa.OpNeg || (op == isa.OpEnd && c == isa.ClassALU64) {
				src = src[:1]
			}
			for _, s := range src {
				if !seen[alu(c, op, s)] {
					t.Errorf("never generated %#02x", uint8(alu(c, op, s)))
				}
			}
		}
	}
	for _, c := range []isa.Class{isa.ClassJMP, isa.ClassJMP32} {
		for _, op := range conditions {
			for _, s := range []uint8{isa.SrcK, isa.SrcX} {
				if !seen[jmp(c, op, s)] {
					t.Errorf("never generated %#02x", uint8(jmp(c, op, s)))
				}
			}
		}
	}
	for _, op := range []isa.Opcode{isa.OpcodeMayGoto, isa.OpcodeGotoL, isa.OpcodeJA} {
		if !seen[op] {
			t.Errorf("never generated %#02x", uint8(op))
		}
	}
	for _, a := range append(atomicOps, isa.AtomicLoadAcq, isa.AtomicStoreRel) {
		if !atomics[a] {
			t.Errorf("never generated atomic %#x", a)
		}
	}
}
