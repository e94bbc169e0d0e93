package progen

import "github.com/gobee-dev/gobee/isa"

// sizes are the load/store size fields.
var sizes = []uint8{isa.SizeB, isa.SizeH, isa.SizeW, isa.SizeDW}

// atomicOps are the read-modify-write atomics (BPF_W and BPF_DW).
var atomicOps = []int64{
	isa.AtomicAdd, isa.AtomicOr, isa.AtomicAnd, isa.AtomicXor,
	isa.AtomicAdd | isa.AtomicFetch, isa.AtomicOr | isa.AtomicFetch,
	isa.AtomicAnd | isa.AtomicFetch, isa.AtomicXor | isa.AtomicFetch,
	isa.AtomicXchg, isa.AtomicCmpXchg,
}

// memStatement emits a load, store or atomic on the stack or the memory.
func (g *gen) memStatement() {
	switch k := g.rng.IntN(12); {
	case k < 3:
		g.stackStore()
	case k < 5:
		g.stackLoad()
	case k < 7 && g.work > 0:
		g.memStore()
	case k < 10 && g.work > 0:
		g.memLoad()
	case k < 11 || !g.cfg.MemAtomics || g.work < 8:
		g.stackAtomic()
	default:
		g.memAtomic()
	}
}

// stackRange returns the init indices [lo, hi) of size bytes at fp+off.
func stackRange(off int16, size int) (lo, hi int) { return -int(off) - size, -int(off) }

// markStack records a store at fp+off; it counts only outside branches.
func (g *gen) markStack(off int16, size int) {
	if g.f.depth > 0 {
		return
	}
	lo, hi := stackRange(off, size)
	for i := lo; i < hi; i++ {
		g.f.init[i] = true
	}
}

// stackSlot returns a random aligned offset for size bytes in the frame,
// below the accumulator.
func (g *gen) stackSlot(size int) int16 {
	return int16(accOff - size*(1+g.rng.IntN((g.f.stack+accOff)/size)))
}

// initSlot returns a random aligned offset of size bytes that every path
// has written, or false if there is none.
func (g *gen) initSlot(size int) (int16, bool) {
	var cands []int16
	for k := size - accOff; k <= g.f.stack; k += size {
		lo, hi := stackRange(int16(-k), size)
		ok := true
		for i := lo; i < hi && ok; i++ {
			ok = g.f.init[i]
		}
		if ok {
			cands = append(cands, int16(-k))
		}
	}
	if len(cands) == 0 {
		return 0, false
	}
	return cands[g.rng.IntN(len(cands))], true
}

// store emits a store of a register (STX) or an immediate (ST).
func (g *gen) store(base isa.Register, off int16, size uint8) {
	if g.rng.IntN(3) == 0 {
		g.b.emit(isa.Instruction{Op: memOp(isa.ClassST, isa.ModeMEM, size), Dst: base, Off: off, Imm: int64(g.imm32())})
		return
	}
	g.b.emit(isa.Instruction{Op: memOp(isa.ClassSTX, isa.ModeMEM, size), Dst: base, Src: g.pickSrc(), Off: off})
}

// load emits a zero- or sign-extending load.
func (g *gen) load(base isa.Register, off int16, size uint8) {
	mode := isa.ModeMEM
	if size != isa.SizeDW && g.rng.IntN(3) == 0 {
		mode = isa.ModeMEMSX
	}
	g.b.emit(isa.Instruction{Op: memOp(isa.ClassLDX, mode, size), Dst: g.pickDst(), Src: base, Off: off})
}

func (g *gen) stackStore() {
	size := sizes[g.rng.IntN(len(sizes))]
	off := g.stackSlot(isa.SizeBytes(size))
	g.store(isa.R10, off, size)
	g.markStack(off, isa.SizeBytes(size))
}

// stackLoad loads from initialised stack, or stores if there is none.
func (g *gen) stackLoad() {
	size := sizes[g.rng.IntN(len(sizes))]
	off, ok := g.initSlot(isa.SizeBytes(size))
	if !ok {
		g.stackStore()
		return
	}
	g.load(isa.R10, off, size)
}

// memOffset returns an offset for size bytes in the work area, usually
// aligned; the verifier allows unaligned packet and map value access on
// machines with efficient unaligned access (and gobee must agree).
func (g *gen) memOffset(size int, aligned bool) (int16, bool) {
	if size > g.work {
		return 0, false
	}
	if aligned || g.rng.IntN(4) != 0 {
		return int16(size * g.rng.IntN(g.work/size)), true
	}
	return int16(g.rng.IntN(g.work - size + 1)), true
}

func (g *gen) memStore() {
	size := sizes[g.rng.IntN(len(sizes))]
	if off, ok := g.memOffset(isa.SizeBytes(size), false); ok {
		g.store(isa.R9, off, size)
	}
}

func (g *gen) memLoad() {
	size := sizes[g.rng.IntN(len(sizes))]
	if off, ok := g.memOffset(isa.SizeBytes(size), false); ok {
		g.load(isa.R9, off, size)
	}
}

// atomic emits a read-modify-write atomic at base+off. Fetching forms
// write their source register (cmpxchg writes r0), so it must be
// writable.
func (g *gen) atomic(base isa.Register, off int16, size uint8) {
	op := atomicOps[g.rng.IntN(len(atomicOps))]
	src := g.pickSrc()
	if op&isa.AtomicFetch != 0 {
		src = g.pickDst()
	}
	g.b.emit(isa.Instruction{Op: memOp(isa.ClassSTX, isa.ModeATOMIC, size), Dst: base, Src: src, Off: off, Imm: op})
}

// atomicSize returns BPF_W or BPF_DW.
func (g *gen) atomicSize() uint8 {
	if g.rng.IntN(2) == 0 {
		return isa.SizeW
	}
	return isa.SizeDW
}

// stackAtomic emits an atomic, a load-acquire or a store-release on
// initialised stack.
func (g *gen) stackAtomic() {
	if g.rng.IntN(5) == 0 {
		g.acquireRelease(isa.R10)
		return
	}
	size := g.atomicSize()
	off, ok := g.initSlot(isa.SizeBytes(size))
	if !ok {
		g.stackStore()
		return
	}
	g.atomic(isa.R10, off, size)
}

// memAtomic emits an atomic, a load-acquire or a store-release on the
// memory, at an aligned offset.
func (g *gen) memAtomic() {
	if g.rng.IntN(5) == 0 {
		g.acquireRelease(isa.R9)
		return
	}
	size := g.atomicSize()
	if off, ok := g.memOffset(isa.SizeBytes(size), true); ok {
		g.atomic(isa.R9, off, size)
	}
}

// acquireRelease emits load-acquire (dst = *(src+off)) or store-release
// (*(dst+off) = src) of any size, aligned.
func (g *gen) acquireRelease(base isa.Register) {
	size := sizes[g.rng.IntN(len(sizes))]
	n := isa.SizeBytes(size)
	op := memOp(isa.ClassSTX, isa.ModeATOMIC, size)
	var off int16
	var ok bool
	load := g.rng.IntN(2) == 0
	switch {
	case base == isa.R9:
		off, ok = g.memOffset(n, true)
	case load:
		off, ok = g.initSlot(n)
	default:
		off, ok = g.stackSlot(n), true
	}
	if !ok {
		return
	}
	if load {
		g.b.emit(isa.Instruction{Op: op, Dst: g.pickDst(), Src: base, Off: off, Imm: isa.AtomicLoadAcq})
		return
	}
	g.b.emit(isa.Instruction{Op: op, Dst: base, Src: g.pickSrc(), Off: off, Imm: isa.AtomicStoreRel})
	if base == isa.R10 {
		g.markStack(off, n)
	}
}

// loadInto loads into dst, with the size picked at random, from the
// memory or from initialised stack; it does nothing when neither has
// room.
func (g *gen) loadInto(dst isa.Register) {
	size := sizes[g.rng.IntN(len(sizes))]
	base, off, ok := isa.R9, int16(0), false
	if g.rng.IntN(2) == 0 {
		off, ok = g.memOffset(isa.SizeBytes(size), false)
	}
	if !ok {
		base = isa.R10
		off, ok = g.initSlot(isa.SizeBytes(size))
	}
	if ok {
		g.b.emit(isa.Instruction{Op: memOp(isa.ClassLDX, isa.ModeMEM, size), Dst: dst, Src: base, Off: off})
	}
}
