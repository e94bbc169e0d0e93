package maps

import "encoding/binary"

// fileLPM is LPM_TRIE in a pinned map file: the kernel's trie (the shape
// lpmCore and lpm_trie.c build, so the same longest-prefix answers and the
// same get_next_key post-order) over a preallocated pool of nodes named by
// index+1 (0: none), with child indexes instead of pointers:
//
//	node  {child0, child1, prefixlen, flags uint32}, data (rounded up to
//	      8 bytes), value (rounded up to 8 bytes)
//
// A trie of n elements has at most n-1 intermediate nodes, and a replace
// needs one node more for a moment, so the pool has 2 × max_entries nodes.
// The root is the header word hLPMRoot, the element count hCount; free
// nodes form a list through child0 from hFree, and nodes never used yet
// are taken in order from hFresh, so a large trie touches no pages it does
// not use. As in the kernel, a node's memory is reused after a delete.
//
// Every index is range-checked, every node reached must be in use and
// have a longer prefix than its parent (which bounds every walk by the
// key's bit length), so a corrupt file gives EIO, never a panic or hang.
type fileLPM struct {
	o        *object
	s        *fileStore
	dataSize int
	maxLen   uint32
	max      uint32
	pool     uint32
	nodeSize int
	valOff   int
}

// Node fields and flags.
const (
	lnChild0 = 0
	lnChild1 = 4
	lnPlen   = 8
	lnFlags  = 12
	lnData   = 16

	lnUsed = 1
	lnIM   = 2

	// lpmRootSlot names the root word where a slot (the place that holds
	// a node index) is expected.
	lpmRootSlot = -1
)

func lpmFileNodeSize(s *Spec) uint64 {
	return lnData + uint64(roundUp8(int(s.KeySize)-lpmKeyHeader)) + uint64(roundUp8(int(s.ValueSize)))
}

func lpmFilePool(s *Spec) uint64 { return 2 * uint64(s.MaxEntries) }

func newFileLPM(o *object, s *fileStore) *fileLPM {
	ds := o.keySize - lpmKeyHeader
	return &fileLPM{
		o: o, s: s, dataSize: ds, maxLen: uint32(ds) * 8,
		max: o.spec.MaxEntries, pool: uint32(lpmFilePool(&o.spec)),
		nodeSize: int(lpmFileNodeSize(&o.spec)), valOff: lnData + roundUp8(ds),
	}
}

func (t *fileLPM) store() *fileStore { return t.s }

func (t *fileLPM) u32(off int) uint32 { return binary.NativeEndian.Uint32(t.s.data[off:]) }
func (t *fileLPM) put(off int, v uint32) {
	binary.NativeEndian.PutUint32(t.s.data[off:], v)
}

// nd is the offset of node i; a bad index is corruption.
func (t *fileLPM) nd(i uint32) int {
	if i == 0 || i > t.pool {
		panic(corruption{})
	}
	return int(i-1) * t.nodeSize
}

func (t *fileLPM) plen(i uint32) uint32 { return t.u32(t.nd(i) + lnPlen) }
func (t *fileLPM) im(i uint32) bool     { return t.u32(t.nd(i)+lnFlags)&lnIM != 0 }

func (t *fileLPM) data(i uint32) []byte {
	off := t.nd(i) + lnData
	return t.s.data[off : off+t.dataSize : off+t.dataSize]
}

func (t *fileLPM) value(i uint32) []byte {
	off := t.nd(i) + t.valOff
	return t.s.data[off : off+t.o.valueSize : off+t.o.valueSize]
}

// childSlot is the slot of node i's child b.
func (t *fileLPM) childSlot(i uint32, b int) int { return t.nd(i) + lnChild0 + 4*b }

func (t *fileLPM) getSlot(slot int) uint32 {
	if slot == lpmRootSlot {
		return t.s.get(hLPMRoot)
	}
	return t.u32(slot)
}

func (t *fileLPM) setSlot(slot int, v uint32) {
	if slot == lpmRootSlot {
		t.s.set(hLPMRoot, v)
		return
	}
	t.put(slot, v)
}

// load reads the node index in slot and checks the node: in use, its
// prefix at least minPlen (one more than its parent's) and at most the
// maximum, an intermediate node with two children.
func (t *fileLPM) load(slot int, minPlen uint32) uint32 {
	i := t.getSlot(slot)
	if i == 0 {
		return 0
	}
	off := t.nd(i)
	p, fl := t.u32(off+lnPlen), t.u32(off+lnFlags)
	if fl&lnUsed == 0 || p < minPlen || p > t.maxLen ||
		(fl&lnIM != 0 && (t.u32(off+lnChild0) == 0 || t.u32(off+lnChild1) == 0)) {
		panic(corruption{})
	}
	return i
}

// kid is node i's child b, checked.
func (t *fileLPM) kid(i uint32, b int) uint32 { return t.load(t.childSlot(i, b), t.plen(i)+1) }

func (t *fileLPM) root() uint32 { return t.load(lpmRootSlot, 0) }

// match is lpmCore's match for node i.
func (t *fileLPM) match(i uint32, plen uint32, data []byte) uint32 {
	return match(&lnode{prefixlen: t.plen(i), data: t.data(i)}, plen, data)
}

// alloc takes a node from the free list or the fresh ones and makes it an
// element (or, with value nil, an intermediate node) without children.
func (t *fileLPM) alloc(plen uint32, data, value []byte) uint32 {
	i := t.s.get(hFree)
	if i != 0 {
		off := t.nd(i)
		if t.u32(off+lnFlags)&lnUsed != 0 {
			panic(corruption{})
		}
		t.s.set(hFree, t.u32(off+lnChild0))
	} else if fr := t.s.get(hFresh); fr < t.pool {
		t.s.set(hFresh, fr+1)
		i = fr + 1
	} else {
		panic(corruption{}) // the pool always has room for a valid trie
	}
	off := t.nd(i)
	t.put(off+lnChild0, 0)
	t.put(off+lnChild1, 0)
	t.put(off+lnPlen, plen)
	fl := uint32(lnUsed)
	if value == nil {
		fl |= lnIM
	}
	t.put(off+lnFlags, fl)
	copy(t.data(i), data)
	if value != nil {
		copy(t.value(i), value)
	}
	return i
}

func (t *fileLPM) free(i uint32) {
	off := t.nd(i)
	t.put(off+lnFlags, 0)
	t.put(off+lnChild1, 0)
	t.put(off+lnChild0, t.s.get(hFree))
	t.s.set(hFree, i)
}

func (t *fileLPM) count() uint32 {
	n := t.s.get(hCount)
	if n > t.max {
		panic(corruption{})
	}
	return n
}

// checkAdd is lpmCore.checkAdd.
func (t *fileLPM) checkAdd(flags uint64) error {
	if flags == UpdateExist {
		return errNoKey
	}
	n := t.count()
	if n >= t.max {
		return errLPMFull
	}
	t.s.set(hCount, n+1)
	return nil
}

// find is lpmCore.find.
func (t *fileLPM) find(key []byte) uint32 {
	plen, data := lpmKey(key)
	if plen > t.maxLen {
		return 0
	}
	var found uint32
	for n := t.root(); n != 0; {
		m := t.match(n, plen, data)
		if m == t.maxLen {
			return n
		}
		p := t.plen(n)
		if m < p {
			break
		}
		if !t.im(n) {
			found = n
		}
		n = t.kid(n, bit(data, p))
	}
	return found
}

func (t *fileLPM) lookup(key, dst []byte) error {
	return locked(t.s, func() error {
		n := t.find(key)
		if n == 0 {
			return errNoKey
		}
		copy(dst, t.value(n))
		return nil
	})
}

func (t *fileLPM) lookupElem(key []byte, cpu int) []byte {
	var v []byte
	if err := locked(t.s, func() error {
		if n := t.find(key); n != 0 {
			v = t.value(n)
		}
		return nil
	}); err != nil {
		return nil
	}
	return v
}

// update is lpmCore.update over the file's nodes.
func (t *fileLPM) update(key, value []byte, flags uint64, cpu int, user bool) error {
	if flags > UpdateExist {
		return errUpdateFlags
	}
	plen, data := lpmKey(key)
	if plen > t.maxLen {
		return errLPMPrefix
	}
	return locked(t.s, func() error {
		if user && t.s.frozen() {
			return errFrozenWrite
		}
		slot := lpmRootSlot
		var n, m uint32
		for n = t.root(); n != 0; {
			m = t.match(n, plen, data)
			p := t.plen(n)
			if p != m || p == plen {
				break
			}
			slot = t.childSlot(n, bit(data, p))
			n = t.kid(n, bit(data, p))
		}
		if n == 0 {
			if err := t.checkAdd(flags); err != nil {
				return err
			}
			t.setSlot(slot, t.alloc(plen, data, value))
			return nil
		}
		if t.plen(n) == m {
			// The same prefix: a new node takes the old one's place and
			// children.
			if !t.im(n) {
				if flags == UpdateNoExist {
					return errExists
				}
			} else if err := t.checkAdd(flags); err != nil {
				return err
			}
			c0, c1 := t.kid(n, 0), t.kid(n, 1)
			nn := t.alloc(plen, data, value)
			t.put(t.childSlot(nn, 0), c0)
			t.put(t.childSlot(nn, 1), c1)
			t.setSlot(slot, nn)
			t.free(n)
			return nil
		}
		if err := t.checkAdd(flags); err != nil {
			return err
		}
		nn := t.alloc(plen, data, value)
		if m == plen {
			// The new prefix contains n's: it becomes n's parent.
			t.put(t.childSlot(nn, bit(t.data(n), m)), n)
			t.setSlot(slot, nn)
			return nil
		}
		// They part at bit m: an intermediate node takes both.
		im := t.alloc(m, t.data(n), nil)
		if bit(data, m) == 1 {
			t.put(t.childSlot(im, 0), n)
			t.put(t.childSlot(im, 1), nn)
		} else {
			t.put(t.childSlot(im, 0), nn)
			t.put(t.childSlot(im, 1), n)
		}
		t.setSlot(slot, im)
		return nil
	})
}

// delete is lpmCore.delete (trie_delete_elem): exact prefix match only.
func (t *fileLPM) delete(key []byte) error {
	plen, data := lpmKey(key)
	if plen > t.maxLen {
		return errLPMPrefix
	}
	return locked(t.s, func() error {
		trim, trim2 := lpmRootSlot, lpmRootSlot
		var parent, n, m uint32
		for n = t.root(); n != 0; {
			m = t.match(n, plen, data)
			p := t.plen(n)
			if p != m || p == plen {
				break
			}
			parent, trim2 = n, trim
			trim = t.childSlot(n, bit(data, p))
			n = t.kid(n, bit(data, p))
		}
		if n == 0 || t.plen(n) != plen || t.plen(n) != m || t.im(n) {
			return errNoKey
		}
		c := t.count()
		if c == 0 {
			panic(corruption{})
		}
		c0, c1 := t.kid(n, 0), t.kid(n, 1)
		switch {
		case c0 != 0 && c1 != 0:
			// Two children: the node stays as an intermediate node,
			// as the kernel does it (in place).
			off := t.nd(n)
			t.put(off+lnFlags, t.u32(off+lnFlags)|lnIM)
		case parent != 0 && t.im(parent) && c0 == 0 && c1 == 0:
			// Drop the intermediate parent too; its other child moves up.
			other := t.kid(parent, 0)
			if other == n {
				other = t.kid(parent, 1)
			}
			t.setSlot(trim2, other)
			t.free(n)
			t.free(parent)
		case c0 != 0:
			t.setSlot(trim, c0)
			t.free(n)
		default:
			t.setSlot(trim, c1)
			t.free(n)
		}
		t.s.set(hCount, c-1)
		return nil
	})
}

func (t *fileLPM) lookupAndDelete(key, dst []byte) error { return errNotSupp }

// nextKey is lpmCore.nextKey: post-order, a missing key restarts.
func (t *fileLPM) nextKey(key []byte) ([]byte, error) {
	var out []byte
	err := locked(t.s, func() error {
		root := t.root()
		if root == 0 {
			return errLastKey
		}
		var next uint32
		if key != nil {
			next = t.after(root, key)
			if next == 0 {
				return errLastKey
			}
		} else {
			next = t.leftmost(root)
		}
		out = make([]byte, t.o.keySize)
		binary.NativeEndian.PutUint32(out, t.plen(next))
		copy(out[lpmKeyHeader:], t.data(next))
		return nil
	})
	return out, err
}

// after is lpmCore.after.
func (t *fileLPM) after(root uint32, key []byte) uint32 {
	plen, data := lpmKey(key)
	if plen > t.maxLen {
		return t.leftmost(root)
	}
	var stack []uint32
	var n, m uint32
	for n = root; n != 0; {
		stack = append(stack, n)
		m = t.match(n, plen, data)
		p := t.plen(n)
		if p != m || p == plen {
			break
		}
		n = t.kid(n, bit(data, p))
	}
	if n == 0 || t.plen(n) != m || t.plen(n) != plen || t.im(n) {
		return t.leftmost(root)
	}
	for i := len(stack) - 1; i > 0; i-- {
		node, parent := stack[i], stack[i-1]
		if c1 := t.kid(parent, 1); t.kid(parent, 0) == node && c1 != 0 {
			return t.leftmost(c1)
		}
		if !t.im(parent) {
			return parent
		}
	}
	return 0
}

// leftmost is lpmCore's leftmost; a subtree without an element is
// corruption (a valid trie's leaves are elements).
func (t *fileLPM) leftmost(n uint32) uint32 {
	var last uint32
	for n != 0 {
		if !t.im(n) {
			last = n
		}
		if c := t.kid(n, 0); c != 0 {
			n = c
		} else {
			n = t.kid(n, 1)
		}
	}
	if last == 0 {
		panic(corruption{})
	}
	return last
}

func (t *fileLPM) lookupBatch(o *object, cursor, keys, values []byte, del bool) (int, []byte, error) {
	return genericLookupBatch(o, cursor, keys, values)
}
