package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"

	"github.com/gobee-dev/gobee/isa"
)

func init() {
	register("disasm", "disassemble raw eBPF bytecode into text", runDisasm)
}

// runDisasm implements "gobee disasm FILE [--big-endian]": one line per
// instruction, prefixed by its slot index, in a form "gobee asm" reads
// back.
func runDisasm(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("disasm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gobee disasm FILE [--big-endian]")
		fs.PrintDefaults()
	}
	big := fs.Bool("big-endian", false, "read big-endian bytecode")
	file, ok := asmParseArgs(fs, args)
	if !ok {
		return 1
	}
	raw, err := asmReadInput(file)
	if err != nil {
		fmt.Fprintf(stderr, "gobee disasm: %v\n", err)
		return 1
	}
	prog, err := isa.Decode(raw, asmByteOrder(*big))
	if err != nil {
		fmt.Fprintf(stderr, "gobee disasm: %s: %v\n", file, err)
		return 1
	}
	w := bufio.NewWriter(stdout)
	slots := prog.SlotIndex()
	for i, ins := range prog {
		fmt.Fprintf(w, "%4d: %s\n", slots[i], ins)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "gobee disasm: %v\n", err)
		return 1
	}
	return 0
}
