package interp

import (
	"encoding/binary"
	"math/bits"
	"sync/atomic"
	"unsafe"

	"github.com/gobee-dev/gobee/isa"
)

// exec runs from slot pc until an exit at call depth base. It is the hot
// loop: one dense switch per instruction, registers in an array, memory
// accesses through r.ptr. Every case either falls to "pc++" or jumps.
func (r *Run) exec(pc int, base int) (uint64, error) {
	prog := r.prog
	insts := prog.insts
	regs := &r.regs
	for {
		// Load validated every jump and call target and made the last
		// instruction an exit or a jump, so pc is always in range: the
		// bounds check Go would add here is skipped.
		in := (*inst)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(insts)), uintptr(pc)*unsafe.Sizeof(inst{})))
		d, s := in.dst&15, in.src&15
		switch in.op {
		case opAdd64K:
			regs[d] += in.imm
		case opAdd64X:
			regs[d] += regs[s]
		case opSub64K:
			regs[d] -= in.imm
		case opSub64X:
			regs[d] -= regs[s]
		case opMul64K:
			regs[d] *= in.imm
		case opMul64X:
			regs[d] *= regs[s]
		case opDiv64K:
			regs[d] = udiv64(regs[d], in.imm)
		case opDiv64X:
			regs[d] = udiv64(regs[d], regs[s])
		case opSDiv64K:
			regs[d] = sdiv64(regs[d], in.imm)
		case opSDiv64X:
			regs[d] = sdiv64(regs[d], regs[s])
		case opMod64K:
			regs[d] = umod64(regs[d], in.imm)
		case opMod64X:
			regs[d] = umod64(regs[d], regs[s])
		case opSMod64K:
			regs[d] = smod64(regs[d], in.imm)
		case opSMod64X:
			regs[d] = smod64(regs[d], regs[s])
		case opOr64K:
			regs[d] |= in.imm
		case opOr64X:
			regs[d] |= regs[s]
		case opAnd64K:
			regs[d] &= in.imm
		case opAnd64X:
			regs[d] &= regs[s]
		case opXor64K:
			regs[d] ^= in.imm
		case opXor64X:
			regs[d] ^= regs[s]
		case opLsh64K:
			regs[d] <<= in.imm & 63
		case opLsh64X:
			regs[d] <<= regs[s] & 63
		case opRsh64K:
			regs[d] >>= in.imm & 63
		case opRsh64X:
			regs[d] >>= regs[s] & 63
		case opArsh64K:
			regs[d] = uint64(int64(regs[d]) >> (in.imm & 63))
		case opArsh64X:
			regs[d] = uint64(int64(regs[d]) >> (regs[s] & 63))
		case opNeg64:
			regs[d] = -regs[d]
		case opMov64K:
			regs[d] = in.imm
		case opMov64X:
			regs[d] = regs[s]
		case opMovSX64_8:
			regs[d] = uint64(int64(int8(regs[s])))
		case opMovSX64_16:
			regs[d] = uint64(int64(int16(regs[s])))
		case opMovSX64_32:
			regs[d] = uint64(int64(int32(regs[s])))
		case opAddrSpaceCast:
			regs[d] = addrSpaceCast(regs[s], in.imm)

		case opAdd32K:
			regs[d] = uint64(uint32(regs[d]) + uint32(in.imm))
		case opAdd32X:
			regs[d] = uint64(uint32(regs[d]) + uint32(regs[s]))
		case opSub32K:
			regs[d] = uint64(uint32(regs[d]) - uint32(in.imm))
		case opSub32X:
			regs[d] = uint64(uint32(regs[d]) - uint32(regs[s]))
		case opMul32K:
			regs[d] = uint64(uint32(regs[d]) * uint32(in.imm))
		case opMul32X:
			regs[d] = uint64(uint32(regs[d]) * uint32(regs[s]))
		case opDiv32K:
			regs[d] = udiv32(regs[d], in.imm)
		case opDiv32X:
			regs[d] = udiv32(regs[d], regs[s])
		case opSDiv32K:
			regs[d] = sdiv32(regs[d], in.imm)
		case opSDiv32X:
			regs[d] = sdiv32(regs[d], regs[s])
		case opMod32K:
			regs[d] = umod32(regs[d], in.imm)
		case opMod32X:
			regs[d] = umod32(regs[d], regs[s])
		case opSMod32K:
			regs[d] = smod32(regs[d], in.imm)
		case opSMod32X:
			regs[d] = smod32(regs[d], regs[s])
		case opOr32K:
			regs[d] = uint64(uint32(regs[d]) | uint32(in.imm))
		case opOr32X:
			regs[d] = uint64(uint32(regs[d]) | uint32(regs[s]))
		case opAnd32K:
			regs[d] = uint64(uint32(regs[d]) & uint32(in.imm))
		case opAnd32X:
			regs[d] = uint64(uint32(regs[d]) & uint32(regs[s]))
		case opXor32K:
			regs[d] = uint64(uint32(regs[d]) ^ uint32(in.imm))
		case opXor32X:
			regs[d] = uint64(uint32(regs[d]) ^ uint32(regs[s]))
		case opLsh32K:
			regs[d] = uint64(uint32(regs[d]) << (in.imm & 31))
		case opLsh32X:
			regs[d] = uint64(uint32(regs[d]) << (regs[s] & 31))
		case opRsh32K:
			regs[d] = uint64(uint32(regs[d]) >> (in.imm & 31))
		case opRsh32X:
			regs[d] = uint64(uint32(regs[d]) >> (regs[s] & 31))
		case opArsh32K:
			regs[d] = uint64(uint32(int32(regs[d]) >> (in.imm & 31)))
		case opArsh32X:
			regs[d] = uint64(uint32(int32(regs[d]) >> (regs[s] & 31)))
		case opNeg32:
			regs[d] = uint64(-uint32(regs[d]))
		case opMov32K:
			regs[d] = in.imm
		case opMov32X:
			regs[d] = uint64(uint32(regs[s]))
		case opMovSX32_8:
			regs[d] = uint64(uint32(int32(int8(regs[s]))))
		case opMovSX32_16:
			regs[d] = uint64(uint32(int32(int16(regs[s]))))

		case opLE16:
			regs[d] = uint64(uint16(regs[d]))
		case opLE32:
			regs[d] = uint64(uint32(regs[d]))
		case opLE64:
		case opBE16:
			regs[d] = uint64(bits.ReverseBytes16(uint16(regs[d])))
		case opBE32:
			regs[d] = uint64(bits.ReverseBytes32(uint32(regs[d])))
		case opBE64:
			regs[d] = bits.ReverseBytes64(regs[d])

		case opLdxB:
			p := r.ptr(regs[s]+uint64(int64(in.off)), 1, false)
			if p == nil {
				v, err := r.contextLoad(pc, regs[s]+uint64(int64(in.off)), 1)
				if err != nil {
					return 0, err
				}
				regs[d] = v
				break
			}
			regs[d] = uint64(*(*uint8)(p))
		case opLdxH:
			p := r.ptr(regs[s]+uint64(int64(in.off)), 2, false)
			if p == nil {
				v, err := r.contextLoad(pc, regs[s]+uint64(int64(in.off)), 2)
				if err != nil {
					return 0, err
				}
				regs[d] = v
				break
			}
			regs[d] = uint64(*(*uint16)(p))
		case opLdxW:
			p := r.ptr(regs[s]+uint64(int64(in.off)), 4, false)
			if p == nil {
				v, err := r.contextLoad(pc, regs[s]+uint64(int64(in.off)), 4)
				if err != nil {
					return 0, err
				}
				regs[d] = v
				break
			}
			regs[d] = uint64(*(*uint32)(p))
		case opLdxDW:
			p := r.ptr(regs[s]+uint64(int64(in.off)), 8, false)
			if p == nil {
				v, err := r.contextLoad(pc, regs[s]+uint64(int64(in.off)), 8)
				if err != nil {
					return 0, err
				}
				regs[d] = v
				break
			}
			regs[d] = *(*uint64)(p)
		case opLdxSB:
			p := r.ptr(regs[s]+uint64(int64(in.off)), 1, false)
			if p == nil {
				v, err := r.contextLoad(pc, regs[s]+uint64(int64(in.off)), 1)
				if err != nil {
					return 0, err
				}
				regs[d] = uint64(int64(int8(v)))
				break
			}
			regs[d] = uint64(int64(*(*int8)(p)))
		case opLdxSH:
			p := r.ptr(regs[s]+uint64(int64(in.off)), 2, false)
			if p == nil {
				v, err := r.contextLoad(pc, regs[s]+uint64(int64(in.off)), 2)
				if err != nil {
					return 0, err
				}
				regs[d] = uint64(int64(int16(v)))
				break
			}
			regs[d] = uint64(int64(*(*int16)(p)))
		case opLdxSW:
			p := r.ptr(regs[s]+uint64(int64(in.off)), 4, false)
			if p == nil {
				v, err := r.contextLoad(pc, regs[s]+uint64(int64(in.off)), 4)
				if err != nil {
					return 0, err
				}
				regs[d] = uint64(int64(int32(v)))
				break
			}
			regs[d] = uint64(int64(*(*int32)(p)))

		case opStB, opStxB:
			p := r.ptr(regs[d]+uint64(int64(in.off)), 1, true)
			if p == nil {
				if err := r.contextStore(pc, regs[d]+uint64(int64(in.off)), 1, storeValue(in, regs)); err != nil {
					return 0, err
				}
				break
			}
			*(*uint8)(p) = uint8(storeValue(in, regs))
		case opStH, opStxH:
			p := r.ptr(regs[d]+uint64(int64(in.off)), 2, true)
			if p == nil {
				if err := r.contextStore(pc, regs[d]+uint64(int64(in.off)), 2, storeValue(in, regs)); err != nil {
					return 0, err
				}
				break
			}
			*(*uint16)(p) = uint16(storeValue(in, regs))
		case opStW, opStxW:
			p := r.ptr(regs[d]+uint64(int64(in.off)), 4, true)
			if p == nil {
				if err := r.contextStore(pc, regs[d]+uint64(int64(in.off)), 4, storeValue(in, regs)); err != nil {
					return 0, err
				}
				break
			}
			*(*uint32)(p) = uint32(storeValue(in, regs))
		case opStDW, opStxDW:
			p := r.ptr(regs[d]+uint64(int64(in.off)), 8, true)
			if p == nil {
				if err := r.contextStore(pc, regs[d]+uint64(int64(in.off)), 8, storeValue(in, regs)); err != nil {
					return 0, err
				}
				break
			}
			*(*uint64)(p) = storeValue(in, regs)

		case opLddw:
			regs[d] = in.imm
			pc += 2
			continue
		case opLdAbsB, opLdAbsH, opLdAbsW, opLdIndB, opLdIndH, opLdIndW:
			v, ok := r.loadPacket(in, regs)
			if !ok {
				// The kernel ends the program with r0 = 0 when the
				// offset is outside the packet.
				return 0, nil
			}
			regs[0] = v

		case opAtomicAdd, opAtomicOr, opAtomicAnd, opAtomicXor,
			opAtomicFetchAdd, opAtomicFetchOr, opAtomicFetchAnd, opAtomicFetchXor,
			opAtomicXchg, opAtomicCmpXchg, opLoadAcquire, opStoreRelease:
			if err := r.atomic(pc, in); err != nil {
				return 0, err
			}

		case opJA:
			goto jump
		case opJEQ64K:
			if regs[d] == in.imm {
				goto jump
			}
		case opJEQ64X:
			if regs[d] == regs[s] {
				goto jump
			}
		case opJNE64K:
			if regs[d] != in.imm {
				goto jump
			}
		case opJNE64X:
			if regs[d] != regs[s] {
				goto jump
			}
		case opJGT64K:
			if regs[d] > in.imm {
				goto jump
			}
		case opJGT64X:
			if regs[d] > regs[s] {
				goto jump
			}
		case opJGE64K:
			if regs[d] >= in.imm {
				goto jump
			}
		case opJGE64X:
			if regs[d] >= regs[s] {
				goto jump
			}
		case opJLT64K:
			if regs[d] < in.imm {
				goto jump
			}
		case opJLT64X:
			if regs[d] < regs[s] {
				goto jump
			}
		case opJLE64K:
			if regs[d] <= in.imm {
				goto jump
			}
		case opJLE64X:
			if regs[d] <= regs[s] {
				goto jump
			}
		case opJSGT64K:
			if int64(regs[d]) > int64(in.imm) {
				goto jump
			}
		case opJSGT64X:
			if int64(regs[d]) > int64(regs[s]) {
				goto jump
			}
		case opJSGE64K:
			if int64(regs[d]) >= int64(in.imm) {
				goto jump
			}
		case opJSGE64X:
			if int64(regs[d]) >= int64(regs[s]) {
				goto jump
			}
		case opJSLT64K:
			if int64(regs[d]) < int64(in.imm) {
				goto jump
			}
		case opJSLT64X:
			if int64(regs[d]) < int64(regs[s]) {
				goto jump
			}
		case opJSLE64K:
			if int64(regs[d]) <= int64(in.imm) {
				goto jump
			}
		case opJSLE64X:
			if int64(regs[d]) <= int64(regs[s]) {
				goto jump
			}
		case opJSET64K:
			if regs[d]&in.imm != 0 {
				goto jump
			}
		case opJSET64X:
			if regs[d]&regs[s] != 0 {
				goto jump
			}
		case opJEQ32K:
			if uint32(regs[d]) == uint32(in.imm) {
				goto jump
			}
		case opJEQ32X:
			if uint32(regs[d]) == uint32(regs[s]) {
				goto jump
			}
		case opJNE32K:
			if uint32(regs[d]) != uint32(in.imm) {
				goto jump
			}
		case opJNE32X:
			if uint32(regs[d]) != uint32(regs[s]) {
				goto jump
			}
		case opJGT32K:
			if uint32(regs[d]) > uint32(in.imm) {
				goto jump
			}
		case opJGT32X:
			if uint32(regs[d]) > uint32(regs[s]) {
				goto jump
			}
		case opJGE32K:
			if uint32(regs[d]) >= uint32(in.imm) {
				goto jump
			}
		case opJGE32X:
			if uint32(regs[d]) >= uint32(regs[s]) {
				goto jump
			}
		case opJLT32K:
			if uint32(regs[d]) < uint32(in.imm) {
				goto jump
			}
		case opJLT32X:
			if uint32(regs[d]) < uint32(regs[s]) {
				goto jump
			}
		case opJLE32K:
			if uint32(regs[d]) <= uint32(in.imm) {
				goto jump
			}
		case opJLE32X:
			if uint32(regs[d]) <= uint32(regs[s]) {
				goto jump
			}
		case opJSGT32K:
			if int32(regs[d]) > int32(in.imm) {
				goto jump
			}
		case opJSGT32X:
			if int32(regs[d]) > int32(regs[s]) {
				goto jump
			}
		case opJSGE32K:
			if int32(regs[d]) >= int32(in.imm) {
				goto jump
			}
		case opJSGE32X:
			if int32(regs[d]) >= int32(regs[s]) {
				goto jump
			}
		case opJSLT32K:
			if int32(regs[d]) < int32(in.imm) {
				goto jump
			}
		case opJSLT32X:
			if int32(regs[d]) < int32(regs[s]) {
				goto jump
			}
		case opJSLE32K:
			if int32(regs[d]) <= int32(in.imm) {
				goto jump
			}
		case opJSLE32X:
			if int32(regs[d]) <= int32(regs[s]) {
				goto jump
			}
		case opJSET32K:
			if uint32(regs[d])&uint32(in.imm) != 0 {
				goto jump
			}
		case opJSET32X:
			if uint32(regs[d])&uint32(regs[s]) != 0 {
				goto jump
			}
		case opMayGoto:
			if r.loops == 0 {
				goto jump
			}
			r.loops--

		case opCallHelper, opCallKfunc:
			v, err := prog.funcs[in.imm](r, regs[1], regs[2], regs[3], regs[4], regs[5])
			if err != nil {
				return 0, r.fault(pc, err)
			}
			regs[0] = v
		case opCallLocal:
			if err := r.pushFrame(prog, pc+1); err != nil {
				return 0, r.fault(pc, err)
			}
			pc = int(in.off)
			continue
		case opCallX:
			next, err := r.callX(prog, pc, regs[d])
			if err != nil {
				return 0, r.fault(pc, err)
			}
			pc = next
			continue
		case opTailCall:
			if next := prog.tailCall(r, regs[2], regs[3]); next != nil && r.tails < MaxTailCalls {
				r.tails++
				r.prog, prog, insts = next, next, next.insts
				r.loops = isa.MaxLoops
				pc = 0
				continue
			}
		case opExit:
			if r.depth == base {
				return regs[0], nil
			}
			pc = r.popFrame()
			prog = r.prog
			insts = prog.insts
			continue

		default:
			return 0, r.fault(pc, ErrUnsupported)
		}
		pc++
		continue

	jump:
		// Backward jumps pay for the instructions they may repeat, so a
		// program that never ends runs out of budget.
		if t := int(in.off); t <= pc {
			r.budget -= int64(pc - t + 1)
			if r.budget < 0 {
				return 0, r.fault(pc, ErrBudget)
			}
		}
		pc = int(in.off)
	}
}

// storeValue is the value an ST (immediate) or STX (register) stores.
func storeValue(in *inst, regs *[16]uint64) uint64 {
	if in.op >= opStxB && in.op <= opStxDW {
		return regs[in.src&15]
	}
	return in.imm
}

func udiv64(a, b uint64) uint64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func umod64(a, b uint64) uint64 {
	if b == 0 {
		return a
	}
	return a % b
}

// sdiv64 and smod64 follow the kernel: division by zero gives 0 (div) or
// leaves the dividend (mod); INT64_MIN / -1 wraps to INT64_MIN, % gives 0.
func sdiv64(a, b uint64) uint64 {
	if b == 0 {
		return 0
	}
	if int64(b) == -1 {
		return -a
	}
	return uint64(int64(a) / int64(b))
}

func smod64(a, b uint64) uint64 {
	if b == 0 {
		return a
	}
	if int64(b) == -1 {
		return 0
	}
	return uint64(int64(a) % int64(b))
}

func udiv32(a, b uint64) uint64 {
	if uint32(b) == 0 {
		return 0
	}
	return uint64(uint32(a) / uint32(b))
}

func umod32(a, b uint64) uint64 {
	if uint32(b) == 0 {
		return uint64(uint32(a))
	}
	return uint64(uint32(a) % uint32(b))
}

func sdiv32(a, b uint64) uint64 {
	if uint32(b) == 0 {
		return 0
	}
	if int32(b) == -1 {
		return uint64(-uint32(a))
	}
	return uint64(uint32(int32(a) / int32(b)))
}

func smod32(a, b uint64) uint64 {
	if uint32(b) == 0 {
		return uint64(uint32(a))
	}
	if int32(b) == -1 {
		return 0
	}
	return uint64(uint32(int32(a) % int32(b)))
}

// addrSpaceCast converts between an arena's user address space (1) and
// the program's (0), as the kernel's JIT does: to as(0) keeps the low 32
// bits (0 stays 0); to as(1) keeps the value. gobee's arenas, when they
// come, will add their base here.
func addrSpaceCast(v, imm uint64) uint64 {
	if imm == isa.AddrSpaceToKernel {
		return uint64(uint32(v))
	}
	return v
}

// loadPacket performs ld_abs/ld_ind: a big-endian load from the packet at
// a constant (abs) or register + constant (ind) offset.
func (r *Run) loadPacket(in *inst, regs *[16]uint64) (uint64, bool) {
	off := int64(int32(in.imm))
	if in.op >= opLdIndB {
		off = int64(int32(uint32(regs[in.src&15]) + uint32(in.imm)))
	}
	pkt := r.in.Packet
	var n int64
	switch in.op {
	case opLdAbsB, opLdIndB:
		n = 1
	case opLdAbsH, opLdIndH:
		n = 2
	default:
		n = 4
	}
	if off < 0 || off+n > int64(len(pkt)) {
		return 0, false
	}
	b := pkt[off : off+n]
	switch n {
	case 1:
		return uint64(b[0]), true
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), true
	}
	return uint64(binary.BigEndian.Uint32(b)), true
}

// atomic performs the BPF_ATOMIC instructions with Go's sync/atomic, so
// concurrent runs see the same guarantees as in the kernel.
func (r *Run) atomic(pc int, in *inst) error {
	regs := &r.regs
	d, s := in.dst&15, in.src&15
	n := uint64(in.size)
	addr := regs[d] + uint64(int64(in.off))
	if in.op == opLoadAcquire {
		addr = regs[s] + uint64(int64(in.off))
	}
	if addr%n != 0 {
		return r.fault(pc, ErrMisaligned)
	}
	p := r.ptr(addr, n, in.op != opLoadAcquire)
	if p == nil {
		return r.accessFaultAt(pc, addr, n, in.op != opLoadAcquire)
	}
	switch in.op {
	case opLoadAcquire:
		regs[d] = loadAcquire(p, n)
		return nil
	case opStoreRelease:
		storeRelease(p, n, regs[s])
		return nil
	}
	if n == 4 {
		atomic32(in.op, (*uint32)(p), regs, s)
	} else {
		atomic64(in.op, (*uint64)(p), regs, s)
	}
	return nil
}

func atomic64(o op, p *uint64, regs *[16]uint64, s uint8) {
	v := regs[s]
	switch o {
	case opAtomicAdd:
		atomic.AddUint64(p, v)
	case opAtomicOr:
		atomic.OrUint64(p, v)
	case opAtomicAnd:
		atomic.AndUint64(p, v)
	case opAtomicXor:
		rmw64(p, func(old uint64) uint64 { return old ^ v })
	case opAtomicFetchAdd:
		regs[s] = atomic.AddUint64(p, v) - v
	case opAtomicFetchOr:
		regs[s] = atomic.OrUint64(p, v)
	case opAtomicFetchAnd:
		regs[s] = atomic.AndUint64(p, v)
	case opAtomicFetchXor:
		regs[s] = rmw64(p, func(old uint64) uint64 { return old ^ v })
	case opAtomicXchg:
		regs[s] = atomic.SwapUint64(p, v)
	case opAtomicCmpXchg:
		want := regs[0]
		for {
			old := atomic.LoadUint64(p)
			if old != want || atomic.CompareAndSwapUint64(p, old, v) {
				regs[0] = old
				return
			}
		}
	}
}

// atomic32 is atomic64 for 32-bit operands; fetched values are
// zero-extended into the register, as BPF_W loads are.
func atomic32(o op, p *uint32, regs *[16]uint64, s uint8) {
	v := uint32(regs[s])
	switch o {
	case opAtomicAdd:
		atomic.AddUint32(p, v)
	case opAtomicOr:
		atomic.OrUint32(p, v)
	case opAtomicAnd:
		atomic.AndUint32(p, v)
	case opAtomicXor:
		rmw32(p, func(old uint32) uint32 { return old ^ v })
	case opAtomicFetchAdd:
		regs[s] = uint64(atomic.AddUint32(p, v) - v)
	case opAtomicFetchOr:
		regs[s] = uint64(atomic.OrUint32(p, v))
	case opAtomicFetchAnd:
		regs[s] = uint64(atomic.AndUint32(p, v))
	case opAtomicFetchXor:
		regs[s] = uint64(rmw32(p, func(old uint32) uint32 { return old ^ v }))
	case opAtomicXchg:
		regs[s] = uint64(atomic.SwapUint32(p, v))
	case opAtomicCmpXchg:
		want := uint32(regs[0])
		for {
			old := atomic.LoadUint32(p)
			if old != want || atomic.CompareAndSwapUint32(p, old, v) {
				regs[0] = uint64(old)
				return
			}
		}
	}
}

// rmw64 applies f atomically and returns the old value.
func rmw64(p *uint64, f func(uint64) uint64) uint64 {
	for {
		old := atomic.LoadUint64(p)
		if atomic.CompareAndSwapUint64(p, old, f(old)) {
			return old
		}
	}
}

func rmw32(p *uint32, f func(uint32) uint32) uint32 {
	for {
		old := atomic.LoadUint32(p)
		if atomic.CompareAndSwapUint32(p, old, f(old)) {
			return old
		}
	}
}

// loadAcquire and storeRelease use sync/atomic for 4 and 8 bytes. Go has
// no 1- and 2-byte atomics; on amd64 and arm64 aligned byte and halfword
// accesses are single-copy atomic, which is what the kernel's JITs emit.
func loadAcquire(p unsafe.Pointer, n uint64) uint64 {
	switch n {
	case 1:
		return uint64(*(*uint8)(p))
	case 2:
		return uint64(*(*uint16)(p))
	case 4:
		return uint64(atomic.LoadUint32((*uint32)(p)))
	}
	return atomic.LoadUint64((*uint64)(p))
}

func storeRelease(p unsafe.Pointer, n, v uint64) {
	switch n {
	case 1:
		*(*uint8)(p) = uint8(v)
	case 2:
		*(*uint16)(p) = uint16(v)
	case 4:
		atomic.StoreUint32((*uint32)(p), uint32(v))
	default:
		atomic.StoreUint64((*uint64)(p), v)
	}
}
