package interp

import (
	"testing"

	"github.com/gobee-dev/gobee/isa"
)

// BenchmarkALULoop measures the dispatch cost: a 1000-iteration loop of
// five ALU instructions and a conditional back jump (about 6k insns/run).
func BenchmarkALULoop(b *testing.B) {
	prog := isa.Instructions{
		mov64(isa.R0, 1),
		mov64(isa.R1, 1000),
		alu(isa.ClassALU64, isa.OpMul, isa.SrcK, isa.R0, 0, 6364136),
		alu(isa.ClassALU64, isa.OpAdd, isa.SrcK, isa.R0, 0, 1442695),
		alu(isa.ClassALU64, isa.OpXor, isa.SrcX, isa.R0, isa.R1, 0),
		alu(isa.ClassALU64, isa.OpRsh, isa.SrcK, isa.R0, 0, 1),
		alu(isa.ClassALU64, isa.OpSub, isa.SrcK, isa.R1, 0, 1),
		{Op: isa.Opcode(uint8(isa.ClassJMP) | isa.OpJNE | isa.SrcK), Dst: isa.R1, Off: -6},
		exit,
	}
	p, err := Load(prog, nil)
	if err != nil {
		b.Fatal(err)
	}
	in := &Input{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Run(in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/6002, "ns/insn")
}

// BenchmarkNop measures the fixed cost of one run.
func BenchmarkNop(b *testing.B) {
	p, err := Load(isa.Instructions{mov64(isa.R0, 2), exit}, nil)
	if err != nil {
		b.Fatal(err)
	}
	in := &Input{}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = p.Run(in)
	}
}

// BenchmarkStackLoop measures loads and stores to the stack: a
// 1000-iteration loop that spills and reloads a register each time.
func BenchmarkStackLoop(b *testing.B) {
	stx := isa.Opcode(uint8(isa.ClassSTX) | isa.ModeMEM | isa.SizeDW)
	ldx := isa.Opcode(uint8(isa.ClassLDX) | isa.ModeMEM | isa.SizeDW)
	prog := isa.Instructions{
		mov64(isa.R0, 1),
		mov64(isa.R1, 1000),
		{Op: stx, Dst: isa.R10, Src: isa.R0, Off: -8},
		{Op: ldx, Dst: isa.R2, Src: isa.R10, Off: -8},
		alu(isa.ClassALU64, isa.OpAdd, isa.SrcX, isa.R0, isa.R2, 0),
		alu(isa.ClassALU64, isa.OpSub, isa.SrcK, isa.R1, 0, 1),
		{Op: isa.Opcode(uint8(isa.ClassJMP) | isa.OpJNE | isa.SrcK), Dst: isa.R1, Off: -5},
		exit,
	}
	p, err := Load(prog, nil)
	if err != nil {
		b.Fatal(err)
	}
	in := &Input{}
	for b.Loop() {
		if _, err := p.Run(in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/5003, "ns/insn")
}
