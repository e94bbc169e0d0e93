package testrun

import "github.com/gobee-dev/gobee/isa"

// MaxCtxOffset estimates the verifier's max_ctx_offset of insns: the end
// of the furthest context access (off+size) through r1 or a register
// copied from it (plus constants) in the main program. Raw tracepoint,
// tracing and syscall test runs refuse a ctx_in shorter than it. The scan
// is flow-insensitive: it follows every instruction in order, so it also
// counts accesses on paths the verifier would prune as dead.
func MaxCtxOffset(insns isa.Instructions) uint32 {
	const unknown = int64(-1 << 62)
	var ctx [11]int64 // offset from the context of each register, or unknown
	for i := range ctx {
		ctx[i] = unknown
	}
	ctx[1] = 0
	sizes := map[uint8]int64{isa.SizeB: 1, isa.SizeH: 2, isa.SizeW: 4, isa.SizeDW: 8}
	var end int64
	access := func(base isa.Register, off int16, size uint8) {
		if int(base) < len(ctx) && ctx[base] != unknown {
			if e := ctx[base] + int64(off) + sizes[size]; e > end {
				end = e
			}
		}
	}
	for _, ins := range insns {
		op := ins.Op
		switch op.Class() {
		case isa.ClassLDX:
			access(ins.Src, ins.Off, op.Size())
			if int(ins.Dst) < len(ctx) {
				ctx[ins.Dst] = unknown
			}
		case isa.ClassST, isa.ClassSTX:
			access(ins.Dst, ins.Off, op.Size())
			if op.Mode() == isa.ModeATOMIC && ins.Imm&isa.AtomicFetch != 0 && int(ins.Src) < len(ctx) {
				ctx[ins.Src] = unknown
			}
		case isa.ClassALU64:
			if int(ins.Dst) >= len(ctx) {
				continue
			}
			switch {
			case op.ALUOp() == isa.OpMov && op.Source() == isa.SrcX && int(ins.Src) < len(ctx):
				ctx[ins.Dst] = ctx[ins.Src]
			case op.ALUOp() == isa.OpAdd && op.Source() == isa.SrcK && ctx[ins.Dst] != unknown:
				ctx[ins.Dst] += ins.Imm
			case op.ALUOp() == isa.OpSub && op.Source() == isa.SrcK && ctx[ins.Dst] != unknown:
				ctx[ins.Dst] -= ins.Imm
			default:
				ctx[ins.Dst] = unknown
			}
		case isa.ClassALU, isa.ClassLD:
			if int(ins.Dst) < len(ctx) {
				ctx[ins.Dst] = unknown
			}
		case isa.ClassJMP:
			if op.JumpOp() == isa.OpCall {
				for r := 0; r <= 5; r++ {
					ctx[r] = unknown
				}
			}
		}
	}
	if end < 0 {
		return 0
	}
	return uint32(end)
}
