package maps

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"
	"sync/atomic"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// bloomCore is BPF_MAP_TYPE_BLOOM_FILTER as the kernel's bloom_filter.c:
// a bit array of a power-of-two size and nr_hash_funcs hashes of the value
// (jhash, seeded with the map's seed plus the hash's index). It has no keys:
// Update adds a value, Lookup (Peek) tells whether a value may be in the
// set (0) or surely is not (ENOENT). With BPF_F_ZERO_SEED the seed is 0
// and the answers, false positives included, are exactly the kernel's.
type bloomCore struct {
	o      *object
	mask   uint32 // number of bits - 1
	nhash  uint32
	seed   uint32
	bitset []uint64 // updated with atomics, as the kernel's set_bit
}

// bloomCreateFlagMask is BLOOM_CREATE_FLAG_MASK.
const bloomCreateFlagMask = FlagNumaNode | FlagZeroSeed | flagAccessMask

// bloomAllocCheck is bloom_map_alloc_check followed by the attribute
// checks of bloom_map_alloc.
func bloomAllocCheck(s *Spec) error {
	switch {
	case s.ValueSize > kmallocMaxSize:
		return errorf(unix.E2BIG, "value_size %d too large (limit %d)", s.ValueSize, kmallocMaxSize)
	case s.KeySize != 0:
		return errorf(unix.EINVAL, "key_size %d: bloom filters have no keys (key_size 0)", s.KeySize)
	case s.ValueSize == 0:
		return errorf(unix.EINVAL, "value_size is 0")
	case s.MaxEntries == 0:
		return errorf(unix.EINVAL, "max_entries is 0")
	case s.Flags&^bloomCreateFlagMask != 0:
		return errorf(unix.EINVAL, "flags %#x not valid for %v", s.Flags&^bloomCreateFlagMask, s.Type)
	case !accessFlagsOK(s.Flags):
		return errorf(unix.EINVAL, "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together")
	case s.MapExtra&^0xf != 0:
		return errorf(unix.EINVAL, "map_extra %#x: only the low 4 bits (the number of hash functions) may be set", s.MapExtra)
	}
	return nil
}

func newBloomCore(o *object) (core, error) {
	b := &bloomCore{o: o, nhash: uint32(o.spec.MapExtra)}
	if b.nhash == 0 {
		b.nhash = 5 // the kernel's default
	}
	// The kernel's size: max_entries * nr_hash_funcs / ln 2 bits,
	// approximated as n*k/5*7, rounded up to a power of two and at least
	// one long; 2^32 bits if that does not fit.
	n := uint64(o.spec.MaxEntries) * uint64(b.nhash)
	var nbits uint64
	if n > 1<<32-1 || n/5*7 > 1<<32-1 || n/5*7 > 1<<31 {
		nbits = 1 << 32
	} else {
		nbits = n / 5 * 7
		if nbits <= 64 {
			nbits = 64
		} else {
			nbits = 1 << bits.Len64(nbits-1)
		}
	}
	b.mask = uint32(nbits - 1)
	if o.spec.Flags&FlagZeroSeed == 0 {
		b.seed = randomSeed()
	}
	b.bitset = make([]uint64, (nbits+63)/64)
	return b, nil
}

// hash is the kernel's hash() of bloom_filter.c: jhash2 for values of
// whole words, jhash otherwise, with initval seed+index.
func (b *bloomCore) hash(value []byte, i uint32) uint32 {
	return htabHash(value, b.seed+i) & b.mask
}

func (b *bloomCore) push(value []byte, flags uint64) error {
	if flags != UpdateAny {
		return errBloomFlags
	}
	for i := range b.nhash {
		h := b.hash(value, i)
		atomic.OrUint64(&b.bitset[h/64], 1<<(h%64))
	}
	return nil
}

func (b *bloomCore) peek(value []byte) error {
	for i := range b.nhash {
		h := b.hash(value, i)
		if atomic.LoadUint64(&b.bitset[h/64])&(1<<(h%64)) == 0 {
			return errBloomMiss
		}
	}
	return nil
}

// lookup reads the value to test from dst, as the kernel's map_lookup_elem
// copies the user's value buffer in for bloom filters.
func (b *bloomCore) lookup(key, dst []byte) error { return b.peek(dst) }

func (b *bloomCore) update(key, value []byte, flags uint64, cpu int, user bool) error {
	return b.push(value, flags)
}

func (b *bloomCore) delete(key []byte) error { return errBloomOp }

func (b *bloomCore) nextKey(key []byte) ([]byte, error) { return nil, errBloomOp }

// lookupAndDelete: bpf() has no pop for bloom filters.
func (b *bloomCore) lookupAndDelete(key, dst []byte) error { return errNotSupp }

func (b *bloomCore) lookupBatch(o *object, cursor, keys, values []byte, del bool) (int, []byte, error) {
	return 0, nil, errNotSupp
}

func (b *bloomCore) lookupElem(key []byte, cpu int) []byte { return nil }

var (
	errBloomFlags = &Error{unix.EINVAL, "bloom filter updates take BPF_ANY only"}
	errBloomMiss  = &Error{unix.ENOENT, "value is not in the bloom filter"}
	errBloomOp    = &Error{unix.EOPNOTSUPP, "bloom filters have no keys to delete or iterate"}
)

// randomSeed is get_random_u32.
func randomSeed() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.NativeEndian.Uint32(b[:])
}
