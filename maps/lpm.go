package maps

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"sync"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// lpmCore is BPF_MAP_TYPE_LPM_TRIE, the kernel's lpm_trie.c: a binary
// trie of prefixes with intermediate nodes, whose keys are a 4-byte
// prefix length (host byte order) followed by data_size bytes of data
// (big-endian bit order: data[0]'s top bit first). Lookup finds the
// longest stored prefix that matches the key; update and delete work on
// exact prefixes; get_next_key walks the trie in post-order (more
// specific prefixes first), as the kernel does, because the trie has the
// kernel's exact shape.
//
// Nodes are allocated on insert and on replace and never reused, so a
// program keeps valid memory after the element is deleted or replaced.
type lpmCore struct {
	o        *object
	dataSize int
	maxLen   uint32 // data_size * 8
	max      int
	mu       sync.RWMutex
	root     *lnode
	count    int
}

// lnode is struct lpm_trie_node.
type lnode struct {
	child     [2]*lnode
	prefixlen uint32
	im        bool   // LPM_TREE_NODE_FLAG_IM: intermediate, no value
	data      []byte // data_size bytes, as given (bits past prefixlen included)
	value     []byte // value_size bytes, 8-byte aligned; nil for intermediate nodes
}

// Limits of lpm_trie.c.
const (
	lpmDataSizeMax = 256
	lpmDataSizeMin = 1
	lpmNodeSize    = 24 // sizeof(struct lpm_trie_node): child[2], prefixlen, flags
	lpmValSizeMax  = kmallocMaxSize - lpmDataSizeMax - lpmNodeSize
	lpmKeyHeader   = 4 // offsetof(struct bpf_lpm_trie_key_u8, data)
	// lpmCreateFlagMask is LPM_CREATE_FLAG_MASK.
	lpmCreateFlagMask = FlagNoPrealloc | FlagNumaNode | flagAccessMask
)

// lpmAllocCheck is the attribute check of trie_alloc: BPF_F_NO_PREALLOC
// is required, every violation is EINVAL.
func lpmAllocCheck(s *Spec) error {
	switch {
	case s.MaxEntries == 0:
		return errorf(unix.EINVAL, "max_entries is 0")
	case s.Flags&FlagNoPrealloc == 0:
		return errorf(unix.EINVAL, "LPM tries need BPF_F_NO_PREALLOC")
	case s.Flags&^lpmCreateFlagMask != 0:
		return errorf(unix.EINVAL, "flags %#x not valid for %v", s.Flags&^lpmCreateFlagMask, s.Type)
	case !accessFlagsOK(s.Flags):
		return errorf(unix.EINVAL, "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together")
	case s.KeySize < lpmKeyHeader+lpmDataSizeMin || s.KeySize > lpmKeyHeader+lpmDataSizeMax:
		return errorf(unix.EINVAL, "key_size %d out of range [%d, %d] (4-byte prefix length and 1 to %d bytes of data)",
			s.KeySize, lpmKeyHeader+lpmDataSizeMin, lpmKeyHeader+lpmDataSizeMax, lpmDataSizeMax)
	case s.ValueSize < 1 || s.ValueSize > lpmValSizeMax:
		return errorf(unix.EINVAL, "value_size %d out of range [1, %d]", s.ValueSize, lpmValSizeMax)
	}
	return nil
}

func newLPMCore(o *object) (core, error) {
	ds := o.keySize - lpmKeyHeader
	return &lpmCore{o: o, dataSize: ds, maxLen: uint32(ds) * 8, max: int(o.spec.MaxEntries)}, nil
}

// lpmKey splits a key into its prefix length and data.
func lpmKey(key []byte) (uint32, []byte) {
	return binary.NativeEndian.Uint32(key), key[lpmKeyHeader:]
}

// bit is extract_bit: bit i of data, the most significant bit first.
func bit(data []byte, i uint32) int {
	return int(data[i/8]>>(7-i%8)) & 1
}

// match is longest_prefix_match: how many leading bits of the node and
// the key agree, at most the shorter of their prefix lengths.
func match(n *lnode, plen uint32, data []byte) uint32 {
	limit := min(n.prefixlen, plen)
	var m uint32
	for i := 0; i < len(data) && m < limit; i++ {
		d := n.data[i] ^ data[i]
		if d != 0 {
			m += uint32(bits.LeadingZeros8(d))
			break
		}
		m += 8
	}
	return min(m, limit)
}

func (t *lpmCore) newNode(plen uint32, data, value []byte) *lnode {
	vs := t.o.valueSize
	buf := make([]byte, roundUp8(vs)+t.dataSize)
	n := &lnode{prefixlen: plen, value: buf[:vs:vs], data: buf[roundUp8(vs):]}
	copy(n.data, data)
	copy(n.value, value)
	return n
}

// find is trie_lookup_elem: the longest prefix that matches, nil if none
// (always none for a key whose prefix length exceeds the maximum).
func (t *lpmCore) find(key []byte) *lnode {
	plen, data := lpmKey(key)
	if plen > t.maxLen {
		return nil
	}
	var found *lnode
	for n := t.root; n != nil; {
		m := match(n, plen, data)
		if m == t.maxLen {
			return n
		}
		if m < n.prefixlen {
			break
		}
		if !n.im {
			found = n
		}
		n = n.child[bit(data, n.prefixlen)]
	}
	return found
}

func (t *lpmCore) lookup(key, dst []byte) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := t.find(key)
	if n == nil {
		return errNoKey
	}
	copy(dst, n.value)
	return nil
}

func (t *lpmCore) lookupElem(key []byte, cpu int) []byte {
	t.mu.RLock()
	n := t.find(key)
	t.mu.RUnlock()
	if n == nil {
		return nil
	}
	return n.value
}

// checkAdd is trie_check_add_elem: a new element needs room, and
// BPF_EXIST wants an existing one.
func (t *lpmCore) checkAdd(flags uint64) error {
	if flags == UpdateExist {
		return errNoKey
	}
	if t.count >= t.max {
		return errLPMFull
	}
	t.count++
	return nil
}

// update is trie_update_elem.
func (t *lpmCore) update(key, value []byte, flags uint64, cpu int, user bool) error {
	if flags > UpdateExist {
		return errUpdateFlags
	}
	plen, data := lpmKey(key)
	if plen > t.maxLen {
		return errLPMPrefix
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	slot := &t.root
	var n *lnode
	var m uint32
	for n = *slot; n != nil; n = *slot {
		m = match(n, plen, data)
		if n.prefixlen != m || n.prefixlen == plen {
			break
		}
		slot = &n.child[bit(data, n.prefixlen)]
	}
	if n == nil {
		if err := t.checkAdd(flags); err != nil {
			return err
		}
		*slot = t.newNode(plen, data, value)
		return nil
	}
	if n.prefixlen == m {
		// The same prefix: replace the node (an intermediate one
		// becomes an element).
		if !n.im {
			if flags == UpdateNoExist {
				return errExists
			}
		} else if err := t.checkAdd(flags); err != nil {
			return err
		}
		nn := t.newNode(plen, data, value)
		nn.child = n.child
		*slot = nn
		return nil
	}
	if err := t.checkAdd(flags); err != nil {
		return err
	}
	nn := t.newNode(plen, data, value)
	if m == plen {
		// The new prefix contains n's: it becomes n's parent.
		nn.child[bit(n.data, m)] = n
		*slot = nn
		return nil
	}
	// They part at bit m: an intermediate node takes both.
	im := &lnode{prefixlen: m, im: true, data: bytes.Clone(n.data)}
	if bit(data, m) == 1 {
		im.child = [2]*lnode{n, nn}
	} else {
		im.child = [2]*lnode{nn, n}
	}
	*slot = im
	return nil
}

// delete is trie_delete_elem: exact prefix match only.
func (t *lpmCore) delete(key []byte) error {
	plen, data := lpmKey(key)
	if plen > t.maxLen {
		return errLPMPrefix
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	trim, trim2 := &t.root, &t.root
	var parent, n *lnode
	var m uint32
	for n = *trim; n != nil; n = *trim {
		m = match(n, plen, data)
		if n.prefixlen != m || n.prefixlen == plen {
			break
		}
		parent, trim2 = n, trim
		trim = &n.child[bit(data, n.prefixlen)]
	}
	if n == nil || n.prefixlen != plen || n.prefixlen != m || n.im {
		return errNoKey
	}
	t.count--
	switch {
	case n.child[0] != nil && n.child[1] != nil:
		// Two children: the node stays as an intermediate node. It is
		// replaced by a copy so that a program's pointer to the old
		// value is never seen as part of the map again.
		*trim = &lnode{child: n.child, prefixlen: n.prefixlen, im: true, data: n.data}
	case parent != nil && parent.im && n.child[0] == nil && n.child[1] == nil:
		// Drop the intermediate parent too; its other child moves up.
		if parent.child[0] == n {
			*trim2 = parent.child[1]
		} else {
			*trim2 = parent.child[0]
		}
	case n.child[0] != nil:
		*trim = n.child[0]
	default:
		*trim = n.child[1]
	}
	return nil
}

func (t *lpmCore) lookupAndDelete(key, dst []byte) error { return errNotSupp }

// nextKey is trie_get_next_key: the node after key in post-order, or the
// first node in post-order if key is nil, has a prefix length beyond the
// maximum, or is not in the trie.
func (t *lpmCore) nextKey(key []byte) ([]byte, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	root := t.root
	if root == nil {
		return nil, errLastKey
	}
	var next *lnode
	if key != nil {
		next = t.after(key)
		if next == nil {
			return nil, errLastKey
		}
	} else {
		next = leftmost(root)
	}
	out := make([]byte, t.o.keySize)
	binary.NativeEndian.PutUint32(out, next.prefixlen)
	copy(out[lpmKeyHeader:], next.data)
	return out, nil
}

// after finds key's node and returns the node after it in post-order, nil
// at the end; a key that is not in the trie gives the first node.
func (t *lpmCore) after(key []byte) *lnode {
	plen, data := lpmKey(key)
	if plen > t.maxLen {
		return leftmost(t.root)
	}
	var stack []*lnode
	var n *lnode
	var m uint32
	for n = t.root; n != nil; {
		stack = append(stack, n)
		m = match(n, plen, data)
		if n.prefixlen != m || n.prefixlen == plen {
			break
		}
		n = n.child[bit(data, n.prefixlen)]
	}
	// An exact match only: a node of the same length that differs in
	// its bits is not the key.
	if n == nil || n.prefixlen != m || n.prefixlen != plen || n.im {
		return leftmost(t.root)
	}
	for i := len(stack) - 1; i > 0; i-- {
		node, parent := stack[i], stack[i-1]
		if parent.child[0] == node && parent.child[1] != nil {
			return leftmost(parent.child[1])
		}
		if !parent.im {
			return parent
		}
	}
	return nil
}

// leftmost is the first element of a subtree in post-order: follow the
// left child where there is one, else the right one, down to a leaf.
func leftmost(n *lnode) *lnode {
	var last *lnode
	for n != nil {
		if !n.im {
			last = n
		}
		if n.child[0] != nil {
			n = n.child[0]
		} else {
			n = n.child[1]
		}
	}
	return last
}

func (t *lpmCore) lookupBatch(o *object, cursor, keys, values []byte, del bool) (int, []byte, error) {
	return genericLookupBatch(o, cursor, keys, values)
}

var (
	errLPMFull   = &Error{unix.ENOSPC, "LPM trie is full"}
	errLPMPrefix = &Error{unix.EINVAL, "prefix length longer than the key's data"}
)
