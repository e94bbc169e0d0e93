package isa

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors returned by Decode. They are wrapped in an *Error.
var (
	ErrTruncated      = errors.New("truncated instruction")
	ErrLDDWIncomplete = errors.New("lddw without its second half")
	ErrLDDWSecondHalf = errors.New("reserved fields set in the second half of lddw")
)

// Decode decodes raw bytecode in the given byte order. It checks only the
// encoding (length, complete lddw pairs); Validate checks the meaning.
func Decode(b []byte, order binary.ByteOrder) (Instructions, error) {
	if len(b)%InstructionSize != 0 {
		return nil, &Error{Insn: len(b) / InstructionSize, Err: fmt.Errorf("%w: %d trailing bytes", ErrTruncated, len(b)%InstructionSize)}
	}
	n := len(b) / InstructionSize
	out := make(Instructions, 0, n)
	for slot := 0; slot < n; slot++ {
		ins := decodeSlot(b[slot*InstructionSize:], order)
		if ins.Op == OpcodeLDDW {
			if slot+1 >= n {
				return nil, &Error{Insn: slot, Err: ErrLDDWIncomplete}
			}
			next := decodeSlot(b[(slot+1)*InstructionSize:], order)
			if next.Op != 0 || next.Dst != 0 || next.Src != 0 || next.Off != 0 {
				return nil, &Error{Insn: slot + 1, Err: ErrLDDWSecondHalf}
			}
			ins.Imm = int64(uint64(uint32(ins.Imm)) | uint64(uint32(next.Imm))<<32)
			slot++
		}
		out = append(out, ins)
	}
	return out, nil
}

// decodeSlot decodes one 8-byte slot. The register byte holds dst in the
// low nibble on little-endian machines and in the high nibble on big-endian
// ones, as the kernel's struct bpf_insn bitfields do.
func decodeSlot(b []byte, order binary.ByteOrder) Instruction {
	ins := Instruction{Op: Opcode(b[0])}
	if order == binary.BigEndian {
		ins.Dst, ins.Src = Register(b[1]>>4), Register(b[1]&0x0f)
	} else {
		ins.Dst, ins.Src = Register(b[1]&0x0f), Register(b[1]>>4)
	}
	ins.Off = int16(order.Uint16(b[2:]))
	ins.Imm = int64(int32(order.Uint32(b[4:])))
	return ins
}

// Encode appends the raw encoding of the program to dst.
func (p Instructions) Encode(dst []byte, order binary.ByteOrder) []byte {
	for _, ins := range p {
		dst = ins.Encode(dst, order)
	}
	return dst
}

// Encode appends the raw encoding of one instruction (two slots for lddw).
func (ins Instruction) Encode(dst []byte, order binary.ByteOrder) []byte {
	dst = encodeSlot(dst, order, ins.Op, ins.Dst, ins.Src, ins.Off, int32(ins.Imm))
	if ins.IsLDDW() {
		dst = encodeSlot(dst, order, 0, 0, 0, 0, int32(uint64(ins.Imm)>>32))
	}
	return dst
}

func encodeSlot(dst []byte, order binary.ByteOrder, op Opcode, d, s Register, off int16, imm int32) []byte {
	var regs byte
	if order == binary.BigEndian {
		regs = byte(d&0x0f)<<4 | byte(s&0x0f)
	} else {
		regs = byte(s&0x0f)<<4 | byte(d&0x0f)
	}
	var b [InstructionSize]byte
	b[0], b[1] = byte(op), regs
	order.PutUint16(b[2:], uint16(off))
	order.PutUint32(b[4:], uint32(imm))
	return append(dst, b[:]...)
}
