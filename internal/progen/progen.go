// Package progen generates random eBPF programs that the Linux verifier
// accepts, for differential testing of gobee's engines against the kernel.
//
// A program is a subprogram in the conformance suite's calling convention:
// it receives r1 = pointer to Config.MemSize bytes of memory and r2 = that
// length, and returns a scalar in r0. It covers the ALU, ALU32, JMP and
// JMP32 classes with immediate and register sources, edge operands,
// shifts and divisions the kernel defines at run time (shift amounts past
// the width, division by a zero register), sign extension, byte swaps,
// lddw, loads, stores and atomics on the stack and on the memory, forward
// branches, bounded loops, may_goto, gotol and bpf-to-bpf calls.
//
// To stay within the verifier's rules the generator keeps invariants
// rather than tracking the verifier's state:
//
//   - r9 holds the memory pointer and r10 the frame pointer; neither is
//     ever an ALU operand, so pointer arithmetic never happens. r0–r8 hold
//     scalars and are initialised in the prologue; after a call r1–r5
//     (which the call clobbers) are set again at once.
//   - Stack bytes count as initialised only when written outside any
//     branch or loop body, so every path to a later read has written them.
//     Stack accesses are aligned to their size (the verifier demands it).
//   - Branches go forward to the end of a block; loops count a register
//     that their body does not write from or to a small constant.
//   - Each frame keeps an accumulator at fp-8 that statements fold
//     registers into (atomically), so that values overwritten later still
//     reach the result. The entry subprogram stores r1–r8 and its
//     accumulator after the memory it works in; callees (and the entry
//     subprogram when the memory is too small for that) hash them into r0.
//   - Calls go from a subprogram to a later one, so there is no recursion,
//     and the frames of the longest call chain fit in the 512-byte stack.
//
// Generation is deterministic for a given random source and Config.
package progen

import (
	"math/rand/v2"

	"github.com/gobee-dev/gobee/isa"
)

// Config shapes the generated programs. The zero value gives defaults.
type Config struct {
	// MemSize is the length of the memory the program receives in r1 (and
	// in r2). Default 128. With 80 bytes or more, the last 72 bytes receive
	// r1–r8 and the accumulator when the program exits, so comparing the
	// memory compares every register; the program itself touches only the
	// bytes before them.
	MemSize int
	// Size is the approximate number of instructions in the body of the
	// entry subprogram; callees get half as many. Default 64.
	Size int
	// MaxSubprogs is the most subprograms generated besides the entry one.
	// Zero means the default, 3 (the most the stack allows); a negative
	// value means no calls.
	MaxSubprogs int
	// MemAtomics allows atomic operations on the memory. The kernel
	// allows them when the memory is a map value, not packet data.
	MemAtomics bool
	// NoMayGoto disables may_goto (BPF_JMP|BPF_JCOND): loops that check
	// may_goto at the top besides their counter, loops that leave only
	// through may_goto or a counter test and jump back with goto or
	// gotol, and may_goto skipping straight-line code. The counters stay
	// far below the may_goto budget, so may_goto never jumps at run time
	// (the kernel's timed may_goto and gobee's count agree on that).
	NoMayGoto bool
	// NoOperandSetup disables setting operands to edge values just before
	// the operations they are interesting for: INT_MIN dividends for
	// signed division by -1, high-bit patterns for byte swaps, loaded
	// values for sign-extending moves.
	NoOperandSetup bool
}

// Defaults and limits.
const (
	defaultMemSize = 128
	defaultSize    = 64
	maxSubprogs    = 3
	dumpBytes      = 72 // r1–r8 and the accumulator at exit
	accOff         = -8 // the accumulator's stack offset
	calleeStack    = 64 // stack bytes of each callee frame
	maxCallsPerFn  = 3
	// mayGotoStack is the stack the kernel adds to a frame that uses
	// may_goto (8 bytes, or 16 for the timed may_goto of x86); the entry
	// frame leaves it free so that its depth stays within 512 bytes.
	mayGotoStack = 16
	// maxMayGotos bounds the may_goto instructions of a frame: the
	// verifier explores both ways at each, so they multiply its work.
	maxMayGotos = 1
)

func (c Config) withDefaults() Config {
	if c.MemSize <= 0 {
		c.MemSize = defaultMemSize
	}
	if c.Size <= 0 {
		c.Size = defaultSize
	}
	switch {
	case c.MaxSubprogs == 0:
		c.MaxSubprogs = maxSubprogs
	case c.MaxSubprogs < 0:
		c.MaxSubprogs = 0
	case c.MaxSubprogs > maxSubprogs:
		c.MaxSubprogs = maxSubprogs
	}
	return c
}

// WorkSize returns how many bytes of the memory, from its start, the
// program reads and writes; the rest (if any) receives r1–r8 at exit.
func (c Config) WorkSize() int {
	c = c.withDefaults()
	if c.MemSize >= dumpBytes+8 {
		return c.MemSize - dumpBytes
	}
	return c.MemSize
}

// Generate returns a random program. The entry subprogram comes first;
// the subprograms it calls follow it.
func Generate(rng *rand.Rand, cfg Config) isa.Instructions {
	cfg = cfg.withDefaults()
	g := &gen{rng: rng, cfg: cfg, work: cfg.WorkSize(), b: &builder{}}
	n := rng.IntN(cfg.MaxSubprogs + 1) // callees
	g.entries = make([]label, n+1)
	for i := range g.entries {
		g.entries[i] = g.b.newLabel()
	}
	g.called = make([]bool, n+1)
	segs := make([]int, n+1)
	// Callees first, last to first, so that the entry subprogram knows
	// which callees nothing calls yet and can call them itself.
	for i := n; i >= 0; i-- {
		segs[i] = g.function(i, n)
	}
	insns, err := g.b.link(segs)
	if err != nil {
		panic(err) // a bug in the generator, not a property of the input
	}
	return insns
}

// gen is the state of one Generate call.
type gen struct {
	rng     *rand.Rand
	cfg     Config
	work    int // bytes of memory the program touches
	b       *builder
	entries []label // entry of each subprogram
	called  []bool  // by subprogram: something calls it
	f       *frame  // subprogram being generated
}

// frame is the state of the subprogram being generated.
type frame struct {
	index     int                 // 0 is the entry subprogram
	callees   []int               // subprograms it may call
	calls     int                 // calls emitted so far
	stack     int                 // bytes of stack it may use
	init      [isa.StackSize]bool // stack byte fp-1-i written on every path
	depth     int                 // nesting of branch and loop bodies
	inLoop    bool
	reserved  uint16 // registers that must not be written (loop counters)
	mayGotos  int    // may_goto instructions left to emit (0 when disabled)
	inMayGoto bool   // in code that may_goto guards: no calls
}

// function generates subprogram i of a program with n callees and returns
// its segment.
func (g *gen) function(i, n int) int {
	seg := g.b.newSegment()
	g.b.bind(g.entries[i])
	f := &frame{index: i, stack: calleeStack}
	if i == 0 {
		f.stack = isa.StackSize - n*calleeStack
	}
	if !g.cfg.NoMayGoto && g.rng.IntN(3) != 0 {
		f.mayGotos = maxMayGotos
		if i == 0 {
			f.stack -= mayGotoStack
		}
	}
	for j := i + 1; j <= n; j++ {
		f.callees = append(f.callees, j)
	}
	g.f = f
	g.prologue()
	size := g.cfg.Size
	if i > 0 {
		size = max(size/2, 4)
	}
	g.block(size)
	if i == 0 {
		for j := 1; j <= n; j++ {
			if !g.called[j] {
				g.call(j)
			}
		}
	}
	g.epilogue()
	return seg
}

// prologue moves the memory pointer to r9 and initialises every scalar
// register the subprogram did not receive as an argument.
func (g *gen) prologue() {
	g.b.emit(movX(isa.ClassALU64, isa.R9, isa.R1, 0))
	regs := []isa.Register{isa.R0, isa.R1, isa.R6, isa.R7, isa.R8}
	if g.f.index == 0 {
		// r2 keeps the length; r3–r5 are not arguments of the entry.
		regs = append(regs, isa.R3, isa.R4, isa.R5)
	}
	for _, r := range regs {
		g.loadImm(r)
	}
	g.b.emit(isa.Instruction{Op: memOp(isa.ClassST, isa.ModeMEM, isa.SizeDW), Dst: isa.R10, Off: accOff, Imm: int64(g.imm32())})
	g.markStack(accOff, 8)
}

// fold adds or xors a register into the accumulator.
func (g *gen) fold() {
	op := isa.AtomicAdd
	if g.rng.IntN(3) == 0 {
		op = isa.AtomicXor
	}
	g.b.emit(isa.Instruction{Op: memOp(isa.ClassSTX, isa.ModeATOMIC, isa.SizeDW), Dst: isa.R10, Src: g.pickSrc(), Off: accOff, Imm: op})
}

// epilogue leaves the result in r0 and returns. The entry subprogram
// stores r1–r8 and the accumulator in the dump area when there is one;
// otherwise, and in callees, it hashes them into r0.
func (g *gen) epilogue() {
	ldxdw := memOp(isa.ClassLDX, isa.ModeMEM, isa.SizeDW)
	if g.f.index == 0 && g.work < g.cfg.MemSize {
		stxdw := memOp(isa.ClassSTX, isa.ModeMEM, isa.SizeDW)
		for r := isa.R1; r <= isa.R8; r++ {
			off := g.work + 8*int(r-isa.R1)
			g.b.emit(isa.Instruction{Op: stxdw, Dst: isa.R9, Src: r, Off: int16(off)})
		}
		g.b.emit(isa.Instruction{Op: ldxdw, Dst: isa.R1, Src: isa.R10, Off: accOff})
		g.b.emit(isa.Instruction{Op: stxdw, Dst: isa.R9, Src: isa.R1, Off: int16(g.work + 64)})
	} else {
		for r := isa.R1; r <= isa.R8; r++ {
			g.hashInto(r)
		}
		g.b.emit(isa.Instruction{Op: ldxdw, Dst: isa.R1, Src: isa.R10, Off: accOff})
		g.hashInto(isa.R1)
	}
	g.b.emit(isa.Instruction{Op: isa.OpcodeExit})
}

// hashMultiplier is odd, so multiplying by it loses nothing.
const hashMultiplier = 0x2545f491

// hashInto mixes r into r0 with r0 = r0*K ^ r, a step that is one-to-one
// in both r0 and r, so a change in any register reaches the result.
func (g *gen) hashInto(r isa.Register) {
	g.b.emit(isa.Instruction{Op: alu(isa.ClassALU64, isa.OpMul, isa.SrcK), Dst: isa.R0, Imm: hashMultiplier})
	g.b.emit(isa.Instruction{Op: alu(isa.ClassALU64, isa.OpXor, isa.SrcX), Dst: isa.R0, Src: r})
}

// block emits statements until about n instructions were added.
func (g *gen) block(n int) {
	end := g.b.len() + n
	for g.b.len() < end {
		g.statement(end - g.b.len())
	}
}

// statement emits one statement; room is the budget left in the block.
func (g *gen) statement(room int) {
	f := g.f
	switch r := g.rng.IntN(100); {
	case r < 15:
		g.fold()
	case r < 48:
		g.aluStatement()
	case r < 50:
		g.loadImm(g.pickDst())
	case r < 70:
		g.memStatement()
	case r < 80 && f.depth < 3 && room > 3:
		g.ifBlock(room)
	case r < 85 && f.depth < 3 && room > 6:
		g.ifElse(room)
	case r < 90 && !f.inLoop && f.depth < 2 && room > 6:
		g.loop(room)
	case r < 94 && len(f.callees) > 0 && f.calls < maxCallsPerFn && !f.inMayGoto:
		g.call(f.callees[g.rng.IntN(len(f.callees))])
	case r < 96 && f.mayGotos > 0 && f.depth < 3 && room > 3:
		g.mayGotoSkip(room)
	default:
		g.aluStatement()
	}
}

// pickSrc returns a register holding a scalar.
func (g *gen) pickSrc() isa.Register { return isa.Register(g.rng.IntN(9)) }

// pickDst returns a scalar register the current code may write.
func (g *gen) pickDst() isa.Register {
	for {
		r := isa.Register(g.rng.IntN(9))
		if g.f.reserved&(1<<r) == 0 {
			return r
		}
	}
}
