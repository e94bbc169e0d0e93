package kernel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/gobee-dev/gobee/isa"
)

func requireKernel(t testing.TB) {
	t.Helper()
	if err := Supported(); err != nil {
		t.Skipf("kernel engine unavailable: %v", err)
	}
}

// sumProgram adds the bytes of mem into r0, doubles each byte in place and
// returns the sum, with a full 64-bit constant added so r0's upper half is
// checked.
func sumProgram() isa.Instructions {
	ldxb := isa.Opcode(uint8(isa.ClassLDX) | isa.ModeMEM | isa.SizeB)
	stxb := isa.Opcode(uint8(isa.ClassSTX) | isa.ModeMEM | isa.SizeB)
	var p isa.Instructions
	p = append(p, isa.Instruction{Op: isa.OpcodeLDDW, Dst: isa.R0, Imm: 0x1122334400000000})
	for i := int16(0); i < 4; i++ {
		p = append(p,
			isa.Instruction{Op: ldxb, Dst: isa.R3, Src: isa.R1, Off: i},
			isa.Instruction{Op: aluOp(isa.ClassALU64, isa.OpAdd, isa.SrcX), Dst: isa.R0, Src: isa.R3},
			isa.Instruction{Op: aluOp(isa.ClassALU64, isa.OpAdd, isa.SrcX), Dst: isa.R3, Src: isa.R3},
			isa.Instruction{Op: stxb, Dst: isa.R1, Src: isa.R3, Off: i},
		)
	}
	p = append(p, isa.Instruction{Op: aluOp(isa.ClassALU64, isa.OpAdd, isa.SrcX), Dst: isa.R0, Src: isa.R2})
	return append(p, isa.Instruction{Op: isa.OpcodeExit})
}

func TestRunSubprogram(t *testing.T) {
	requireKernel(t)
	for _, where := range []Memory{InPacket, InMapValue} {
		t.Run(where.String(), func(t *testing.T) {
			mem := []byte{1, 2, 3, 4}
			r0, out, err := RunSubprogramIn(where, sumProgram(), mem)
			if err != nil {
				t.Fatal(err)
			}
			if want := uint64(0x1122334400000000 + 10 + 4); r0 != want {
				t.Errorf("r0 = %#x, want %#x", r0, want)
			}
			if want := []byte{2, 4, 6, 8}; !bytes.Equal(out, want) {
				t.Errorf("mem = %v, want %v", out, want)
			}
			if !bytes.Equal(mem, []byte{1, 2, 3, 4}) {
				t.Errorf("input mem modified: %v", mem)
			}
		})
	}
}

func TestRunSubprogramVerifierError(t *testing.T) {
	requireKernel(t)
	// Reads r5, which is not initialised in a subprogram.
	bad := isa.Instructions{movReg(isa.R0, isa.R5), {Op: isa.OpcodeExit}}
	_, _, err := RunSubprogram(bad, make([]byte, 8))
	var ve *VerifierError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a *VerifierError", err)
	}
	if !strings.Contains(err.Error(), "R5 !read_ok") {
		t.Errorf("error lacks the verifier's reason:\n%v", err)
	}
	if !strings.Contains(ve.Reason(), "R5 !read_ok") {
		t.Errorf("Reason() = %q", ve.Reason())
	}
}

func TestAtomicsNeedMapValue(t *testing.T) {
	requireKernel(t)
	lockAdd := isa.Opcode(uint8(isa.ClassSTX) | isa.ModeATOMIC | isa.SizeDW)
	p := isa.Instructions{
		movImm(isa.R0, 5),
		{Op: lockAdd, Dst: isa.R1, Src: isa.R0, Imm: isa.AtomicAdd | isa.AtomicFetch},
		{Op: isa.OpcodeExit},
	}
	mem := binary.NativeEndian.AppendUint64(nil, 100)
	if _, _, err := RunSubprogramIn(InPacket, p, mem); err == nil {
		t.Error("atomic on packet memory loaded; the verifier should reject it")
	}
	r0, out, err := RunSubprogramIn(InMapValue, p, mem)
	if err != nil {
		t.Fatal(err)
	}
	if r0 != 100 || binary.NativeEndian.Uint64(out) != 105 {
		t.Errorf("r0 = %d, mem = %d, want 100 and 105", r0, binary.NativeEndian.Uint64(out))
	}
}

func TestProgramTestRun(t *testing.T) {
	requireKernel(t)
	p, err := LoadProgram(ebpf.XDP, isa.Instructions{movImm(isa.R0, xdpPass), {Op: isa.OpcodeExit}}, "GPL")
	if err != nil {
		t.Fatal(err)
	}
	ret, out, _, err := p.TestRun(make([]byte, 64), nil, 100)
	if err != nil || ret != xdpPass || len(out) != 64 {
		t.Errorf("TestRun = %d, %d bytes, %v; want %d, 64 bytes, nil", ret, len(out), err, xdpPass)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := p.TestRun(make([]byte, 64), nil, 1); err == nil {
		t.Error("TestRun after Close succeeded")
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

func TestNoFDLeak(t *testing.T) {
	requireKernel(t)
	before := openFDs(t)
	bad := isa.Instructions{movReg(isa.R0, isa.R5), {Op: isa.OpcodeExit}}
	for i := 0; i < 50; i++ {
		for _, where := range []Memory{InPacket, InMapValue} {
			if _, _, err := RunSubprogramIn(where, sumProgram(), make([]byte, 4)); err != nil {
				t.Fatal(err)
			}
			if _, _, err := RunSubprogramIn(where, bad, make([]byte, 4)); err == nil {
				t.Fatal("bad program loaded")
			}
		}
	}
	if after := openFDs(t); after > before {
		t.Errorf("%d file descriptors open before, %d after", before, after)
	}
}
