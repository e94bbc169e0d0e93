package isa

import (
	"fmt"
	"strings"
)

// Assemble parses assembler text in the syntax of llvm-objdump and the
// kernel verifier log into instructions. Labels ("name:") may be used as
// jump and call targets. Errors are *SyntaxError values naming the line.
//
// Assemble encodes what the text says; it does not Check the result.
func Assemble(text string) (Instructions, error) {
	a := assembler{labels: map[string]labelDef{}}
	for i, line := range strings.Split(text, "\n") {
		a.line = i + 1
		if err := a.addLine(line); err != nil {
			return nil, &SyntaxError{Line: a.line, Err: err}
		}
	}
	return a.finish()
}

// Disassemble renders a program as text, one instruction per line, in a
// form that Assemble turns back into the same bytes. Jump targets are
// relative slot offsets; instructions that fail Check are written as
// ".insn" lines.
func Disassemble(p Instructions) string {
	var b strings.Builder
	for _, ins := range p {
		b.WriteString(ins.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// SyntaxError is an error in assembler text. Line counts from 1.
type SyntaxError struct {
	Line int
	Err  error
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *SyntaxError) Unwrap() error { return e.Err }

// The tables below are shared by the assembler and the disassembler, so
// that both directions spell every operation the same way.

// aluOps pairs ALU operations, with the offset that selects the signed
// variant of div and mod, and their compound assignment operators.
var aluOps = []struct {
	op  uint8
	off int16
	sym string
}{
	{OpAdd, 0, "+="}, {OpSub, 0, "-="}, {OpMul, 0, "*="}, {OpDiv, 0, "/="},
	{OpOr, 0, "|="}, {OpAnd, 0, "&="}, {OpLsh, 0, "<<="}, {OpRsh, 0, ">>="},
	{OpMod, 0, "%="}, {OpXor, 0, "^="}, {OpArsh, 0, "s>>="},
	{OpDiv, OffSigned, "s/="}, {OpMod, OffSigned, "s%="},
}

// jumpOps pairs conditional jump operations and their comparison operators.
var jumpOps = []struct {
	op  uint8
	sym string
}{
	{OpJEQ, "=="}, {OpJNE, "!="}, {OpJGT, ">"}, {OpJGE, ">="}, {OpJLT, "<"},
	{OpJLE, "<="}, {OpJSET, "&"}, {OpJSGT, "s>"}, {OpJSGE, "s>="},
	{OpJSLT, "s<"}, {OpJSLE, "s<="},
}

// atomicOps pairs the arithmetic atomic operations with their names in
// atomic_fetch_NAME and their operators in "lock *(...) SYM= reg".
var atomicOps = []struct {
	imm       int64
	name, sym string
}{
	{AtomicAdd, "add", "+="}, {AtomicOr, "or", "|="},
	{AtomicAnd, "and", "&="}, {AtomicXor, "xor", "^="},
}

// lddwPseudos names the pseudo sources of lddw: "rN = NAME(lo[, hi]) ll".
var lddwPseudos = []struct {
	src  Register
	name string
}{
	{PseudoMapFD, "map_fd"}, {PseudoMapValue, "map_value"},
	{PseudoBTFID, "btf_id"}, {PseudoFunc, "func"},
	{PseudoMapIdx, "map_idx"}, {PseudoMapIdxValue, "map_idx_value"},
}

// endianOps names the byte swap opcodes: "rN = NAMEbits rN".
var endianOps = []struct {
	op   Opcode
	name string
}{
	{Opcode(uint8(ClassALU) | OpEnd | EndToLE), "le"},
	{Opcode(uint8(ClassALU) | OpEnd | EndToBE), "be"},
	{Opcode(uint8(ClassALU64) | OpEnd | EndToLE), "bswap"},
}

// sizeBits pairs load/store size fields with their width in bits, as in
// the casts "(u8 *)" and "(s16 *)".
var sizeBits = []struct {
	size uint8
	bits int
}{
	{SizeB, 8}, {SizeH, 16}, {SizeW, 32}, {SizeDW, 64},
}

func aluSym(op uint8, off int16) (string, bool) {
	for _, e := range aluOps {
		if e.op == op && e.off == off {
			return e.sym, true
		}
	}
	return "", false
}

func aluBySym(sym string) (op uint8, off int16, ok bool) {
	for _, e := range aluOps {
		if e.sym == sym {
			return e.op, e.off, true
		}
	}
	return 0, 0, false
}

func jumpSym(op uint8) (string, bool) {
	for _, e := range jumpOps {
		if e.op == op {
			return e.sym, true
		}
	}
	return "", false
}

func jumpBySym(sym string) (uint8, bool) {
	for _, e := range jumpOps {
		if e.sym == sym {
			return e.op, true
		}
	}
	return 0, false
}

// sizeName returns the cast name of a size field: u8..u64 or s8..s32.
func sizeName(size uint8, signed bool) string {
	prefix := "u"
	if signed {
		prefix = "s"
	}
	for _, e := range sizeBits {
		if e.size == size {
			return fmt.Sprintf("%s%d", prefix, e.bits)
		}
	}
	return "?"
}

// sizeByName parses a cast name. s64 is not a size: sign extension of a
// 64-bit load does not exist.
func sizeByName(name string) (size uint8, signed, ok bool) {
	for _, e := range sizeBits {
		if name == fmt.Sprintf("u%d", e.bits) {
			return e.size, false, true
		}
		if e.size != SizeDW && name == fmt.Sprintf("s%d", e.bits) {
			return e.size, true, true
		}
	}
	return 0, false, false
}

func regText(r Register, wide bool) string {
	if wide {
		return fmt.Sprintf("r%d", r)
	}
	return fmt.Sprintf("w%d", r)
}

// memText renders a base register and offset as "rB + N" or "rB - N".
func memText(base Register, off int64) string {
	if off < 0 {
		return fmt.Sprintf("r%d - %d", base, -off)
	}
	return fmt.Sprintf("r%d + %d", base, off)
}
