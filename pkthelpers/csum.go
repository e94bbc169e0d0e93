package pkthelpers

import "encoding/binary"

// Internet checksum arithmetic as the kernel does it on x86-64, on values
// that are loaded little-endian from memory (so a __be16 the program
// passes in a register is the same number gobee sees in the packet).

// csumAdd is csum_add: 32-bit one's complement addition.
func csumAdd(a, b uint32) uint32 {
	s := a + b
	if s < b {
		s++
	}
	return s
}

// csumSub is csum_sub.
func csumSub(a, b uint32) uint32 { return csumAdd(a, ^b) }

// csumFold is csum_fold: the 16-bit complement of the folded sum.
func csumFold(s uint32) uint16 {
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return ^uint16(s)
}

// csumPartial is x86-64's csum_partial: the one's complement sum of b as
// little-endian 32-bit words (the tail zero-padded) and sum. x86 adds
// 64-bit words with end-around carry and folds to 32 bits; the result is
// 0 only when every addend is, and otherwise the unique non-zero
// representative of the sum modulo 2^32-1, which is what this computes.
func csumPartial(b []byte, sum uint32) uint32 {
	acc := uint64(sum)
	for len(b) >= 4 {
		acc += uint64(binary.LittleEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) > 0 {
		var t [4]byte
		copy(t[:], b)
		acc += uint64(binary.LittleEndian.Uint32(t[:]))
	}
	for acc>>32 != 0 {
		acc = acc&0xffffffff + acc>>32
	}
	return uint32(acc)
}

// csumFrom32to16 folds a 32-bit sum to 16 bits without complementing it.
func csumFrom32to16(s uint32) uint16 {
	s += s>>16 | s<<16
	return uint16(s >> 16)
}

func csum16Add(a, b uint16) uint16 {
	s := a + b
	if s < b {
		s++
	}
	return s
}

// csumReplace2 is csum_replace2 on the checksum at sum.
func csumReplace2(sum []byte, from, to uint16) {
	s := binary.LittleEndian.Uint16(sum)
	s = ^csum16Add(csum16Add(^s, ^from), to)
	binary.LittleEndian.PutUint16(sum, s)
}

// csumReplace4 is csum_replace4.
func csumReplace4(sum []byte, from, to uint32) {
	t := csumSub(^uint32(binary.LittleEndian.Uint16(sum)), from)
	binary.LittleEndian.PutUint16(sum, csumFold(csumAdd(t, to)))
}

// csumReplaceByDiff is csum_replace_by_diff.
func csumReplaceByDiff(sum []byte, diff uint32) {
	s := csumAdd(diff, ^uint32(binary.LittleEndian.Uint16(sum)))
	binary.LittleEndian.PutUint16(sum, csumFold(s))
}
