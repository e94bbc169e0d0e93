package conformance

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/gobee-dev/gobee/isa"
)

// testdataDir holds the suite's .data files, relative to this package.
const testdataDir = "../testdata/conformance"

// suiteSize is the number of files in the pinned upstream suite.
const suiteSize = 313

// kernelFailures are the files the Linux kernel rejects although they are
// valid (FORMAT.md §6): callx, and immediate shifts out of range.
var kernelFailures = []string{
	"arsh32-imm-high", "arsh32-imm-neg", "arsh64-imm-high", "arsh64-imm-neg",
	"callx",
	"lsh32-imm-high", "lsh32-imm-neg", "lsh64-imm-high", "lsh64-imm-neg",
	"rsh32-imm-high", "rsh32-imm-neg", "rsh64-imm-high", "rsh64-imm-neg",
}

// suiteFiles returns the suite's files, failing the test if the count is off.
func suiteFiles(t testing.TB) []string {
	t.Helper()
	files, err := Files(testdataDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != suiteSize {
		t.Fatalf("found %d .data files in %s, want %d", len(files), testdataDir, suiteSize)
	}
	return files
}

// TestParseSuite parses and assembles every file and checks that each
// program passes isa's validation and that every file has a result.
func TestParseSuite(t *testing.T) {
	for _, path := range suiteFiles(t) {
		tc, err := ParseFile(path)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if !tc.HasResult {
			t.Errorf("%s: no result", tc.Name)
		}
		if err := tc.Program.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", tc.Name, err)
		}
	}
}

// TestKernelLimitationSet checks that KernelLimitation picks out exactly
// the 13 files FORMAT.md §6 names.
func TestKernelLimitationSet(t *testing.T) {
	var got []string
	for _, path := range suiteFiles(t) {
		tc, err := ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if KernelLimitation(tc.Program) != "" {
			got = append(got, TrimName(tc.Name))
		}
	}
	if !slices.Equal(got, kernelFailures) {
		t.Errorf("KernelLimitation flags %v, want %v", got, kernelFailures)
	}
}

// TestInterp runs the whole suite on the interpreter.
func TestInterp(t *testing.T) {
	passed := 0
	for _, path := range suiteFiles(t) {
		name := TrimName(filepath.Base(path))
		t.Run(name, func(t *testing.T) {
			res := RunFile(InterpEngine{}, path)
			if !res.Passed {
				t.Fatal(res.Reason)
			}
			passed++
		})
	}
	t.Logf("conformance: %d files passed on interp", passed)
}

// TestKernel runs the whole suite in the kernel where bpf() works, and
// checks that the kernel fails exactly the 13 known files.
func TestKernel(t *testing.T) {
	probe := &Test{Name: "probe", Program: isa.Instructions{
		{Op: isa.Opcode(uint8(isa.ClassALU64) | isa.OpMov), Dst: isa.R0},
		{Op: isa.OpcodeExit},
	}}
	if _, err := (KernelEngine{}).Run(probe); err != nil {
		if kernelUnavailable(err) {
			t.Skipf("kernel engine unavailable: %v", err)
		}
		t.Fatalf("kernel engine cannot run a trivial program: %v", err)
	}
	var failed []string
	passed := 0
	for _, path := range suiteFiles(t) {
		res := RunFile(KernelEngine{}, path)
		name := TrimName(res.Name)
		known := slices.Contains(kernelFailures, name)
		switch {
		case res.Passed && known:
			t.Errorf("%s: passed on the kernel, expected the known rejection", name)
		case res.Passed:
			passed++
		case known && !strings.Contains(res.Reason, "known kernel limitation"):
			t.Errorf("%s: failed without the known-limitation reason: %s", name, res.Reason)
			failed = append(failed, name)
		case known:
			failed = append(failed, name)
		default:
			t.Errorf("%s: %s", name, res.Reason)
			failed = append(failed, name)
		}
	}
	t.Logf("conformance: %d files passed on kernel, %d failed", passed, len(failed))
	if passed != suiteSize-len(kernelFailures) || !slices.Equal(failed, kernelFailures) {
		t.Errorf("kernel passed %d and failed %v; want %d passed and %v failed",
			passed, failed, suiteSize-len(kernelFailures), kernelFailures)
	}
}

// kernelUnavailable reports whether err means the kernel engine cannot run
// here at all: not implemented yet, no bpf(), or no permission.
func kernelUnavailable(err error) bool {
	if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EPERM) || errors.Is(err, os.ErrPermission) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "not implemented") || strings.Contains(msg, "not supported")
}

// TestDisassembleRoundTrip checks that isa's disassembler and assembler
// reproduce every program of the suite byte for byte.
func TestDisassembleRoundTrip(t *testing.T) {
	for _, path := range suiteFiles(t) {
		tc, err := ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(TrimName(tc.Name), func(t *testing.T) {
			text := isa.Disassemble(tc.Program)
			back, err := isa.Assemble(text)
			if err != nil {
				t.Fatalf("Assemble(Disassemble(prog)): %v\n%s", err, text)
			}
			want := tc.Program.Encode(nil, binary.LittleEndian)
			got := back.Encode(nil, binary.LittleEndian)
			if !slices.Equal(got, want) {
				t.Fatalf("round trip changed the program:\n got  %x\n want %x\n%s", got, want, text)
			}
		})
	}
}

// TestInterpUnwind checks the unwind rule of helper #5: a zero return
// ends the program with r0 = 0.
func TestInterpUnwind(t *testing.T) {
	prog, err := Assemble("mov %r1, 0\ncall 5\nmov %r0, 2\nexit\n")
	if err != nil {
		t.Fatal(err)
	}
	r0, err := (InterpEngine{}).Run(&Test{Name: "unwind", Program: prog})
	if err != nil || r0 != 0 {
		t.Errorf("unwind with 0: r0 = %#x, err = %v; want 0, nil", r0, err)
	}
}
