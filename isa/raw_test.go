package isa

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestEncodeDecodeBothOrders(t *testing.T) {
	prog := Instructions{
		{Op: OpcodeLDDW, Dst: R1, Imm: 0x1122334455667788},
		{Op: Opcode(uint8(ClassALU64) | OpAdd | SrcX), Dst: R0, Src: R1},
		{Op: Opcode(uint8(ClassSTX) | ModeMEM | SizeW), Dst: R10, Src: R1, Off: -8},
		{Op: OpcodeExit},
	}
	le := prog.Encode(nil, binary.LittleEndian)
	want := []byte{0x18, 0x01, 0, 0, 0x88, 0x77, 0x66, 0x55, 0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11}
	if !bytes.Equal(le[:16], want) {
		t.Fatalf("lddw LE = % x, want % x", le[:16], want)
	}
	if le[17] != 0x10 { // src r1 in the high nibble
		t.Fatalf("add regs byte LE = %#x", le[17])
	}
	be := prog.Encode(nil, binary.BigEndian)
	if be[17] != 0x01 || be[2] != 0 || be[4] != 0x55 {
		t.Fatalf("BE encoding wrong: % x", be[:24])
	}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		raw := prog.Encode(nil, order)
		got, err := Decode(raw, order)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(prog) {
			t.Fatalf("%v: decoded %d insns", order, len(got))
		}
		for i := range got {
			if got[i] != prog[i] {
				t.Errorf("%v insn %d: %+v, want %+v", order, i, got[i], prog[i])
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	lddw := Instructions{{Op: OpcodeLDDW, Imm: 1}}.Encode(nil, binary.LittleEndian)
	tests := []struct {
		name string
		raw  []byte
		want error
		insn int
	}{
		{"truncated", []byte{0x95, 0, 0}, ErrTruncated, 0},
		{"lddw without second half", lddw[:8], ErrLDDWIncomplete, 0},
		{"lddw second half with opcode", append(append([]byte{}, lddw[:8]...), 0x95, 0, 0, 0, 0, 0, 0, 0), ErrLDDWSecondHalf, 1},
	}
	for _, tt := range tests {
		_, err := Decode(tt.raw, binary.LittleEndian)
		var ie *Error
		if !errors.Is(err, tt.want) || !errors.As(err, &ie) || ie.Insn != tt.insn {
			t.Errorf("%s: got %v, want %v at insn %d", tt.name, err, tt.want, tt.insn)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	exit := Instruction{Op: OpcodeExit}
	tests := []struct {
		name string
		prog Instructions
		want error
		insn int
	}{
		{"empty", nil, ErrEmptyProgram, 0},
		{"unknown opcode", Instructions{{Op: 0xff}, exit}, ErrUnknownOpcode, 0},
		{"bad register", Instructions{{Op: Opcode(uint8(ClassALU64) | OpMov), Dst: 11}, exit}, ErrInvalidRegister, 0},
		{"reserved imm on X", Instructions{{Op: Opcode(uint8(ClassALU64) | OpAdd | SrcX), Imm: 1}, exit}, ErrReservedFields, 0},
		{"write r10", Instructions{{Op: Opcode(uint8(ClassALU64) | OpMov), Dst: R10}, exit}, ErrFramePointer, 0},
		{"jump out of range", Instructions{{Op: OpcodeJA, Off: 5}, exit}, ErrJumpOutOfRange, 0},
		{"jump into lddw", Instructions{{Op: OpcodeJA, Off: 1}, {Op: OpcodeLDDW}, exit}, ErrJumpIntoLDDW, 0},
		{"falls off the end", Instructions{{Op: Opcode(uint8(ClassALU64) | OpMov)}}, ErrLastInsn, 0},
		{"call reserved off", Instructions{{Op: OpcodeCall, Off: 1, Imm: 1}, exit}, ErrReservedFields, 0},
		{"atomic on a byte", Instructions{{Op: Opcode(uint8(ClassSTX) | ModeATOMIC | SizeB), Imm: AtomicAdd}, exit}, ErrUnknownOpcode, 0},
	}
	for _, tt := range tests {
		err := tt.prog.Validate()
		var ie *Error
		if !errors.Is(err, tt.want) || !errors.As(err, &ie) || ie.Insn != tt.insn {
			t.Errorf("%s: got %v, want %v at insn %d", tt.name, err, tt.want, tt.insn)
		}
	}
}

// FuzzDecode checks that no byte string makes Decode or Validate panic,
// and that whatever decodes encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0x95, 0, 0, 0, 0, 0, 0, 0})
	f.Add(Instructions{{Op: OpcodeLDDW, Dst: R1, Imm: -1}, {Op: OpcodeExit}}.Encode(nil, binary.LittleEndian))
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			p, err := Decode(raw, order)
			if err != nil {
				continue
			}
			_ = p.Validate()
			if back := p.Encode(nil, order); !bytes.Equal(back, raw) {
				t.Fatalf("%v: re-encoded % x, want % x", order, back, raw)
			}
		}
	})
}
