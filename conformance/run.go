package conformance

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/kernel"
)

// Engine runs a test's program and returns the final r0.
type Engine interface {
	Name() string
	Run(t *Test) (uint64, error)
}

// Result is the outcome of one test file.
type Result struct {
	Name   string
	Passed bool
	// Reason says on one line why the test failed; empty when it passed.
	Reason string
	// Err is the engine's or the parser's error in full (a verifier
	// error carries its log), nil if there was none.
	Err error
}

// RunFile parses the file at path and runs it on e. A file that does not
// parse fails with the parse error as the reason.
func RunFile(e Engine, path string) Result {
	t, err := ParseFile(path)
	if err != nil {
		return Result{Name: filepath.Base(path), Reason: oneLine(err), Err: err}
	}
	return RunTest(e, t)
}

// RunTest runs a parsed test on e and judges it. A test with ExpectError
// passes when the engine fails (the error text of a runtime is its own, so
// only the failure is compared); otherwise r0 must equal Result.
func RunTest(e Engine, t *Test) Result {
	res := Result{Name: t.Name}
	r0, err := e.Run(t)
	res.Err = err
	switch {
	case t.ExpectError != "" && err != nil:
		res.Passed = true
	case t.ExpectError != "":
		res.Reason = fmt.Sprintf("r0 = %#x, want error %q", r0, t.ExpectError)
	case err != nil:
		res.Reason = oneLine(err)
	case r0 != t.Result:
		res.Reason = fmt.Sprintf("r0 = %#x, want %#x", r0, t.Result)
	default:
		res.Passed = true
	}
	return res
}

// reasoner is an error that can state its cause on one line, as
// kernel.VerifierError does with the verifier's last error line.
type reasoner interface{ Reason() string }

// oneLine renders err on one line. A multi-line error keeps its first line;
// if it can state its reason (a verifier log), that replaces the log,
// otherwise the other lines are joined with " | ".
func oneLine(err error) string {
	msg := err.Error()
	head, rest, multi := strings.Cut(msg, "\n")
	if !multi {
		return msg
	}
	var r reasoner
	if errors.As(err, &r) && r.Reason() != "" {
		// Drop the header that introduces the log ("verifier log (last
		// 12 lines):") and put the reason in its place.
		head = strings.TrimSuffix(head, ":")
		if i := strings.LastIndex(head, ": "); i >= 0 {
			head = head[:i]
		}
		return head + ": " + r.Reason()
	}
	var parts []string
	for _, l := range strings.Split(rest, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return head + " " + strings.Join(parts, " | ")
}

// Files returns the `.data` files in dir, sorted.
func Files(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.data"))
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	sort.Strings(files)
	return files, nil
}

// UnwindHelper is the helper id the suite's one helper call uses
// (call_unwind_fail.data): ubpf registers it as unwind(a) = a, and a zero
// return ends the program at once with r0 = 0.
const UnwindHelper = 5

// interpBudget bounds one run so that a broken jump cannot hang the suite;
// the longest conformance program runs a few hundred instructions.
const interpBudget = 10_000_000

// errUnwind is returned by the unwind helper when it returns 0. The
// interpreter aborts the run with it (wrapped), and InterpEngine turns that
// into a normal exit with r0 = 0.
var errUnwind = errors.New("unwind helper returned 0")

// unwind is helper #5: it returns its first argument and stops the program
// when that is 0.
func unwind(_ *interp.Run, r1, _, _, _, _ uint64) (uint64, error) {
	if r1 == 0 {
		return 0, errUnwind
	}
	return r1, nil
}

// InterpEngine runs tests on gobee's interpreter with the suite's calling
// convention: r1 = address of a private writable copy of mem, r2 = its
// length (0 and 0 without mem), helper #5 as ubpf's unwind helper.
type InterpEngine struct{}

// Name returns "interp".
func (InterpEngine) Name() string { return "interp" }

// Run loads and runs the test's program once.
func (InterpEngine) Run(t *Test) (uint64, error) {
	prog, err := interp.Load(t.Program, &interp.Options{
		Helpers: map[int32]interp.HelperFunc{UnwindHelper: unwind},
		Budget:  interpBudget,
	})
	if err != nil {
		return 0, fmt.Errorf("load: %w", err)
	}
	mem := append([]byte(nil), t.Mem...)
	in := &interp.Input{Args: [5]uint64{interp.Addr(mem), uint64(len(mem))}}
	if len(mem) > 0 {
		in.Regions = []interp.Region{{Mem: mem, Writable: true}}
	}
	r0, err := prog.Run(in)
	if errors.Is(err, errUnwind) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("run: %w", err)
	}
	return r0, nil
}

// KernelEngine runs tests in the Linux kernel with kernel.RunSubprogram,
// as a bpf-to-bpf subprogram called with r1 = copy of mem and r2 = length.
// Errors of programs the kernel is known to reject (see KernelLimitation)
// are annotated with the reason.
type KernelEngine struct{}

// Name returns "kernel".
func (KernelEngine) Name() string { return "kernel" }

// Run runs the test's program in the kernel.
func (KernelEngine) Run(t *Test) (uint64, error) {
	r0, _, err := kernel.RunSubprogram(t.Program, append([]byte(nil), t.Mem...))
	if err != nil {
		if why := KernelLimitation(t.Program); why != "" {
			return 0, fmt.Errorf("known kernel limitation (%s): %w", why, err)
		}
		return 0, err
	}
	return r0, nil
}

// KernelLimitation says why the Linux verifier rejects prog although it is
// a valid conformance program, or returns "" if it has no such feature.
// The kernel has no callx (0x8d), and it rejects immediate shifts by a
// negative amount or by the operand width or more ("invalid shift"); these
// are the 13 files the kernel fails upstream (FORMAT.md §6).
func KernelLimitation(prog isa.Instructions) string {
	for _, ins := range prog {
		if ins.Op == isa.OpcodeCallX {
			return "the kernel has no callx, opcode 0x8d"
		}
		if isImmShift(ins) {
			width := int64(64)
			if ins.Op.Class() == isa.ClassALU {
				width = 32
			}
			if ins.Imm < 0 || ins.Imm >= width {
				return fmt.Sprintf("the verifier rejects an immediate shift by %d on %d bits", ins.Imm, width)
			}
		}
	}
	return ""
}

// isImmShift reports whether ins is lsh, rsh or arsh by an immediate.
func isImmShift(ins isa.Instruction) bool {
	if !ins.Op.Class().IsALU() || ins.Op.Source() != isa.SrcK {
		return false
	}
	switch ins.Op.ALUOp() {
	case isa.OpLsh, isa.OpRsh, isa.OpArsh:
		return true
	}
	return false
}

// EngineByName returns the engine called name ("interp" or "kernel").
func EngineByName(name string) (Engine, error) {
	for _, e := range []Engine{InterpEngine{}, KernelEngine{}} {
		if e.Name() == name {
			return e, nil
		}
	}
	return nil, fmt.Errorf("conformance: unknown engine %q (want interp or kernel)", name)
}

// TrimName returns a test name without its ".data" extension.
func TrimName(name string) string { return strings.TrimSuffix(name, ".data") }
