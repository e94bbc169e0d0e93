package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/gobee-dev/gobee/isa"
)

// Memory says where RunSubprogramIn places the memory a subprogram gets in
// r1.
type Memory int

const (
	// InPacket places mem in the XDP packet, after the 8 bytes that receive
	// r0. Packet memory may hold at most a few KiB, and the verifier
	// rejects atomic operations on it.
	InPacket Memory = iota
	// InMapValue places mem in the value of a one-element array map that
	// the wrapper addresses directly (BPF_PSEUDO_MAP_VALUE). Atomic
	// operations are allowed there.
	InMapValue
)

func (m Memory) String() string {
	switch m {
	case InPacket:
		return "packet"
	case InMapValue:
		return "map value"
	}
	return fmt.Sprintf("Memory(%d)", int(m))
}

// ethHeaderLen is ETH_HLEN, the smallest packet XDP test runs accept.
const ethHeaderLen = 14

// r0Bytes is the room at the start of the packet for the subprogram's r0.
const r0Bytes = 8

// Return codes of the wrapper.
const (
	xdpAborted = 0
	xdpPass    = 2
)

// ErrShortPacket is returned when the wrapper found the packet shorter
// than it should be, which means the kernel changed the test-run input.
var ErrShortPacket = errors.New("kernel: wrapper saw a packet shorter than its input")

// RunSubprogram runs insns in the kernel as a bpf-to-bpf subprogram of an
// XDP wrapper that passes r1 = pointer to a copy of mem and r2 = len(mem),
// the calling convention of the conformance suite. mem lives in the packet
// (see InPacket). It returns the full 64-bit r0 and mem as the program left
// it. A rejected program yields a *VerifierError.
func RunSubprogram(insns isa.Instructions, mem []byte) (r0 uint64, memOut []byte, err error) {
	return RunSubprogramIn(InPacket, insns, mem)
}

// RunSubprogramIn is RunSubprogram with a choice of where mem lives.
func RunSubprogramIn(where Memory, insns isa.Instructions, mem []byte) (r0 uint64, memOut []byte, err error) {
	switch where {
	case InPacket:
		return runInPacket(insns, mem)
	case InMapValue:
		return runInMapValue(insns, mem)
	}
	return 0, nil, fmt.Errorf("kernel: unknown memory placement %v", where)
}

// runInPacket runs insns with mem in the packet after the r0 slot.
func runInPacket(insns isa.Instructions, mem []byte) (uint64, []byte, error) {
	setup := isa.Instructions{
		movReg(isa.R1, isa.R6),
		addImm(isa.R1, r0Bytes),
	}
	data := packet(r0Bytes + len(mem))
	copy(data[r0Bytes:], mem)
	out, err := runWrapped(wrapper(r0Bytes+len(mem), setup, len(mem)), insns, data)
	if err != nil {
		return 0, nil, err
	}
	memOut := make([]byte, len(mem))
	copy(memOut, out[r0Bytes:])
	return binary.NativeEndian.Uint64(out), memOut, nil
}

// runInMapValue runs insns with mem in a one-element array map.
func runInMapValue(insns isa.Instructions, mem []byte) (uint64, []byte, error) {
	m, err := ebpf.NewMap(&ebpf.MapSpec{
		Name:       "gobee_mem",
		Type:       ebpf.Array,
		KeySize:    4,
		ValueSize:  uint32(max(len(mem), 1)),
		MaxEntries: 1,
	})
	if err != nil {
		return 0, nil, fmt.Errorf("kernel: create memory map: %w", err)
	}
	defer m.Close()
	value := make([]byte, m.ValueSize())
	copy(value, mem)
	if err := m.Update(uint32(0), value, ebpf.UpdateAny); err != nil {
		return 0, nil, fmt.Errorf("kernel: fill memory map: %w", err)
	}
	setup := isa.Instructions{{
		Op: isa.OpcodeLDDW, Dst: isa.R1, Src: isa.PseudoMapValue,
		Imm: int64(uint32(m.FD())), // offset 0 in the upper half
	}}
	out, err := runWrapped(wrapper(r0Bytes, setup, len(mem)), insns, packet(r0Bytes))
	if err != nil {
		return 0, nil, err
	}
	got, err := m.LookupBytes(uint32(0))
	if err != nil {
		return 0, nil, fmt.Errorf("kernel: read memory map: %w", err)
	}
	return binary.NativeEndian.Uint64(out), got[:len(mem)], nil
}

// packet returns a zeroed packet of n bytes, at least ETH_HLEN long.
func packet(n int) []byte { return make([]byte, max(n, ethHeaderLen)) }

// runWrapped loads wrapper followed by insns as an XDP program, runs it
// once on data and returns the packet it leaves.
func runWrapped(wrapper, insns isa.Instructions, data []byte) ([]byte, error) {
	if len(insns) == 0 {
		return nil, errors.New("kernel: empty subprogram")
	}
	prog := make(isa.Instructions, 0, len(wrapper)+len(insns))
	prog = append(append(prog, wrapper...), insns...)
	p, err := LoadProgram(ebpf.XDP, prog, "GPL")
	if err != nil {
		return nil, err
	}
	defer p.Close()
	ret, out, _, err := p.TestRun(data, nil, 1)
	if err != nil {
		return nil, err
	}
	if ret != xdpPass {
		return nil, fmt.Errorf("%w (XDP verdict %d)", ErrShortPacket, ret)
	}
	if len(out) < len(data) {
		return nil, fmt.Errorf("kernel: test run returned %d bytes of %d", len(out), len(data))
	}
	return out, nil
}

// wrapper returns the XDP main program: it checks that the packet holds
// need bytes, runs setup (which must leave r1 = the subprogram's memory;
// r6 holds data), sets r2 = memLen, calls the subprogram that follows the
// wrapper, stores r0 in the first 8 bytes of the packet and returns
// XDP_PASS. A short packet returns XDP_ABORTED.
//
// The wrapper uses no stack, so the subprogram keeps the whole 512 bytes
// of MAX_BPF_STACK for its own call chain.
func wrapper(need int, setup isa.Instructions, memLen int) isa.Instructions {
	w := isa.Instructions{
		ldxw(isa.R6, isa.R1, 0), // r6 = ctx->data
		ldxw(isa.R7, isa.R1, 4), // r7 = ctx->data_end
		movReg(isa.R3, isa.R6),
		addImm(isa.R3, int32(need)),
		{Op: jmpOp(isa.OpJGT, isa.SrcX), Dst: isa.R3, Src: isa.R7}, // offset patched below
	}
	check := len(w) - 1
	w = append(w, setup...)
	w = append(w,
		isa.Instruction{Op: aluOp(isa.ClassALU64, isa.OpMov, isa.SrcK), Dst: isa.R2, Imm: int64(memLen)},
		isa.Instruction{Op: isa.OpcodeCall, Src: isa.PseudoCall}, // imm patched below
	)
	call := len(w) - 1
	w = append(w,
		isa.Instruction{Op: stxOp(isa.SizeDW), Dst: isa.R6, Src: isa.R0},
		movImm(isa.R0, xdpPass),
		isa.Instruction{Op: isa.OpcodeExit},
	)
	fail := len(w)
	w = append(w, movImm(isa.R0, xdpAborted), isa.Instruction{Op: isa.OpcodeExit})

	slots := w.SlotIndex()
	w[check].Off = int16(slots[fail] - slots[check] - 1)
	w[call].Imm = int64(slots[len(w)] - slots[call] - 1)
	return w
}

func aluOp(c isa.Class, op, src uint8) isa.Opcode { return isa.Opcode(uint8(c) | op | src) }
func jmpOp(op, src uint8) isa.Opcode              { return isa.Opcode(uint8(isa.ClassJMP) | op | src) }
func stxOp(size uint8) isa.Opcode {
	return isa.Opcode(uint8(isa.ClassSTX) | isa.ModeMEM | size)
}

func movReg(dst, src isa.Register) isa.Instruction {
	return isa.Instruction{Op: aluOp(isa.ClassALU64, isa.OpMov, isa.SrcX), Dst: dst, Src: src}
}

func movImm(dst isa.Register, imm int32) isa.Instruction {
	return isa.Instruction{Op: aluOp(isa.ClassALU64, isa.OpMov, isa.SrcK), Dst: dst, Imm: int64(imm)}
}

func addImm(dst isa.Register, imm int32) isa.Instruction {
	return isa.Instruction{Op: aluOp(isa.ClassALU64, isa.OpAdd, isa.SrcK), Dst: dst, Imm: int64(imm)}
}

func ldxw(dst, src isa.Register, off int16) isa.Instruction {
	return isa.Instruction{Op: isa.Opcode(uint8(isa.ClassLDX) | isa.ModeMEM | isa.SizeW), Dst: dst, Src: src, Off: off}
}
