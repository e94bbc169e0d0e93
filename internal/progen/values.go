package progen

import "math"

// edge64 are 64-bit values at the boundaries of the arithmetic.
var edge64 = []uint64{
	0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 0x7f, 0x80, 0xff, 0x100,
	0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
	0x8000000000000000, 0x7fffffffffffffff, 0xffffffffffffffff, 0xfffffffffffffffe,
	0xffffffff80000000, 0xffffffff7fffffff, 0x00000000ffffff80, 0xffffffffffff8000,
	0x0102030405060708, 0x8070605040302010, 0xaaaaaaaaaaaaaaaa, 0x5555555555555555,
}

// edge32 are 32-bit immediates at the boundaries of the arithmetic. They
// are sign-extended when used as 64-bit operands.
var edge32 = []int32{
	0, 1, -1, 2, -2, 3, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 0x7f, -0x80, 0xff, 0x100,
	0x7fff, -0x8000, 0xffff, 0x10000, math.MaxInt32, math.MinInt32, math.MinInt32 + 1,
	0x01020304, -0x01020305,
}

// shiftEdges are register shift amounts around the widths; the kernel
// masks them at run time (x & 31 or x & 63).
var shiftEdges = []uint64{0, 1, 7, 8, 15, 16, 31, 32, 33, 47, 63, 64, 65, 95, 127, 128, 255, 256, math.MaxUint32, math.MaxUint64}

// divisorEdges are register divisors: zero, the signed-overflow -1, and
// values with interesting quotients.
var divisorEdges = []uint64{0, 0, 1, 2, 3, 7, 0xffffffff, 0xffffffffffffffff, 0x80000000, 0x8000000000000000, 0x100000000, 0xfffffffffffffffe}

// imm32 returns an immediate: an edge value, a small number or random bits.
func (g *gen) imm32() int32 {
	switch g.rng.IntN(4) {
	case 0, 1:
		return edge32[g.rng.IntN(len(edge32))]
	case 2:
		return int32(g.rng.IntN(64)) - 16
	default:
		return int32(g.rng.Uint32() >> g.rng.IntN(32))
	}
}

// imm32NonZero returns a non-zero immediate (the verifier rejects division
// by an immediate zero).
func (g *gen) imm32NonZero() int32 {
	for {
		if v := g.imm32(); v != 0 {
			return v
		}
	}
}

// imm64 returns a 64-bit value for lddw.
func (g *gen) imm64() int64 {
	switch g.rng.IntN(4) {
	case 0, 1:
		return int64(edge64[g.rng.IntN(len(edge64))])
	case 2:
		return int64(g.imm32())
	default:
		return int64(g.rng.Uint64() >> g.rng.IntN(64))
	}
}

// intMinEdges are dividends for signed division by -1: the 64- and 32-bit
// INT_MIN (the latter also sign-extended) and their neighbours.
var intMinEdges = []uint64{0x8000000000000000, 0x80000000, 0xffffffff80000000, 0x8000000000000001, 0x80000001, 0x7fffffff80000000}

// swapEdges are byte-swap operands with high bits in many bytes.
var swapEdges = []uint64{0x8182838485868788, 0xff00ff00ff00ff00, 0x00ff00ff00ff00ff, 0x80000000000080ff, 0xfedcba9876543210, 0x000000008000ff80}
