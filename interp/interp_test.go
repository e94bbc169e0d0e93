package interp

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/gobee-dev/gobee/isa"
)

// alu builds an ALU64/ALU instruction.
func alu(class isa.Class, op, src uint8, dst, srcReg isa.Register, imm int64) isa.Instruction {
	return isa.Instruction{Op: isa.Opcode(uint8(class) | op | src), Dst: dst, Src: srcReg, Imm: imm}
}

var exit = isa.Instruction{Op: isa.OpcodeExit}

func mov64(dst isa.Register, imm int64) isa.Instruction {
	return alu(isa.ClassALU64, isa.OpMov, isa.SrcK, dst, 0, imm)
}

func run(t *testing.T, prog isa.Instructions, in *Input) (uint64, error) {
	t.Helper()
	p, err := Load(prog, &Options{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if in == nil {
		in = &Input{}
	}
	return p.Run(in)
}

func TestALUSemantics(t *testing.T) {
	tests := []struct {
		name string
		prog isa.Instructions
		want uint64
	}{
		{"mov32 zero-extends", isa.Instructions{mov64(isa.R0, -1), alu(isa.ClassALU, isa.OpMov, isa.SrcX, isa.R0, isa.R0, 0), exit}, 0xffffffff},
		{"div by zero is 0", isa.Instructions{mov64(isa.R0, 7), mov64(isa.R1, 0), alu(isa.ClassALU64, isa.OpDiv, isa.SrcX, isa.R0, isa.R1, 0), exit}, 0},
		{"mod by zero keeps dividend", isa.Instructions{mov64(isa.R0, -7), mov64(isa.R1, 0), alu(isa.ClassALU64, isa.OpMod, isa.SrcX, isa.R0, isa.R1, 0), exit}, 0xfffffffffffffff9},
		{"mod32 by zero zero-extends", isa.Instructions{mov64(isa.R0, -7), mov64(isa.R1, 0), alu(isa.ClassALU, isa.OpMod, isa.SrcX, isa.R0, isa.R1, 0), exit}, 0xfffffff9},
		{"lsh masks the amount", isa.Instructions{mov64(isa.R0, 1), mov64(isa.R1, 65), alu(isa.ClassALU64, isa.OpLsh, isa.SrcX, isa.R0, isa.R1, 0), exit}, 2},
		{"arsh32", isa.Instructions{mov64(isa.R0, -8), alu(isa.ClassALU, isa.OpArsh, isa.SrcK, isa.R0, 0, 1), exit}, 0xfffffffc},
		{"be16", isa.Instructions{mov64(isa.R0, 0x11223344), alu(isa.ClassALU, isa.OpEnd, isa.EndToBE, isa.R0, 0, 16), exit}, 0x4433},
	}
	for _, tt := range tests {
		got, err := run(t, tt.prog, nil)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %#x, %v; want %#x", tt.name, got, err, tt.want)
		}
	}
}

func TestStackAndCalls(t *testing.T) {
	// main: r6 = 5; call sub; r0 += r6; exit.  sub: r6 = 100; r0 = r1 + 1 ... stored via stack.
	prog := isa.Instructions{
		mov64(isa.R6, 5),
		mov64(isa.R1, 41),
		{Op: isa.OpcodeCall, Src: isa.PseudoCall, Imm: 3},
		alu(isa.ClassALU64, isa.OpAdd, isa.SrcX, isa.R0, isa.R6, 0),
		exit,
		exit, // padding, never reached
		mov64(isa.R6, 100),
		{Op: isa.Opcode(uint8(isa.ClassSTX) | isa.ModeMEM | isa.SizeDW), Dst: isa.R10, Src: isa.R1, Off: -8},
		{Op: isa.Opcode(uint8(isa.ClassLDX) | isa.ModeMEM | isa.SizeDW), Dst: isa.R0, Src: isa.R10, Off: -8},
		alu(isa.ClassALU64, isa.OpAdd, isa.SrcK, isa.R0, 0, 1),
		exit,
	}
	got, err := run(t, prog, nil)
	if err != nil || got != 47 {
		t.Fatalf("got %d, %v; want 47", got, err)
	}
}

func TestCheckedMode(t *testing.T) {
	ldx := isa.Instruction{Op: isa.Opcode(uint8(isa.ClassLDX) | isa.ModeMEM | isa.SizeDW), Dst: isa.R0, Src: isa.R10, Off: -520}
	_, err := run(t, isa.Instructions{ldx, exit}, nil)
	var re *RuntimeError
	if !errors.As(err, &re) || !errors.Is(err, ErrOutOfBounds) || re.PC != 0 {
		t.Fatalf("stack overrun: got %v", err)
	}
	mem := make([]byte, 8)
	st := isa.Instruction{Op: isa.Opcode(uint8(isa.ClassST) | isa.ModeMEM | isa.SizeW), Dst: isa.R1, Off: 6, Imm: 1}
	_, err = run(t, isa.Instructions{st, exit}, &Input{Args: [5]uint64{Addr(mem)}, Regions: []Region{{Mem: mem, Writable: true}}})
	if !errors.Is(err, ErrOutOfBounds) {
		t.Fatalf("store past region: got %v", err)
	}
	_, err = run(t, isa.Instructions{{Op: st.Op, Dst: isa.R1, Imm: 1}, exit}, &Input{Args: [5]uint64{Addr(mem)}, Regions: []Region{{Mem: mem}}})
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("store to read-only: got %v", err)
	}
}

func TestBudget(t *testing.T) {
	loop := isa.Instructions{{Op: isa.OpcodeJA, Off: -1}, exit}
	p, err := Load(loop, &Options{Budget: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(&Input{}); !errors.Is(err, ErrBudget) {
		t.Fatalf("endless loop: got %v", err)
	}
}

func TestCallDepth(t *testing.T) {
	prog := isa.Instructions{{Op: isa.OpcodeCall, Src: isa.PseudoCall, Imm: -1}, exit}
	if _, err := run(t, prog, nil); !errors.Is(err, ErrCallDepth) {
		t.Fatalf("recursion: got %v", err)
	}
}

func TestUnknownHelper(t *testing.T) {
	_, err := Load(isa.Instructions{{Op: isa.OpcodeCall, Imm: 99}, exit}, nil)
	var ie *isa.Error
	if !errors.Is(err, ErrUnknownHelper) || !errors.As(err, &ie) || ie.Insn != 0 {
		t.Fatalf("got %v", err)
	}
}

// TestConcurrentRuns runs one program from many goroutines: each run has
// its own stack and registers, and atomics on shared memory are atomic.
func TestConcurrentRuns(t *testing.T) {
	shared := make([]byte, 8)
	prog := isa.Instructions{
		// r0 = r2 (goroutine id); *(u64 *)(r10 - 8) = r0; spin a little; r0 = *(r10 - 8)
		alu(isa.ClassALU64, isa.OpMov, isa.SrcX, isa.R0, isa.R2, 0),
		{Op: isa.Opcode(uint8(isa.ClassSTX) | isa.ModeMEM | isa.SizeDW), Dst: isa.R10, Src: isa.R0, Off: -8},
		mov64(isa.R3, 1),
		{Op: isa.Opcode(uint8(isa.ClassSTX) | isa.ModeATOMIC | isa.SizeDW), Dst: isa.R1, Src: isa.R3, Imm: isa.AtomicAdd},
		{Op: isa.Opcode(uint8(isa.ClassLDX) | isa.ModeMEM | isa.SizeDW), Dst: isa.R0, Src: isa.R10, Off: -8},
		exit,
	}
	p, err := Load(prog, nil)
	if err != nil {
		t.Fatal(err)
	}
	const workers, runs = 8, 2000
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for range runs {
				got, err := p.Run(&Input{Args: [5]uint64{Addr(shared), uint64(w)}, Regions: []Region{{Mem: shared, Writable: true}}})
				if err == nil && got != uint64(w) {
					err = errors.New("a run saw another run's stack")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := binary.LittleEndian.Uint64(shared); n != workers*runs {
		t.Fatalf("atomic adds: got %d, want %d", n, workers*runs)
	}
}

// fakeXDP is a context accessor shaped like xdp_md: data (offset 0) and
// data_end (offset 4) read as 64-bit pointers, as the kernel's rewrite makes
// them; other offsets are refused.
type fakeXDP struct{ pkt []byte }

func (x *fakeXDP) LoadContext(r *Run, off, size uint32) (uint64, error) {
	if size != 4 {
		return 0, errors.New("bad size")
	}
	switch off {
	case 0:
		return Addr(x.pkt), nil
	case 4:
		return Addr(x.pkt) + uint64(len(x.pkt)), nil
	}
	return 0, errors.New("bad offset")
}

func (x *fakeXDP) StoreContext(r *Run, off, size uint32, v uint64) error {
	return errors.New("read-only")
}

func TestContextAccessor(t *testing.T) {
	ldxw := isa.Opcode(uint8(isa.ClassLDX) | isa.ModeMEM | isa.SizeW)
	prog := isa.Instructions{
		{Op: ldxw, Dst: isa.R2, Src: isa.R1, Off: 0}, // r2 = ctx->data
		{Op: ldxw, Dst: isa.R3, Src: isa.R1, Off: 4}, // r3 = ctx->data_end
		alu(isa.ClassALU64, isa.OpMov, isa.SrcX, isa.R0, isa.R3, 0),
		alu(isa.ClassALU64, isa.OpSub, isa.SrcX, isa.R0, isa.R2, 0),
		{Op: isa.Opcode(uint8(isa.ClassLDX) | isa.ModeMEM | isa.SizeB), Dst: isa.R4, Src: isa.R2, Off: 1},
		alu(isa.ClassALU64, isa.OpAdd, isa.SrcX, isa.R0, isa.R4, 0),
		exit,
	}
	pkt := []byte{1, 100, 3}
	ctx := make([]byte, 24)
	in := &Input{Args: [5]uint64{Addr(ctx)}, Regions: []Region{{Mem: ctx, Accessor: &fakeXDP{pkt}}, {Mem: pkt}}}
	got, err := run(t, prog, in)
	if err != nil || got != 103 {
		t.Fatalf("got %d, %v; want 103", got, err)
	}
	bad := isa.Instructions{{Op: ldxw, Dst: isa.R0, Src: isa.R1, Off: 8}, exit}
	if _, err := run(t, bad, in); !errors.Is(err, ErrContextAccess) {
		t.Fatalf("bad ctx offset: got %v", err)
	}
	st := isa.Instructions{{Op: isa.Opcode(uint8(isa.ClassST) | isa.ModeMEM | isa.SizeW), Dst: isa.R1, Imm: 1}, exit}
	if _, err := run(t, st, in); !errors.Is(err, ErrContextAccess) {
		t.Fatalf("ctx store: got %v", err)
	}
}

// TestOnExit: hooks run after an exit and after a fault, latest first;
// a hook's error fails a run that succeeded but does not hide a fault.
func TestOnExit(t *testing.T) {
	var order []int
	helpers := map[int32]HelperFunc{
		1: func(r *Run, r1, _, _, _, _ uint64) (uint64, error) {
			n := int(r1)
			r.OnExit(func(*Run) error {
				order = append(order, n)
				if n == 2 {
					return errors.New("still holding something")
				}
				return nil
			})
			return 0, nil
		},
	}
	prog := isa.Instructions{
		mov64(isa.R1, 1), {Op: isa.OpcodeCall, Imm: 1},
		mov64(isa.R1, 2), {Op: isa.OpcodeCall, Imm: 1},
		mov64(isa.R0, 0), exit,
	}
	p, err := Load(prog, &Options{Helpers: helpers})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Run(&Input{})
	var re *RuntimeError
	if !errors.As(err, &re) || re.PC != -1 || len(order) != 2 || order[0] != 2 || order[1] != 1 {
		t.Fatalf("got %v, order %v", err, order)
	}
	order = nil
	if _, err := p.Run(&Input{}); err == nil || len(order) != 2 {
		t.Fatalf("second run: hooks of the first run must not repeat: %v %v", err, order)
	}
}
