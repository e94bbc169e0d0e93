// Package isa owns the eBPF instruction set: opcodes, the decoded
// instruction form, raw encoding in both byte orders, validation of single
// instructions and whole programs, and the text assembler and disassembler.
//
// The constants follow include/uapi/linux/bpf.h and bpf_common.h so that a
// reader can match them with the kernel by name.
package isa

// Opcode is the first byte of an instruction: class in the low three bits,
// the rest depending on the class.
type Opcode uint8

// Class is the instruction class (the low three bits of the opcode).
type Class uint8

// Instruction classes.
const (
	ClassLD    Class = 0x00
	ClassLDX   Class = 0x01
	ClassST    Class = 0x02
	ClassSTX   Class = 0x03
	ClassALU   Class = 0x04
	ClassJMP   Class = 0x05
	ClassJMP32 Class = 0x06
	ClassALU64 Class = 0x07
)

// Size field of load and store opcodes.
const (
	SizeW  uint8 = 0x00
	SizeH  uint8 = 0x08
	SizeB  uint8 = 0x10
	SizeDW uint8 = 0x18
)

// Mode field of load and store opcodes.
const (
	ModeIMM    uint8 = 0x00
	ModeABS    uint8 = 0x20
	ModeIND    uint8 = 0x40
	ModeMEM    uint8 = 0x60
	ModeMEMSX  uint8 = 0x80
	ModeATOMIC uint8 = 0xc0
)

// Source bit of ALU and JMP opcodes. For BPF_END it selects the byte order.
const (
	SrcK uint8 = 0x00
	SrcX uint8 = 0x08

	EndToLE uint8 = 0x00
	EndToBE uint8 = 0x08
)

// ALU operations (the high four bits of an ALU/ALU64 opcode).
const (
	OpAdd  uint8 = 0x00
	OpSub  uint8 = 0x10
	OpMul  uint8 = 0x20
	OpDiv  uint8 = 0x30
	OpOr   uint8 = 0x40
	OpAnd  uint8 = 0x50
	OpLsh  uint8 = 0x60
	OpRsh  uint8 = 0x70
	OpNeg  uint8 = 0x80
	OpMod  uint8 = 0x90
	OpXor  uint8 = 0xa0
	OpMov  uint8 = 0xb0
	OpArsh uint8 = 0xc0
	OpEnd  uint8 = 0xd0
)

// Jump operations (the high four bits of a JMP/JMP32 opcode).
const (
	OpJA    uint8 = 0x00
	OpJEQ   uint8 = 0x10
	OpJGT   uint8 = 0x20
	OpJGE   uint8 = 0x30
	OpJSET  uint8 = 0x40
	OpJNE   uint8 = 0x50
	OpJSGT  uint8 = 0x60
	OpJSGE  uint8 = 0x70
	OpCall  uint8 = 0x80
	OpExit  uint8 = 0x90
	OpJLT   uint8 = 0xa0
	OpJLE   uint8 = 0xb0
	OpJSLT  uint8 = 0xc0
	OpJSLE  uint8 = 0xd0
	OpJCOND uint8 = 0xe0 // may_goto
)

// Atomic operations, carried in the imm field of BPF_STX|BPF_ATOMIC.
const (
	AtomicAdd     int64 = 0x00
	AtomicOr      int64 = 0x40
	AtomicAnd     int64 = 0x50
	AtomicXor     int64 = 0xa0
	AtomicFetch   int64 = 0x01
	AtomicXchg    int64 = 0xe0 | AtomicFetch
	AtomicCmpXchg int64 = 0xf0 | AtomicFetch
	// Linux extensions (6.15+): acquire loads and release stores.
	AtomicLoadAcq  int64 = 0x100
	AtomicStoreRel int64 = 0x110
)

// Pseudo source registers of lddw (BPF_LD|BPF_IMM|BPF_DW).
const (
	PseudoMapFD       Register = 1 // imm: map fd
	PseudoMapValue    Register = 2 // imm: map fd, next imm: offset into the value
	PseudoBTFID       Register = 3 // imm: BTF id of a kernel variable
	PseudoFunc        Register = 4 // imm: pc-relative offset of a subprogram
	PseudoMapIdx      Register = 5 // imm: index into the fd array
	PseudoMapIdxValue Register = 6 // imm: index into the fd array, next imm: offset
)

// Pseudo source registers of BPF_CALL.
const (
	PseudoCallHelper Register = 0 // imm: helper id (enum bpf_func_id)
	PseudoCall       Register = 1 // imm: pc-relative offset of a subprogram
	PseudoKfuncCall  Register = 2 // imm: BTF id of the kfunc, off: BTF fd index
)

// Offsets with a meaning in ALU/ALU64 instructions.
const (
	OffSigned         = 1       // sdiv / smod
	OffAddrSpaceCast  = 1       // BPF_ALU64|BPF_MOV|BPF_X: addr_space_cast
	AddrSpaceToKernel = 1       // imm of addr_space_cast: as(1) -> as(0)
	AddrSpaceToUser   = 1 << 16 // imm of addr_space_cast: as(0) -> as(1)
)

// Limits of the machine.
const (
	// InstructionSize is the size of one instruction slot in bytes.
	InstructionSize = 8
	// StackSize is the stack of one frame, as MAX_BPF_STACK.
	StackSize = 512
	// MaxCallFrames is the call depth limit, as MAX_CALL_FRAMES.
	MaxCallFrames = 8
	// MaxLoops is the may_goto budget of one frame, as BPF_MAX_LOOPS.
	MaxLoops = 8 * 1024 * 1024
)

// Class returns the instruction class.
func (op Opcode) Class() Class { return Class(op & 0x07) }

// ALUOp returns the operation bits of an ALU or JMP opcode.
func (op Opcode) ALUOp() uint8 { return uint8(op) & 0xf0 }

// JumpOp returns the operation bits of a JMP or JMP32 opcode.
func (op Opcode) JumpOp() uint8 { return uint8(op) & 0xf0 }

// Source returns the source bit (SrcK or SrcX) of an ALU or JMP opcode.
func (op Opcode) Source() uint8 { return uint8(op) & 0x08 }

// Size returns the size bits of a load or store opcode.
func (op Opcode) Size() uint8 { return uint8(op) & 0x18 }

// Mode returns the mode bits of a load or store opcode.
func (op Opcode) Mode() uint8 { return uint8(op) & 0xe0 }

// IsALU reports whether the class is ALU or ALU64.
func (c Class) IsALU() bool { return c == ClassALU || c == ClassALU64 }

// IsJump reports whether the class is JMP or JMP32.
func (c Class) IsJump() bool { return c == ClassJMP || c == ClassJMP32 }

// IsLoad reports whether the class is LD or LDX.
func (c Class) IsLoad() bool { return c == ClassLD || c == ClassLDX }

// IsStore reports whether the class is ST or STX.
func (c Class) IsStore() bool { return c == ClassST || c == ClassSTX }

// SizeBytes returns the access width in bytes of a size field.
func SizeBytes(size uint8) int {
	switch size {
	case SizeB:
		return 1
	case SizeH:
		return 2
	case SizeW:
		return 4
	default:
		return 8
	}
}

// Common opcodes, spelled out for readers and tests.
const (
	OpcodeLDDW    Opcode = Opcode(uint8(ClassLD) | ModeIMM | SizeDW) // 0x18
	OpcodeCall    Opcode = Opcode(uint8(ClassJMP) | OpCall)          // 0x85
	OpcodeCallX   Opcode = Opcode(uint8(ClassJMP) | OpCall | SrcX)   // 0x8d
	OpcodeExit    Opcode = Opcode(uint8(ClassJMP) | OpExit)          // 0x95
	OpcodeJA      Opcode = Opcode(uint8(ClassJMP) | OpJA)            // 0x05
	OpcodeGotoL   Opcode = Opcode(uint8(ClassJMP32) | OpJA)          // 0x06
	OpcodeMayGoto Opcode = Opcode(uint8(ClassJMP) | OpJCOND)         // 0xe5
)
