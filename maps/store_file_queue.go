package maps

import "sync/atomic"

// fileQueue is QUEUE and STACK in a pinned map file: a ring of
// max_entries slots of round_up(value_size, 8) bytes, with the head (the
// slot of the next push), the tail (the oldest element) and the element
// count in the header's shared words (hQHead, hQTail, hCount). The
// semantics and errnos are queueCore's (queue_stack_maps.c); the kernel's
// ring has one slot more and no count, which is the same thing.
//
// Every operation runs under the file lock and checks the three words
// against each other first, so a corrupt file gives EIO.
type fileQueue struct {
	o     *object
	s     *fileStore
	stack bool
	max   uint32
	slot  int
}

func newFileQueue(o *object, s *fileStore) *fileQueue {
	return &fileQueue{o: o, s: s, stack: o.spec.Type == Stack, max: o.spec.MaxEntries, slot: o.stride}
}

func (q *fileQueue) store() *fileStore { return q.s }

func (q *fileQueue) elem(i uint32) []byte {
	off := int(i) * q.slot
	return q.s.data[off : off+q.o.valueSize : off+q.o.valueSize]
}

// state reads the ring's words; inconsistent ones are corruption.
func (q *fileQueue) state() (head, tail, n uint32) {
	head, tail, n = q.s.get(hQHead), q.s.get(hQTail), q.s.get(hCount)
	if head >= q.max || tail >= q.max || n > q.max || (uint64(tail)+uint64(n))%uint64(q.max) != uint64(head) {
		panic(corruption{})
	}
	return head, tail, n
}

func (q *fileQueue) inc(i uint32) uint32 {
	if i++; i >= q.max {
		i = 0
	}
	return i
}

// locked runs fn under the file lock, turning corruption into EIO.
func locked(s *fileStore, fn func() error) (err error) {
	defer recoverCorrupt(&err)
	if err := s.lock(); err != nil {
		return err
	}
	defer s.unlock()
	return fn()
}

// get is queueCore.get: an empty map zeroes dst and fails with ENOENT.
func (q *fileQueue) get(dst []byte, del bool) error {
	err := locked(q.s, func() error {
		head, tail, n := q.state()
		if n == 0 {
			return errQueueEmpty
		}
		i := tail
		if q.stack {
			i = head + q.max - 1
			if i >= q.max {
				i -= q.max
			}
		}
		copy(dst, q.elem(i))
		if del {
			if q.stack {
				q.s.set(hQHead, i)
			} else {
				q.s.set(hQTail, q.inc(tail))
			}
			q.s.set(hCount, n-1)
		}
		return nil
	})
	if err != nil {
		clear(dst)
	}
	return err
}

// push is queueCore.push: BPF_EXIST makes room in a full map by dropping
// the oldest element.
func (q *fileQueue) push(value []byte, flags uint64, user bool) error {
	if flags&UpdateNoExist != 0 || flags > UpdateExist {
		return errQueueFlags
	}
	return locked(q.s, func() error {
		if user && q.s.frozen() {
			return errFrozenWrite
		}
		head, tail, n := q.state()
		if n == q.max {
			if flags&UpdateExist == 0 {
				return errFull
			}
			tail = q.inc(tail)
			n--
			q.s.set(hQTail, tail)
		}
		copy(q.elem(head), value)
		q.s.set(hQHead, q.inc(head))
		q.s.set(hCount, n+1)
		return nil
	})
}

func (q *fileQueue) lookup(key, dst []byte) error { return q.get(dst, false) }

func (q *fileQueue) update(key, value []byte, flags uint64, cpu int, user bool) error {
	return q.push(value, flags, user)
}

func (q *fileQueue) delete(key []byte) error { return errQueueOp }

func (q *fileQueue) nextKey(key []byte) ([]byte, error) { return nil, errQueueOp }

func (q *fileQueue) lookupAndDelete(key, dst []byte) error { return q.get(dst, true) }

func (q *fileQueue) lookupBatch(o *object, cursor, keys, values []byte, del bool) (int, []byte, error) {
	return 0, nil, errNotSupp
}

func (q *fileQueue) lookupElem(key []byte, cpu int) []byte { return nil }

// migrateKeyless copies the storage of an in-memory QUEUE, STACK or
// BLOOM_FILTER into a new file-backed one (maps with keys are copied with
// get_next_key instead). The caller keeps writers out.
func migrateKeyless(src, dst core) error {
	switch sc := src.(type) {
	case *queueCore:
		dq, ok := dst.(*fileQueue)
		if !ok {
			return errCorrupt
		}
		sc.mu.Lock()
		defer sc.mu.Unlock()
		for i := sc.tail; i != sc.head; {
			if err := dq.push(sc.slot(i), UpdateAny, false); err != nil {
				return err
			}
			if i++; i >= sc.size {
				i = 0
			}
		}
	case *bloomCore:
		db, ok := dst.(*fileBloom)
		if !ok || db.bad || len(db.b.bitset) != len(sc.bitset) || db.b.seed != sc.seed {
			return errCorrupt
		}
		for i := range sc.bitset {
			atomic.StoreUint64(&db.b.bitset[i], atomic.LoadUint64(&sc.bitset[i]))
		}
	}
	return nil
}
