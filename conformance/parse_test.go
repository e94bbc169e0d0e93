package conformance

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gobee-dev/gobee/isa"
)

// TestAssembleLines compares single instructions with hand-encoded bytes
// (little-endian: opcode, src<<4|dst, off16, imm32).
func TestAssembleLines(t *testing.T) {
	tests := []struct{ asm, hex string }{
		{"mov %r0, 0x1", "b700000001000000"},
		{"mov32 %r1, -1", "b4010000ffffffff"},
		{"mov64 %r1, 0xffffffff", "b7010000ffffffff"},
		{"add %r1, %r2", "0f21000000000000"},
		{"add32 %r1, 2", "0401000002000000"},
		{"sdiv32 %r0, 3", "3400010003000000"},
		{"smod %r1, %r2", "9f21010000000000"},
		{"neg32 %r3", "8403000000000000"},
		{"neg %r3", "8703000000000000"},
		{"movsx832 %r0, %r1", "bc10080000000000"},
		{"movsx3264 %r0, %r1", "bf10200000000000"},
		{"le16 %r0", "d400000010000000"},
		{"be64 %r3", "dc03000040000000"},
		{"bswap32 %r0", "d700000020000000"},
		{"swap16 %r0", "d700000010000000"},
		{"ldxw %r0, [%r1+4]", "6110040000000000"},
		{"ldxdw %r0, [%r1]", "7910000000000000"},
		{"ldxsh %r2, [%r10-16]", "89a2f0ff00000000"},
		{"ldxsb %r2, [%r1+0x10]", "9112100000000000"},
		{"stw [%r10-4], 0xffffffff", "620afcffffffffff"},
		{"stdw [%r1+8], 7", "7a01080007000000"},
		{"stxb [%r1+2], %r3", "7331020000000000"},
		{"lock add [%r10-8], %r1", "db1af8ff00000000"},
		{"lock fetch add [%r10-8], %r1", "db1af8ff01000000"},
		{"lock or32 [%r10-4], %r1", "c31afcff40000000"},
		{"lock fetch xor32 [%r10-4], %r3", "c33afcffa1000000"},
		{"lock xchg [%r10-8], %r1", "db1af8ffe1000000"},
		{"lock cmpxchg32 [%r10-8], %r1", "c31af8fff1000000"},
		{"lddw %r0, 0x1122334455667788", "1800000088776655" + "0000000044332211"},
		{"lddw %r3, -1", "18030000ffffffff" + "00000000ffffffff"},
		{"lddw %r0, 2147483648", "1800000000000080" + "0000000000000000"},
		{"jeq %r1, 0x80000000, +1", "1501010000000080"},
		{"jne32 %r1, %r2, -3", "5e21fdff00000000"},
		{"jsle %r1, -5, +0", "d5010000fbffffff"},
		{"ja +2", "0500020000000000"},
		{"ja32 -1", "06000000ffffffff"},
		{"call 5", "8500000005000000"},
		{"call %r2", "8d02000000000000"},
		{"exit", "9500000000000000"},
		{"  mov %r0 ,  1  ", "b700000001000000"},
	}
	for _, tt := range tests {
		prog, err := Assemble(tt.asm)
		if err != nil {
			t.Errorf("Assemble(%q): %v", tt.asm, err)
			continue
		}
		if got := hex.EncodeToString(prog.Encode(nil, binary.LittleEndian)); got != tt.hex {
			t.Errorf("Assemble(%q) = %s, want %s", tt.asm, got, tt.hex)
		}
	}
}

// TestAssembleLabels checks label resolution in slots, lddw counting twice,
// call local in imm, and the implicit exit label.
func TestAssembleLabels(t *testing.T) {
	src := `
ja L                 # slot 0 -> 3
lddw %r0, 1          # slots 1-2
L:
call local f         # slot 3 -> 5
exit                 # slot 4, the implicit label "exit"
f:
jne %r1, 0, exit     # slot 5 -> 4
ja32 f               # slot 6 -> 5
exit
`
	prog, err := Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	want := "0500020000000000" +
		"1800000001000000" + "0000000000000000" +
		"8510000001000000" +
		"9500000000000000" +
		"5501feff00000000" +
		"06000000feffffff" +
		"9500000000000000"
	if got := hex.EncodeToString(prog.Encode(nil, binary.LittleEndian)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if err := prog.Validate(); err != nil {
		t.Error(err)
	}
}

// TestLDDWAsmMatchesRaw checks that lddw.data's asm assembles to its raw
// section.
func TestLDDWAsmMatchesRaw(t *testing.T) {
	raw, err := ParseFile(filepath.Join(testdataDir, "lddw.data"))
	if err != nil {
		t.Fatal(err)
	}
	asm, err := Assemble("lddw %r0, 0x1122334455667788\nexit\n")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw.Program.Encode(nil, binary.LittleEndian), asm.Encode(nil, binary.LittleEndian)) {
		t.Errorf("raw %v != asm %v", raw.Program, asm)
	}
}

// TestParseSections checks comments, CRLF, ignored sections, the last
// result line, mem concatenation and raw replacing asm.
func TestParseSections(t *testing.T) {
	src := "# header\r\n-- c\r\nint x--; # C is ignored\r\n" +
		"-- asm\r\nmov %r0, 1 # one\r\n\r\nexit\r\n" +
		"-- mem\r\n00 ff\r\nAA 0x01\r\n" +
		"-- no register offset\r\ncall instruction\r\n" +
		"-- result\r\n0x5\r\n18446744073709551615\r\n"
	tc, err := Parse("t.data", strings.NewReader(src))
	if err == nil || !strings.Contains(err.Error(), "t.data:3:") {
		// "int x--" contains "--": a header the runner does not know.
		t.Fatalf("want an unknown-section error on line 3, got %v", err)
	}
	src = strings.Replace(src, "int x--;", "int x;", 1)
	tc, err = Parse("t.data", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(tc.Program) != 2 || !tc.HasResult || tc.Result != ^uint64(0) {
		t.Errorf("got program %v result %#x (%v)", tc.Program, tc.Result, tc.HasResult)
	}
	if !bytes.Equal(tc.Mem, []byte{0x00, 0xff, 0xaa, 0x01}) {
		t.Errorf("mem = % x", tc.Mem)
	}

	raw := "-- asm\nbogus\n-- raw\n0x00000001000000b7 149\n-- result\n1\n"
	tc, err = Parse("raw.data", strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := isa.Instructions{{Op: 0xb7, Imm: 1}, {Op: isa.OpcodeExit}}
	if len(tc.Program) != 2 || tc.Program[0] != want[0] || tc.Program[1] != want[1] {
		t.Errorf("raw program = %v, want %v", tc.Program, want)
	}

	tc, err = Parse("err.data", strings.NewReader("-- asm\nexit\n-- error\nsome text \n"))
	if err != nil {
		t.Fatal(err)
	}
	if tc.HasResult || tc.ExpectError != "some text" {
		t.Errorf("error test: HasResult %v ExpectError %q", tc.HasResult, tc.ExpectError)
	}
}

// TestParseErrors checks that bad input fails with the file, the line and
// the problem.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, line string
		err             error
	}{
		{"unknown mnemonic", "-- asm\nmov %r0, 1\nfrob %r0\nexit\n-- result\n0x1\n", "x.data:3:", ErrUnknownMnemonic},
		{"bad register", "# c\n-- asm\nmov %r11, 1\nexit\n-- result\n0x1\n", "x.data:3:", ErrBadRegister},
		{"bad register name", "-- asm\nmov r1, 1\nexit\n-- result\n0x1\n", "x.data:2:", ErrBadRegister},
		{"missing result", "-- asm\nmov %r0, 1\nexit\n", "x.data:3:", ErrNoResult},
		{"bad hex in mem", "-- asm\nexit\n-- mem\n00 01\n02 zz\n-- result\n0x0\n", "x.data:5:", ErrBadMem},
		{"mem byte too big", "-- asm\nexit\n-- mem\n100\n-- result\n0x0\n", "x.data:4:", ErrBadMem},
		{"bad result", "-- asm\nexit\n-- result\n0xfoo\n", "x.data:4:", ErrBadResult},
		{"unknown section", "-- asm\nexit\n-- frobnicate\n-- result\n0\n", "x.data:3:", ErrUnknownSection},
		{"operand count", "-- asm\nadd %r0\nexit\n-- result\n0\n", "x.data:2:", ErrOperands},
		{"hex imm too big", "-- asm\nmov %r0, 0x100000000\nexit\n-- result\n0\n", "x.data:2:", ErrBadImmediate},
		{"decimal imm too big", "-- asm\nmov %r0, 2147483648\nexit\n-- result\n0\n", "x.data:2:", ErrBadImmediate},
		{"bad mem operand", "-- asm\nldxw %r0, [%r1+4\nexit\n-- result\n0\n", "x.data:2:", ErrBadMemOperand},
		{"offset too big", "-- asm\nldxw %r0, [%r1+40000]\nexit\n-- result\n0\n", "x.data:2:", ErrBadMemOperand},
		{"unknown label", "-- asm\nja nowhere\nexit\n-- result\n0\n", "x.data:2:", ErrUnknownLabel},
		{"duplicate label", "-- asm\nL:\nL:\nexit\n-- result\n0\n", "x.data:3:", ErrDuplicateLabel},
		{"bad target", "-- asm\nja +x\nexit\n-- result\n0\n", "x.data:2:", ErrBadTarget},
		{"no program", "-- asm\n-- result\n0\n", "x.data:3:", ErrNoProgram},
		{"bad raw", "-- raw\n0xzz\n-- result\n0\n", "x.data:2:", ErrBadRaw},
		{"truncated lddw raw", "-- raw\n0x18\n-- result\n0\n", "x.data:2:", ErrBadRaw},
	}
	for _, tt := range tests {
		_, err := Parse("x.data", strings.NewReader(tt.src))
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), tt.line) || !errors.Is(err, tt.err) {
			t.Errorf("%s: error %q, want prefix %q and %v", tt.name, err, tt.line, tt.err)
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: %T is not a *ParseError", tt.name, err)
		}
	}
}

// TestRunTest checks the judging of results with a fake engine.
func TestRunTest(t *testing.T) {
	tc := &Test{Name: "add.data", Result: 3, HasResult: true}
	if res := RunTest(fakeEngine{r0: 4}, tc); res.Passed || res.Reason != "r0 = 0x4, want 0x3" {
		t.Errorf("wrong result: %+v", res)
	}
	if res := RunTest(fakeEngine{r0: 3}, tc); !res.Passed || res.Reason != "" {
		t.Errorf("right result: %+v", res)
	}
	if res := RunTest(fakeEngine{err: errors.New("boom")}, tc); res.Passed || res.Reason != "boom" {
		t.Errorf("engine error: %+v", res)
	}
	et := &Test{Name: "neg.data", ExpectError: "rejected"}
	if res := RunTest(fakeEngine{err: errors.New("x")}, et); !res.Passed {
		t.Errorf("expected error: %+v", res)
	}
	if res := RunTest(fakeEngine{}, et); res.Passed {
		t.Errorf("missing expected error: %+v", res)
	}
	if res := RunFile(fakeEngine{}, filepath.Join(t.TempDir(), "missing.data")); res.Passed || res.Name != "missing.data" {
		t.Errorf("missing file: %+v", res)
	}
}

type fakeEngine struct {
	r0  uint64
	err error
}

func (fakeEngine) Name() string                { return "fake" }
func (e fakeEngine) Run(*Test) (uint64, error) { return e.r0, e.err }

// TestUnwindHelper checks helper #5: identity, and the stop sentinel on 0.
func TestUnwindHelper(t *testing.T) {
	if v, err := unwind(nil, 7, 0, 0, 0, 0); v != 7 || err != nil {
		t.Errorf("unwind(7) = %d, %v", v, err)
	}
	if _, err := unwind(nil, 0, 0, 0, 0, 0); !errors.Is(err, errUnwind) {
		t.Errorf("unwind(0) error = %v", err)
	}
}

// FuzzParse checks that no input makes the parser or assembler panic.
func FuzzParse(f *testing.F) {
	files, _ := Files(testdataDir)
	for _, path := range files {
		if b, err := os.ReadFile(path); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("-- asm\nlock fetch\ncall local\nja32 -\n[%r1+\n-- result\n0x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tc, err := Parse("fuzz.data", bytes.NewReader(data))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		_ = tc.Program.Validate()
		_ = tc.Program.Encode(nil, binary.LittleEndian)
	})
}

// reasonErr is a multi-line error that can state its reason, like
// kernel.VerifierError.
type reasonErr struct{}

func (reasonErr) Error() string {
	return "load: EINVAL: verifier log (last 2 lines):\n\tbad thing\n\tprocessed 1 insns"
}
func (reasonErr) Reason() string { return "bad thing" }

// TestOneLine checks that reasons stay on one line.
func TestOneLine(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{errors.New("plain"), "plain"},
		{errors.New("head:\n\tline 1\n\n\tline 2\n"), "head: line 1 | line 2"},
		{reasonErr{}, "load: EINVAL: bad thing"},
		{fmt.Errorf("known (x): %w", reasonErr{}), "known (x): load: EINVAL: bad thing"},
	}
	for _, tt := range tests {
		if got := oneLine(tt.err); got != tt.want {
			t.Errorf("oneLine(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
