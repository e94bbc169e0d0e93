package maps

import (
	"sync"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// queueCore is BPF_MAP_TYPE_QUEUE (FIFO) and BPF_MAP_TYPE_STACK (LIFO),
// laid out like the kernel's queue_stack_maps.c: a ring of max_entries+1
// slots with a head (next push) and a tail (oldest element). The maps have
// no keys (key_size 0): Update pushes, LookupAndDelete pops, Lookup peeks.
// Values are copied in and out, so slots may be reused.
type queueCore struct {
	o     *object
	stack bool
	size  uint32 // max_entries + 1
	mu    sync.Mutex
	head  uint32
	tail  uint32
	data  []byte // size slots of value_size bytes
}

// queueStackCreateFlagMask is QUEUE_STACK_CREATE_FLAG_MASK.
const queueStackCreateFlagMask = FlagNumaNode | flagAccessMask

// queueAllocCheck is queue_stack_map_alloc_check.
func queueAllocCheck(s *Spec) error {
	switch {
	case s.MaxEntries == 0:
		return errorf(unix.EINVAL, "max_entries is 0")
	case s.KeySize != 0:
		return errorf(unix.EINVAL, "key_size %d: %v maps have no keys (key_size 0)", s.KeySize, s.Type)
	case s.ValueSize == 0:
		return errorf(unix.EINVAL, "value_size is 0")
	case s.Flags&^queueStackCreateFlagMask != 0:
		return errorf(unix.EINVAL, "flags %#x not valid for %v", s.Flags&^queueStackCreateFlagMask, s.Type)
	case !accessFlagsOK(s.Flags):
		return errorf(unix.EINVAL, "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together")
	case s.ValueSize > kmallocMaxSize:
		return errorf(unix.E2BIG, "value_size %d too large (limit %d)", s.ValueSize, kmallocMaxSize)
	}
	return nil
}

func newQueueCore(o *object) (core, error) {
	size := uint64(o.spec.MaxEntries) + 1
	total := size * uint64(o.valueSize)
	if total > maxPrealloc {
		return nil, errorf(unix.ENOMEM, "%v of %d bytes exceeds gobee's limit of %d", o.spec.Type, total, uint64(maxPrealloc))
	}
	return &queueCore{o: o, stack: o.spec.Type == Stack, size: uint32(size), data: make([]byte, total)}, nil
}

func (q *queueCore) slot(i uint32) []byte {
	vs := q.o.valueSize
	off := int(i) * vs
	return q.data[off : off+vs : off+vs]
}

func (q *queueCore) empty() bool { return q.head == q.tail }

func (q *queueCore) full() bool {
	h := q.head + 1
	if h >= q.size {
		h = 0
	}
	return h == q.tail
}

// get is __queue_map_get / __stack_map_get. An empty map zeroes dst and
// fails with ENOENT.
func (q *queueCore) get(dst []byte, del bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.empty() {
		clear(dst)
		return errQueueEmpty
	}
	if !q.stack {
		copy(dst, q.slot(q.tail))
		if del {
			if q.tail++; q.tail >= q.size {
				q.tail = 0
			}
		}
		return nil
	}
	i := q.head - 1
	if i >= q.size {
		i = q.size - 1
	}
	copy(dst, q.slot(i))
	if del {
		q.head = i
	}
	return nil
}

// push is queue_stack_map_push_elem: BPF_EXIST makes room in a full map
// by dropping the oldest element (for a stack too: the bottom one).
func (q *queueCore) push(value []byte, flags uint64) error {
	if flags&UpdateNoExist != 0 || flags > UpdateExist {
		return errQueueFlags
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.full() {
		if flags&UpdateExist == 0 {
			return errFull
		}
		if q.tail++; q.tail >= q.size {
			q.tail = 0
		}
	}
	copy(q.slot(q.head), value)
	if q.head++; q.head >= q.size {
		q.head = 0
	}
	return nil
}

func (q *queueCore) lookup(key, dst []byte) error { return q.get(dst, false) }

func (q *queueCore) update(key, value []byte, flags uint64, cpu int, user bool) error {
	return q.push(value, flags)
}

func (q *queueCore) delete(key []byte) error { return errQueueOp }

func (q *queueCore) nextKey(key []byte) ([]byte, error) { return nil, errQueueOp }

func (q *queueCore) lookupAndDelete(key, dst []byte) error { return q.get(dst, true) }

func (q *queueCore) lookupBatch(o *object, cursor, keys, values []byte, del bool) (int, []byte, error) {
	return 0, nil, errNotSupp
}

// lookupElem: the kernel's queue_stack_map_lookup_elem returns NULL.
func (q *queueCore) lookupElem(key []byte, cpu int) []byte { return nil }

var (
	errQueueEmpty = &Error{unix.ENOENT, "queue or stack is empty"}
	errQueueFlags = &Error{unix.EINVAL, "push flags must be BPF_ANY or BPF_EXIST"}
	errQueueOp    = &Error{unix.EINVAL, "queues and stacks have no keys to delete or iterate"}
	errHasKeys    = &Error{unix.EINVAL, "push, pop and peek are for maps without keys (queue, stack, bloom filter)"}
)

// The operations of the maps without keys. They go through the same
// permission checks as Update, LookupAndDelete and Lookup with a nil key.

func (o *object) keyless() error {
	if o.keySize != 0 {
		return errHasKeys
	}
	return nil
}

func (o *object) Push(value []byte, flags uint64) error {
	if err := o.keyless(); err != nil {
		return err
	}
	return o.Update(nil, value, flags)
}

func (o *object) Pop(value []byte) error {
	if err := o.keyless(); err != nil {
		return err
	}
	if err := o.canRead(); err != nil {
		return err
	}
	if err := o.canWrite(); err != nil {
		return err
	}
	if err := o.checkUserValue(value); err != nil {
		return err
	}
	return o.core.lookupAndDelete(nil, value)
}

func (o *object) Peek(value []byte) error {
	if err := o.keyless(); err != nil {
		return err
	}
	if err := o.canRead(); err != nil {
		return err
	}
	if err := o.checkUserValue(value); err != nil {
		return err
	}
	return o.core.lookup(nil, value)
}

func (o *object) PushElem(value []byte, flags uint64, cpu int) error {
	if err := o.keyless(); err != nil {
		return err
	}
	return o.UpdateElem(nil, value, flags, cpu)
}

func (o *object) PopElem(value []byte, cpu int) error {
	if err := o.keyless(); err != nil {
		return err
	}
	if o.spec.Flags&FlagRdonlyProg != 0 {
		return errProgWrite
	}
	if len(value) != o.valueSize {
		return errorf(unix.EINVAL, "value is %d bytes, map has value_size %d", len(value), o.valueSize)
	}
	return o.core.lookupAndDelete(nil, value)
}

func (o *object) PeekElem(value []byte, cpu int) error {
	if err := o.keyless(); err != nil {
		return err
	}
	if len(value) != o.valueSize {
		return errorf(unix.EINVAL, "value is %d bytes, map has value_size %d", len(value), o.valueSize)
	}
	return o.core.lookup(nil, value)
}
