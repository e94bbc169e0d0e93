package maps

import (
	"math/bits"
	"unsafe"
)

// fileBloom is BLOOM_FILTER in a pinned map file: the bit array is the
// file's storage and the seed is the header's, so every process hashes
// alike. The operations are bloomCore's own, over the mapped bits (its
// atomic bit updates are coherent between processes); they run under the
// file lock so that a closed store is EBADF and a freeze by another
// process is seen.
type fileBloom struct {
	b   bloomCore
	s   *fileStore
	bad bool // the storage does not match the geometry: every op is EIO
}

// bloomGeometry is the number of hash functions and of bits of a bloom
// filter with this (validated) spec, as newBloomCore computes them (a
// test checks that the two agree).
func bloomGeometry(s *Spec) (nhash uint32, nbits uint64) {
	nhash = uint32(s.MapExtra)
	if nhash == 0 {
		nhash = 5
	}
	n := uint64(s.MaxEntries) * uint64(nhash)
	if n > 1<<32-1 || n/5*7 > 1<<32-1 || n/5*7 > 1<<31 {
		return nhash, 1 << 32
	}
	nbits = n / 5 * 7
	if nbits <= 64 {
		return nhash, 64
	}
	return nhash, 1 << bits.Len64(nbits-1)
}

func newFileBloom(o *object, s *fileStore, seed uint32) *fileBloom {
	nhash, nbits := bloomGeometry(&o.spec)
	f := &fileBloom{s: s}
	f.b = bloomCore{o: o, nhash: nhash, mask: uint32(nbits - 1), seed: seed}
	// The hashing is bloomCore's; its geometry must be the one the
	// in-memory map New made has.
	if mc, ok := o.core.(*bloomCore); ok && (mc.nhash != nhash || mc.mask != f.b.mask) {
		f.bad = true
	}
	if uint64(len(s.data)) != nbits/8 {
		f.bad = true
	}
	if !f.bad {
		f.b.bitset = unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(s.data))), len(s.data)/8)
	}
	return f
}

func (f *fileBloom) store() *fileStore { return f.s }

func (f *fileBloom) push(value []byte, flags uint64, user bool) error {
	if flags != UpdateAny {
		return errBloomFlags
	}
	return locked(f.s, func() error {
		if f.bad {
			return errCorrupt
		}
		if user && f.s.frozen() {
			return errFrozenWrite
		}
		return f.b.push(value, flags)
	})
}

func (f *fileBloom) lookup(key, dst []byte) error {
	return locked(f.s, func() error {
		if f.bad {
			return errCorrupt
		}
		return f.b.peek(dst)
	})
}

func (f *fileBloom) update(key, value []byte, flags uint64, cpu int, user bool) error {
	return f.push(value, flags, user)
}

func (f *fileBloom) delete(key []byte) error { return errBloomOp }

func (f *fileBloom) nextKey(key []byte) ([]byte, error) { return nil, errBloomOp }

func (f *fileBloom) lookupAndDelete(key, dst []byte) error { return errNotSupp }

func (f *fileBloom) lookupBatch(o *object, cursor, keys, values []byte, del bool) (int, []byte, error) {
	return 0, nil, errNotSupp
}

func (f *fileBloom) lookupElem(key []byte, cpu int) []byte { return nil }
