package maps

// LRU maps (BPF_MAP_TYPE_LRU_HASH, LRU_PERCPU_HASH).
//
// The kernel preallocates max_entries nodes. An update first takes a free
// node and, when there is none, shrinks an LRU list: referenced elements
// (looked up by a program since they were last considered) get a second
// chance, the others are evicted. With the common LRU (the default) there
// is one list for the map; with BPF_F_NO_COMMON_LRU every CPU has its own
// list of max_entries/NumCPU nodes (max_entries is rounded up to a
// multiple of NumCPU), and an update on a CPU evicts only from that CPU's
// list.
//
// gobee keeps one list per LRU (newest first) with a referenced bit per
// element and evicts with the clock algorithm: from the tail, a referenced
// element is cleared and moved to the head, the first unreferenced one is
// evicted. Invariants that hold (and that the differential tests check):
//
//   - the map never holds more than max_entries elements, and a per-CPU
//     list never more than its share;
//   - an update never fails with E2BIG: it evicts instead;
//   - an element is evicted only when its list is full at the time of an
//     update (the kernel may also evict earlier, when free nodes sit in
//     other CPUs' local free lists, and evicts in batches);
//   - a successful update leaves its key present with the new value;
//     lookups of present keys return the last value written;
//   - as in the kernel, the update takes its node before looking at the
//     key, so an update of an existing key, or one that fails with EEXIST
//     or ENOENT, still evicts when the list is full (LRU per-CPU maps skip
//     this for BPF_EXIST). The victim can be the updated key itself.
//
// Which element is evicted may differ from the kernel's choice.
type lruLists struct {
	perCPU bool
	cap    int // elements per list
	lists  []lruList
}

type lruList struct {
	head helem // sentinel: head.lnext is the newest, head.lprev the oldest
	n    int
}

func newLRU(maxEntries, ncpu int, perCPU bool) *lruLists {
	l := &lruLists{perCPU: perCPU, cap: maxEntries, lists: make([]lruList, 1)}
	if perCPU {
		l.cap = maxEntries / ncpu
		l.lists = make([]lruList, ncpu)
	}
	for i := range l.lists {
		h := &l.lists[i].head
		h.lnext, h.lprev = h, h
	}
	return l
}

func (l *lruLists) full(li int) bool { return l.lists[li].n > 0 && l.lists[li].n >= l.cap }

// push adds a new element at the head of list li.
func (l *lruLists) push(e *helem, li int) {
	e.list = int32(li)
	ll := &l.lists[li]
	ll.n++
	l.insertFront(ll, e)
}

func (l *lruLists) insertFront(ll *lruList, e *helem) {
	h := &ll.head
	e.lprev, e.lnext = h, h.lnext
	h.lnext.lprev = e
	h.lnext = e
}

func unlinkLRU(e *helem) {
	e.lprev.lnext = e.lnext
	e.lnext.lprev = e.lprev
	e.lprev, e.lnext = nil, nil
}

// remove takes e off its list.
func (l *lruLists) remove(e *helem) {
	unlinkLRU(e)
	l.lists[e.list].n--
}

// victim picks the element to evict from list li, which is not empty:
// the oldest element whose referenced bit is clear, clearing the bits (and
// moving to the head) of the referenced ones it passes.
func (l *lruLists) victim(li int) *helem {
	ll := &l.lists[li]
	for range ll.n {
		e := ll.head.lprev
		if !e.ref.Load() {
			return e
		}
		e.ref.Store(false)
		unlinkLRU(e)
		l.insertFront(ll, e)
	}
	return ll.head.lprev
}
