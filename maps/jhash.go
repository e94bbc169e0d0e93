package maps

import (
	"encoding/binary"
	"math/bits"
)

// jhash is Bob Jenkins' lookup3 hash as the kernel's <linux/jhash.h> uses
// it. Hash maps pick buckets with it, exactly like the kernel's
// htab_map_hash, so a map created with BPF_F_ZERO_SEED walks its keys in
// the same order as the kernel's.

const jhashInitval = 0xdeadbeef

func jmix(a, b, c uint32) (uint32, uint32, uint32) {
	a -= c
	a ^= bits.RotateLeft32(c, 4)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 6)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 8)
	b += a
	a -= c
	a ^= bits.RotateLeft32(c, 16)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 19)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 4)
	b += a
	return a, b, c
}

func jfinal(a, b, c uint32) uint32 {
	c ^= b
	c -= bits.RotateLeft32(b, 14)
	a ^= c
	a -= bits.RotateLeft32(c, 11)
	b ^= a
	b -= bits.RotateLeft32(a, 25)
	c ^= b
	c -= bits.RotateLeft32(b, 16)
	a ^= c
	a -= bits.RotateLeft32(c, 4)
	b ^= a
	b -= bits.RotateLeft32(a, 14)
	c ^= b
	c -= bits.RotateLeft32(b, 24)
	return c
}

// jhashBytes is jhash(key, len, initval): any length, bytes in the tail.
func jhashBytes(k []byte, initval uint32) uint32 {
	a := jhashInitval + uint32(len(k)) + initval
	b, c := a, a
	for len(k) > 12 {
		a += binary.NativeEndian.Uint32(k)
		b += binary.NativeEndian.Uint32(k[4:])
		c += binary.NativeEndian.Uint32(k[8:])
		a, b, c = jmix(a, b, c)
		k = k[12:]
	}
	if len(k) == 0 {
		return c
	}
	var t [12]byte
	copy(t[:], k)
	// The kernel adds the tail bytes little-end first regardless of the
	// host's byte order.
	a += uint32(t[0]) | uint32(t[1])<<8 | uint32(t[2])<<16 | uint32(t[3])<<24
	b += uint32(t[4]) | uint32(t[5])<<8 | uint32(t[6])<<16 | uint32(t[7])<<24
	c += uint32(t[8]) | uint32(t[9])<<8 | uint32(t[10])<<16 | uint32(t[11])<<24
	return jfinal(a, b, c)
}

// jhashWords is jhash2(key, len/4, initval) for keys of whole 32-bit words.
func jhashWords(k []byte, initval uint32) uint32 {
	n := uint32(len(k) / 4)
	a := jhashInitval + n<<2 + initval
	b, c := a, a
	for n > 3 {
		a += binary.NativeEndian.Uint32(k)
		b += binary.NativeEndian.Uint32(k[4:])
		c += binary.NativeEndian.Uint32(k[8:])
		a, b, c = jmix(a, b, c)
		k = k[12:]
		n -= 3
	}
	switch n {
	case 3:
		c += binary.NativeEndian.Uint32(k[8:])
		fallthrough
	case 2:
		b += binary.NativeEndian.Uint32(k[4:])
		fallthrough
	case 1:
		a += binary.NativeEndian.Uint32(k)
		return jfinal(a, b, c)
	}
	return c
}

// htabHash is the kernel's htab_map_hash.
func htabHash(key []byte, seed uint32) uint32 {
	if len(key)&3 == 0 {
		return jhashWords(key, seed)
	}
	return jhashBytes(key, seed)
}
