package maps

import (
	"bytes"
	"encoding/binary"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// fileHash is HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH in a pinned
// map file, laid out like the kernel's preallocated htab:
//
//	lists    nlists × {head, tail, n, pad uint32}    LRU lists (LRU maps only)
//	buckets  nbuckets × uint32                       first element, 0: empty
//	elements max_entries × elemSize                  the preallocated pool
//
// An element is {next, hash, lprev, lnext, ref, list uint32}, the key
// (rounded up to 8 bytes), then the value (stride, or stride × NumCPU).
// Elements are named by index+1, so 0 is "none". Free elements form a list
// from the header's free word and, as in the kernel's preallocated maps,
// a deleted element is reused by the next insert; elements never used yet
// are taken in order from the header's fresh word, so creating a large map
// touches no storage.
//
// The bucket order, replacement order and iteration order are those of
// hashCore (and so the kernel's); LRU eviction uses the same clock
// algorithm as lru.go, with the lists in the file.
//
// Every index read from the file is range-checked and every walk is
// bounded, so a corrupt file gives EIO, never a panic or a hang.
type fileHash struct {
	o          *object
	s          *fileStore
	percpu     bool
	lru        bool
	perCPULRU  bool
	max        uint32
	seed       uint32
	mask       uint32
	valueBytes int
	elemSize   int
	keyOff     int
	valOff     int
	nlists     uint32
	listCap    uint32
	bucketsOff int
	elemsOff   int
}

const elemHdr = 24

// Element field offsets.
const (
	eNext  = 0
	eHash  = 4
	ePrev  = 8
	eLNext = 12
	eRef   = 16
	eList  = 20
)

// corruption is the panic value of a failed consistency check; the
// operations recover it and return errCorrupt.
type corruption struct{}

func newFileHash(o *object, s *fileStore, seed uint32) *fileHash {
	t := o.spec.Type
	nb, es, nl, _ := layout(&o.spec)
	h := &fileHash{
		o: o, s: s,
		percpu:    t.PerCPU(),
		lru:       t == LRUHash || t == LRUPerCPUHash,
		perCPULRU: o.spec.Flags&FlagNoCommonLRU != 0,
		max:       o.spec.MaxEntries,
		seed:      seed,
		mask:      nb - 1,
		elemSize:  int(es),
		keyOff:    elemHdr,
		valOff:    elemHdr + roundUp8(o.keySize),
		nlists:    nl,
	}
	h.valueBytes = o.stride
	if h.percpu {
		h.valueBytes *= o.ncpu
	}
	if nl > 0 {
		h.listCap = h.max / nl
	}
	h.bucketsOff = int(nl) * 16
	h.elemsOff = h.bucketsOff + roundUp8(int(nb)*4)
	return h
}

func (h *fileHash) store() *fileStore { return h.s }

func (h *fileHash) u32(off int) uint32 { return binary.NativeEndian.Uint32(h.s.data[off:]) }
func (h *fileHash) put(off int, v uint32) {
	binary.NativeEndian.PutUint32(h.s.data[off:], v)
}

// el is the offset of element i (1-based); a bad index is corruption.
func (h *fileHash) el(i uint32) int {
	if i == 0 || i > h.max {
		panic(corruption{})
	}
	return h.elemsOff + int(i-1)*h.elemSize
}

func (h *fileHash) key(i uint32) []byte {
	off := h.el(i) + h.keyOff
	return h.s.data[off : off+h.o.keySize : off+h.o.keySize]
}

func (h *fileHash) value(i uint32) []byte {
	off := h.el(i) + h.valOff
	return h.s.data[off : off+h.valueBytes : off+h.valueBytes]
}

func (h *fileHash) next(i uint32) uint32 { return h.u32(h.el(i) + eNext) }

func (h *fileHash) bucket(b uint32) int { return h.bucketsOff + 4*int(b) }

// recover turns a corruption panic into errCorrupt. It must be deferred
// before the lock is taken, so that it runs after the unlock.
func recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		if _, ok := r.(corruption); !ok {
			panic(r)
		}
		*err = errCorrupt
	}
}

func (h *fileHash) find(key []byte, hash uint32) uint32 {
	n := uint32(0)
	for i := h.u32(h.bucket(hash & h.mask)); i != 0; i = h.next(i) {
		if n++; n > h.max {
			panic(corruption{})
		}
		if h.u32(h.el(i)+eHash) == hash && bytes.Equal(h.key(i), key) {
			return i
		}
	}
	return 0
}

func (h *fileHash) link(i uint32) {
	b := h.bucket(h.u32(h.el(i)+eHash) & h.mask)
	h.put(h.el(i)+eNext, h.u32(b))
	h.put(b, i)
}

func (h *fileHash) unlink(i uint32) {
	p := h.bucket(h.u32(h.el(i)+eHash) & h.mask)
	for n := uint32(0); ; n++ {
		c := h.u32(p)
		if c == 0 || n > h.max {
			panic(corruption{})
		}
		if c == i {
			h.put(p, h.next(i))
			h.put(h.el(i)+eNext, 0)
			return
		}
		p = h.el(c) + eNext
	}
}

// alloc takes a free element: the last one freed, else a fresh one.
func (h *fileHash) alloc() uint32 {
	if f := h.s.get(hFree); f != 0 {
		h.s.set(hFree, h.next(f))
		return f
	}
	if fr := h.s.get(hFresh); fr < h.max {
		h.s.set(hFresh, fr+1)
		return fr + 1
	}
	return 0
}

func (h *fileHash) free(i uint32) {
	h.put(h.el(i)+eNext, h.s.get(hFree))
	h.s.set(hFree, i)
}

func (h *fileHash) remove(i uint32) {
	h.unlink(i)
	if h.lru {
		h.lruRemove(i)
	}
	h.s.set(hCount, h.s.get(hCount)-1)
	h.free(i)
}

// LRU lists.

func (h *fileHash) list(l uint32) int {
	if l >= h.nlists {
		panic(corruption{})
	}
	return int(l) * 16
}

func (h *fileHash) lruPush(i, l uint32) {
	lo, e := h.list(l), h.el(i)
	head := h.u32(lo)
	h.put(e+eList, l)
	h.put(e+ePrev, 0)
	h.put(e+eLNext, head)
	if head != 0 {
		h.put(h.el(head)+ePrev, i)
	} else {
		h.put(lo+4, i)
	}
	h.put(lo, i)
	h.put(lo+8, h.u32(lo+8)+1)
}

func (h *fileHash) lruRemove(i uint32) {
	e := h.el(i)
	lo := h.list(h.u32(e + eList))
	p, nx := h.u32(e+ePrev), h.u32(e+eLNext)
	if p != 0 {
		h.put(h.el(p)+eLNext, nx)
	} else {
		h.put(lo, nx)
	}
	if nx != 0 {
		h.put(h.el(nx)+ePrev, p)
	} else {
		h.put(lo+4, p)
	}
	h.put(lo+8, h.u32(lo+8)-1)
}

func (h *fileHash) lruFull(l uint32) bool {
	n := h.u32(h.list(l) + 8)
	return n > 0 && n >= h.listCap
}

// victim is lruLists.victim over the file's list l.
func (h *fileHash) victim(l uint32) uint32 {
	lo := h.list(l)
	n := h.u32(lo + 8)
	if n > h.max {
		panic(corruption{})
	}
	for range n {
		t := h.u32(lo + 4)
		if h.u32(h.el(t)+eRef) == 0 {
			return t
		}
		h.put(h.el(t)+eRef, 0)
		h.lruRemove(t)
		h.lruPush(t, l)
	}
	return h.u32(lo + 4)
}

func (h *fileHash) setValue(dst, value []byte, cpu int, user bool) {
	if h.percpu && !user {
		copy(dst[cpu*h.o.stride:], value[:h.o.valueSize])
		return
	}
	copy(dst, value)
}

func (h *fileHash) update(key, value []byte, flags uint64, cpu int, user bool) (err error) {
	if flags > UpdateExist {
		return errUpdateFlags
	}
	hash := htabHash(key, h.seed)
	defer recoverCorrupt(&err)
	if err := h.s.lock(); err != nil {
		return err
	}
	defer h.s.unlock()
	if user && h.s.frozen() {
		return errFrozenWrite
	}
	var li uint32
	if h.lru {
		if h.perCPULRU {
			li = uint32(cpu)
		}
		if !(h.percpu && flags == UpdateExist) && h.lruFull(li) {
			h.remove(h.victim(li))
		}
	}
	old := h.find(key, hash)
	if old != 0 && flags == UpdateNoExist {
		return errExists
	}
	if old == 0 && flags == UpdateExist {
		return errNoKey
	}
	if old != 0 {
		if h.percpu {
			h.setValue(h.value(old), value, cpu, user)
			if h.lru {
				h.put(h.el(old)+eRef, 1)
			}
			return nil
		}
		if !h.lru {
			copy(h.value(old), value)
			h.unlink(old)
			h.link(old)
			return nil
		}
	} else if !h.lru && h.s.get(hCount) >= h.max {
		return errFull
	}
	i := h.alloc()
	if i == 0 {
		if h.s.get(hCount) < h.max {
			panic(corruption{}) // the free list lost elements
		}
		return errFull
	}
	e := h.el(i)
	clear(h.s.data[e : e+h.elemSize])
	h.put(e+eHash, hash)
	copy(h.key(i), key)
	h.setValue(h.value(i), value, cpu, user)
	h.link(i)
	h.s.set(hCount, h.s.get(hCount)+1)
	if h.lru {
		h.lruPush(i, li)
		if old != 0 {
			h.put(e+eRef, 1)
			h.remove(old)
		}
	}
	return nil
}

func (h *fileHash) lookup(key, dst []byte) (err error) {
	hash := htabHash(key, h.seed)
	defer recoverCorrupt(&err)
	if err := h.s.lock(); err != nil {
		return err
	}
	defer h.s.unlock()
	i := h.find(key, hash)
	if i == 0 {
		return errNoKey
	}
	copy(dst, h.value(i))
	return nil
}

func (h *fileHash) delete(key []byte) (err error) {
	hash := htabHash(key, h.seed)
	defer recoverCorrupt(&err)
	if err := h.s.lock(); err != nil {
		return err
	}
	defer h.s.unlock()
	i := h.find(key, hash)
	if i == 0 {
		return errNoKey
	}
	h.remove(i)
	return nil
}

func (h *fileHash) lookupAndDelete(key, dst []byte) (err error) {
	hash := htabHash(key, h.seed)
	defer recoverCorrupt(&err)
	if err := h.s.lock(); err != nil {
		return err
	}
	defer h.s.unlock()
	i := h.find(key, hash)
	if i == 0 {
		return errNoKey
	}
	copy(dst, h.value(i))
	h.remove(i)
	return nil
}

// firstFrom returns the first element in buckets [b, nbuckets) and its
// bucket.
func (h *fileHash) firstFrom(b uint32) (uint32, uint32) {
	for ; b <= h.mask; b++ {
		if i := h.u32(h.bucket(b)); i != 0 {
			return i, b
		}
	}
	return 0, h.mask + 1
}

func (h *fileHash) nextKey(key []byte) (k []byte, err error) {
	defer recoverCorrupt(&err)
	if err := h.s.lock(); err != nil {
		return nil, err
	}
	defer h.s.unlock()
	var b uint32
	if key != nil {
		hash := htabHash(key, h.seed)
		if i := h.find(key, hash); i != 0 {
			if nx := h.next(i); nx != 0 {
				return bytes.Clone(h.key(nx)), nil
			}
			b = hash&h.mask + 1
		}
	}
	if i, _ := h.firstFrom(b); i != 0 {
		return bytes.Clone(h.key(i)), nil
	}
	return nil, errLastKey
}

// lookupBatch is hashCore.lookupBatch over the file.
func (h *fileHash) lookupBatch(o *object, cursor, keys, values []byte, del bool) (total int, out []byte, err error) {
	var b uint32
	if cursor != nil {
		if len(cursor) != 4 {
			return 0, nil, errorf(unix.EINVAL, "hash batch cursor is %d bytes, want 4", len(cursor))
		}
		b = binary.NativeEndian.Uint32(cursor)
	}
	if b > h.mask {
		return 0, nil, errorf(unix.ENOENT, "batch cursor %d past the last bucket", b)
	}
	defer recoverCorrupt(&err)
	if err := h.s.lock(); err != nil {
		return 0, nil, err
	}
	defer h.s.unlock()
	if del && h.s.frozen() {
		return 0, nil, errFrozenWrite
	}
	max := len(keys) / o.keySize
	for {
		_, b = h.firstFrom(b)
		if b > h.mask {
			err = errLastKey
			break
		}
		n := 0
		for i := h.u32(h.bucket(b)); i != 0; i = h.next(i) {
			if n++; n > int(h.max) {
				panic(corruption{})
			}
		}
		if n > max-total {
			if total == 0 {
				err = errorf(unix.ENOSPC, "bucket %d holds %d elements, more than the %d the buffers take", b, n, max)
			}
			break
		}
		for i := h.u32(h.bucket(b)); i != 0; {
			nx := h.next(i)
			copy(keys[total*o.keySize:], h.key(i))
			copy(values[total*o.userValueSize:][:o.userValueSize], h.value(i))
			total++
			if del {
				h.remove(i)
			}
			i = nx
		}
		b++
		if b > h.mask {
			err = errLastKey
			break
		}
	}
	out = make([]byte, 4)
	binary.NativeEndian.PutUint32(out, b)
	return total, out, err
}

// lookupElem is the program's lookup: a slice into the shared mapping.
// As in the kernel's preallocated maps, the element may be reused by a
// later insert while the program still holds the pointer.
func (h *fileHash) lookupElem(key []byte, cpu int) (v []byte) {
	hash := htabHash(key, h.seed)
	var err error
	defer func() {
		if err != nil {
			v = nil
		}
	}()
	defer recoverCorrupt(&err)
	if h.s.lock() != nil {
		return nil
	}
	defer h.s.unlock()
	i := h.find(key, hash)
	if i == 0 {
		return nil
	}
	if h.lru {
		h.put(h.el(i)+eRef, 1)
	}
	val := h.value(i)
	if h.percpu {
		off := cpu * h.o.stride
		return val[off : off+h.o.valueSize : off+h.o.valueSize]
	}
	return val[:h.o.valueSize:h.o.valueSize]
}
