package maps

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"math/bits"
	"sync"
	"sync/atomic"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// hashCore is BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH.
//
// It is laid out like the kernel's htab: roundup_pow_of_two(max_entries)
// buckets picked by jhash of the key (seed 0 with BPF_F_ZERO_SEED, random
// otherwise), each a list with the newest element first. Replacing a value
// puts the element at the head of its bucket, as the kernel's
// add-new-then-unlink-old does; per-CPU values are updated in place. So
// get_next_key and batch lookups walk the keys in the kernel's order, and
// with BPF_F_ZERO_SEED in exactly the kernel's order.
//
// Elements are allocated on insert (and on replace) and never reused: a
// program that still holds a pointer to a deleted or replaced element's
// value keeps valid (if stale) memory. Buckets are allocated lazily in
// chunks, so a large, sparse map costs little.
//
// Lookups of maps that are not per-CPU take no lock, as the kernel's RCU
// lookups: bucket heads and next pointers are atomic, writers (under mu)
// publish a fully built element with one atomic store, and unlinking never
// clears the unlinked element's next pointer, so a reader standing on it
// still reaches the rest of its bucket. Per-CPU values are updated in
// place, so their lookups still take the read lock to read a value whole.
type hashCore struct {
	o      *object
	percpu bool
	lru    *lruLists // nil unless LRU
	max    int
	seed   uint32
	mask   uint32 // nbuckets-1
	// valueBytes is an element's value storage: stride, or stride*ncpu.
	valueBytes int

	mu       sync.RWMutex
	count    int
	chunks   []atomic.Pointer[bucketChunk] // chunkSize buckets each, nil until used
	chunkLen []int32                       // elements per chunk, to skip empty ones
}

// bucketChunk is chunkSize bucket heads.
type bucketChunk []atomic.Pointer[helem]

// helem is one element.
type helem struct {
	next  atomic.Pointer[helem] // in the bucket
	hash  uint32
	key   []byte
	value []byte // valueBytes, 8-byte aligned
	// LRU state: the list the element is on, its links, and the referenced
	// bit that program lookups set.
	list         int32
	lprev, lnext *helem
	ref          atomic.Bool
}

const (
	chunkShift = 10
	chunkSize  = 1 << chunkShift
)

func newHashCore(o *object) (core, error) {
	t := o.spec.Type
	h := &hashCore{
		o:      o,
		percpu: t == PerCPUHash || t == LRUPerCPUHash,
		max:    int(o.spec.MaxEntries),
	}
	nb := uint32(1)
	if h.max > 1 {
		nb = 1 << bits.Len32(uint32(h.max-1))
	}
	h.mask = nb - 1
	h.chunks = make([]atomic.Pointer[bucketChunk], (nb+chunkSize-1)/chunkSize)
	h.chunkLen = make([]int32, len(h.chunks))
	if o.spec.Flags&FlagZeroSeed == 0 {
		var b [4]byte
		rand.Read(b[:])
		h.seed = binary.NativeEndian.Uint32(b[:])
	}
	h.valueBytes = o.stride
	if h.percpu {
		h.valueBytes *= o.ncpu
	}
	if t == LRUHash || t == LRUPerCPUHash {
		h.lru = newLRU(h.max, o.ncpu, o.spec.Flags&FlagNoCommonLRU != 0)
	}
	return h, nil
}

func (h *hashCore) nbuckets() uint32 { return h.mask + 1 }

func (h *hashCore) head(b uint32) *helem {
	c := h.chunks[b>>chunkShift].Load()
	if c == nil {
		return nil
	}
	return (*c)[b&(chunkSize-1)].Load()
}

func (h *hashCore) find(key []byte, hash uint32) *helem {
	for e := h.head(hash & h.mask); e != nil; e = e.next.Load() {
		if e.hash == hash && bytes.Equal(e.key, key) {
			return e
		}
	}
	return nil
}

// link puts e at the head of its bucket.
func (h *hashCore) link(e *helem) {
	b := e.hash & h.mask
	ci := b >> chunkShift
	c := h.chunks[ci].Load()
	if c == nil {
		fresh := make(bucketChunk, min(chunkSize, h.nbuckets()))
		c = &fresh
		h.chunks[ci].Store(c)
	}
	p := &(*c)[b&(chunkSize-1)]
	e.next.Store(p.Load())
	p.Store(e)
	h.chunkLen[ci]++
}

// unlink takes e out of its bucket.
func (h *hashCore) unlink(e *helem) {
	b := e.hash & h.mask
	ci := b >> chunkShift
	for p := &(*h.chunks[ci].Load())[b&(chunkSize-1)]; p.Load() != nil; p = &p.Load().next {
		if p.Load() == e {
			// e.next stays: a lock-free reader on e goes on from there.
			p.Store(e.next.Load())
			h.chunkLen[ci]--
			return
		}
	}
}

// remove deletes e from the map. Its memory is left to the garbage
// collector, never reused.
func (h *hashCore) remove(e *helem) {
	h.unlink(e)
	// check_and_free_fields: the element's timer is cancelled.
	h.o.special.freeFields(e.value)
	if h.lru != nil {
		h.lru.remove(e)
	}
	h.count--
}

func (h *hashCore) newElem(key []byte, hash uint32) *helem {
	// One allocation, value first so it is 8-byte aligned; the total is a
	// multiple of 8 so that Go's tiny allocator aligns it to 8 too.
	buf := make([]byte, roundUp8(h.valueBytes+len(key)))
	e := &helem{hash: hash, value: buf[:h.valueBytes:h.valueBytes]}
	e.key = buf[h.valueBytes : h.valueBytes+len(key) : h.valueBytes+len(key)]
	copy(e.key, key)
	return e
}

// setValue stores value into an element's storage: the whole user-format
// value from user space, one CPU's value from a program.
func (h *hashCore) setValue(dst, value []byte, cpu int, user bool) {
	if h.percpu && !user {
		copy(dst[cpu*h.o.stride:], value[:h.o.valueSize])
		return
	}
	if h.o.special.skip != nil {
		// copy_map_value: a new element's special fields stay zero.
		h.o.special.copy(dst, value)
		return
	}
	copy(dst, value)
}

// lruList is the LRU list an update on cpu takes its element from.
func (h *hashCore) lruList(cpu int) int {
	if h.lru.perCPU {
		return cpu
	}
	return 0
}

// update is htab_map_update_elem and its per-CPU and LRU variants.
// With BPF_F_LOCK an existing element's value is updated in place,
// holding its spin lock (its timer stays); otherwise a new element
// replaces it and the old one's timer is cancelled.
func (h *hashCore) update(key, value []byte, flags uint64, cpu int, user bool) error {
	if flags&^uint64(UpdateLock) > UpdateExist {
		return errUpdateFlags
	}
	if err := h.o.lockFlagOK(flags); err != nil {
		return err
	}
	lock := flags&UpdateLock != 0
	flags &^= UpdateLock
	hash := htabHash(key, h.seed)
	h.mu.Lock()
	defer h.mu.Unlock()
	li := 0
	if h.lru != nil {
		li = h.lruList(cpu)
		// The kernel takes a free LRU node before it looks at the key
		// (prealloc_lru_pop), evicting if there is none: even an update
		// that then fails, or that replaces an existing key, can evict.
		// LRU per-CPU maps skip this for BPF_EXIST.
		if !(h.percpu && flags == UpdateExist) && h.lru.full(li) {
			h.remove(h.lru.victim(li))
		}
	}
	old := h.find(key, hash)
	if old != nil && flags == UpdateNoExist {
		return errExists
	}
	if old == nil && flags == UpdateExist {
		return errNoKey
	}
	if old != nil && lock {
		h.o.special.copyLocked(old.value, value[:h.o.valueSize], old.value)
		return nil
	}
	if old != nil {
		if h.percpu {
			// Per-CPU values are updated in place.
			h.setValue(old.value, value, cpu, user)
			if h.lru != nil {
				old.ref.Store(true)
			}
			return nil
		}
	} else if h.lru == nil && h.count >= h.max {
		return errFull
	}
	// A new element, also on replace, as the kernel's: linked at the head
	// before the old one is unlinked, so a concurrent lookup sees one or
	// the other, and a program holding the old value keeps it.
	e := h.newElem(key, hash)
	h.setValue(e.value, value, cpu, user)
	h.link(e)
	h.count++
	if h.lru != nil {
		h.lru.push(e, li)
		if old != nil {
			e.ref.Store(true)
		}
	}
	if old != nil {
		h.remove(old)
	}
	return nil
}

func (h *hashCore) lookup(key, dst []byte) error {
	hash := htabHash(key, h.seed)
	if h.percpu {
		h.mu.RLock()
		defer h.mu.RUnlock()
	}
	e := h.find(key, hash)
	if e == nil {
		return errNoKey
	}
	h.copyOut(dst, e.value)
	return nil
}

// copyOut copies a value to user space: around the special fields, which
// read as zero (copy_map_value, check_and_init_map_value).
func (h *hashCore) copyOut(dst, value []byte) {
	if h.o.special.skip != nil {
		clear(dst)
		h.o.special.copy(dst, value)
		return
	}
	copy(dst, value)
}

func (h *hashCore) delete(key []byte) error {
	hash := htabHash(key, h.seed)
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.find(key, hash)
	if e == nil {
		return errNoKey
	}
	h.remove(e)
	return nil
}

func (h *hashCore) lookupAndDelete(key, dst []byte) error {
	hash := htabHash(key, h.seed)
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.find(key, hash)
	if e == nil {
		return errNoKey
	}
	h.copyOut(dst, e.value)
	h.remove(e)
	return nil
}

// firstFrom returns the first element in buckets [b, nbuckets) and its
// bucket.
func (h *hashCore) firstFrom(b uint32) (*helem, uint32) {
	for b < h.nbuckets() {
		ci := b >> chunkShift
		if h.chunkLen[ci] == 0 {
			b = (ci + 1) << chunkShift
			continue
		}
		if e := (*h.chunks[ci].Load())[b&(chunkSize-1)].Load(); e != nil {
			return e, b
		}
		b++
	}
	return nil, h.nbuckets()
}

// nextKey is htab_map_get_next_key: the next element in the key's bucket,
// else the first of the following buckets; a missing key starts over.
func (h *hashCore) nextKey(key []byte) ([]byte, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var b uint32
	if key != nil {
		hash := htabHash(key, h.seed)
		if e := h.find(key, hash); e != nil {
			if next := e.next.Load(); next != nil {
				return bytes.Clone(next.key), nil
			}
			b = hash&h.mask + 1
		}
	}
	if e, _ := h.firstFrom(b); e != nil {
		return bytes.Clone(e.key), nil
	}
	return nil, errLastKey
}

// lookupBatch is __htab_map_lookup_and_delete_batch. The cursor is a
// 4-byte bucket index; whole buckets are copied, and a bucket that does not
// fit in what is left of the buffers ends the batch (ENOSPC if nothing was
// copied yet). Reaching the last bucket gives ENOENT.
func (h *hashCore) lookupBatch(o *object, cursor, keys, values []byte, del bool) (int, []byte, error) {
	return h.batch(o, cursor, keys, values, del, false)
}

// batch is lookupBatch; with lock (BPF_F_LOCK) each value is copied
// holding its spin lock.
func (h *hashCore) batch(o *object, cursor, keys, values []byte, del, lock bool) (int, []byte, error) {
	var b uint32
	if cursor != nil {
		if len(cursor) != 4 {
			return 0, nil, errorf(unix.EINVAL, "hash batch cursor is %d bytes, want 4", len(cursor))
		}
		b = binary.NativeEndian.Uint32(cursor)
	}
	if b >= h.nbuckets() {
		return 0, nil, errorf(unix.ENOENT, "batch cursor %d past the last bucket", b)
	}
	if del {
		h.mu.Lock()
		defer h.mu.Unlock()
	} else {
		h.mu.RLock()
		defer h.mu.RUnlock()
	}
	max := len(keys) / o.keySize
	total := 0
	var err error
	for {
		_, b = h.firstFrom(b)
		if b >= h.nbuckets() {
			err = errLastKey
			break
		}
		n := 0
		for e := h.head(b); e != nil; e = e.next.Load() {
			n++
		}
		if n > max-total {
			if total == 0 {
				err = errorf(unix.ENOSPC, "bucket %d holds %d elements, more than the %d the buffers take", b, n, max)
			}
			break
		}
		for e := h.head(b); e != nil; {
			next := e.next.Load()
			copy(keys[total*o.keySize:], e.key)
			dst := values[total*o.userValueSize:][:o.userValueSize]
			if lock {
				h.o.special.zero(dst)
				h.o.special.copyLocked(dst, e.value, e.value)
			} else {
				h.copyOut(dst, e.value)
			}
			total++
			if del {
				h.remove(e)
			}
			e = next
		}
		b++
		if b >= h.nbuckets() {
			err = errLastKey
			break
		}
	}
	out := make([]byte, 4)
	binary.NativeEndian.PutUint32(out, b)
	return total, out, err
}

// lookupElem is the program's lookup: this CPU's value, and for LRU maps
// the referenced bit set (the user-space lookup leaves it alone, as the
// kernel's *_lookup_elem_sys does).
func (h *hashCore) lookupElem(key []byte, cpu int) []byte {
	hash := htabHash(key, h.seed)
	var e *helem
	if h.percpu {
		h.mu.RLock()
		e = h.find(key, hash)
		h.mu.RUnlock()
	} else {
		e = h.find(key, hash)
	}
	if e == nil {
		return nil
	}
	if h.lru != nil && !e.ref.Load() {
		e.ref.Store(true)
	}
	if h.percpu {
		off := cpu * h.o.stride
		return e.value[off : off+h.o.valueSize : off+h.o.valueSize]
	}
	return e.value[:h.o.valueSize:h.o.valueSize]
}
