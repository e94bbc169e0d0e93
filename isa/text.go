package isa

import "errors"

// Assemble parses assembler text in the syntax of llvm-objdump and the
// kernel verifier log into instructions. Labels ("name:") may be used as
// jump and call targets.
func Assemble(text string) (Instructions, error) {
	return nil, errors.New("isa: assembler not implemented yet")
}

// Disassemble renders a program as text, one instruction per line, in a
// form that Assemble turns back into the same bytes.
func Disassemble(p Instructions) string { return "" }
