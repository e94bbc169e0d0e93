package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gobee-dev/gobee/isa"
)

func init() {
	register("asm", "assemble eBPF text into raw bytecode", runAsm)
}

// runAsm implements "gobee asm FILE [-o OUT] [--big-endian]". FILE "-"
// reads standard input.
func runAsm(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("asm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gobee asm FILE [-o OUT] [--big-endian]")
		fs.PrintDefaults()
	}
	out := fs.String("o", "", "write the bytecode to `OUT` instead of standard output")
	big := fs.Bool("big-endian", false, "emit big-endian bytecode")
	file, ok := asmParseArgs(fs, args)
	if !ok {
		return 1
	}
	text, err := asmReadInput(file)
	if err != nil {
		fmt.Fprintf(stderr, "gobee asm: %v\n", err)
		return 1
	}
	prog, err := isa.Assemble(string(text))
	if err != nil {
		fmt.Fprintf(stderr, "gobee asm: %s: %v\n", file, err)
		return 1
	}
	raw := prog.Encode(nil, asmByteOrder(*big))
	if *out == "" {
		_, err = stdout.Write(raw)
	} else {
		err = os.WriteFile(*out, raw, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gobee asm: %v\n", err)
		return 1
	}
	return 0
}

// asmParseArgs parses flags before and after the one FILE argument, as
// in "gobee asm prog.s -o prog.bin".
func asmParseArgs(fs *flag.FlagSet, args []string) (string, bool) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", false
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		return "", false
	}
	return files[0], true
}

// asmReadInput reads a file, or standard input for "-".
func asmReadInput(file string) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(file)
}

func asmByteOrder(big bool) binary.ByteOrder {
	if big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}
