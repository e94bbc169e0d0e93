package maps

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/interp"
)

// Helper ids of the callback and locking helpers (enum bpf_func_id).
const (
	HelperSpinLock        = 93
	HelperSpinUnlock      = 94
	HelperForEachMapElem  = 164
	HelperTimerInit       = 169
	HelperTimerSetCallbck = 170
	HelperTimerStart      = 171
	HelperTimerCancel     = 172
)

// CallbackHelpers returns bpf_for_each_map_elem, bpf_spin_lock /
// bpf_spin_unlock and the bpf_timer helpers by id, to merge into
// interp.Options.Helpers next to Helpers().
func CallbackHelpers() map[int32]interp.HelperFunc {
	return map[int32]interp.HelperFunc{
		HelperSpinLock:        SpinLock,
		HelperSpinUnlock:      SpinUnlock,
		HelperForEachMapElem:  ForEachMapElem,
		HelperTimerInit:       TimerInit,
		HelperTimerSetCallbck: TimerSetCallback,
		HelperTimerStart:      TimerStart,
		HelperTimerCancel:     TimerCancel,
	}
}

// ForEachMapElem is bpf_for_each_map_elem(map, callback_fn, callback_ctx,
// flags): it calls callback_fn(map, &key, &value, callback_ctx) for each
// element (this CPU's value of per-CPU maps) until the callback returns
// 1, and returns the number of elements visited, the stopping one
// included. flags must be 0 (-EINVAL). The key is a read-only copy; the
// value is the live one, writable unless the map has BPF_F_RDONLY_PROG.
func ForEachMapElem(r *interp.Run, m, fn, ctx, flags, _ uint64) (uint64, error) {
	o, ok := lookupHandle(m)
	if !ok {
		return 0, fmt.Errorf("bpf_for_each_map_elem: %#x is not a map", m)
	}
	switch o.spec.Type {
	case Array, PerCPUArray, Hash, PerCPUHash, LRUHash, LRUPerCPUHash:
	default:
		return 0, fmt.Errorf("bpf_for_each_map_elem: not allowed on a %v map", o.spec.Type)
	}
	if flags != 0 {
		return errnoRet(errorf(unix.EINVAL, "flags %#x", flags)), nil
	}
	writable := o.spec.Flags&FlagRdonlyProg == 0
	// Take the keys first, as a walk of get_next_key: a callback that
	// deletes its element must not restart the walk.
	var keys [][]byte
	var key []byte
	for len(keys) <= int(o.spec.MaxEntries) {
		next, err := o.core.nextKey(key)
		if err != nil {
			break
		}
		keys, key = append(keys, next), next
	}
	var n uint64
	for _, key := range keys {
		v := o.core.lookupElem(key, r.CPU())
		if v == nil {
			continue // deleted meanwhile
		}
		r.Grant(key, false)
		r.Grant(v, writable)
		n++
		ret, err := r.CallFunc(fn, [5]uint64{m, interp.Addr(key), interp.Addr(v), ctx})
		if err != nil {
			return 0, err
		}
		if ret != 0 {
			break
		}
	}
	return n, nil
}

// lockWord returns the 4-byte bpf_spin_lock at addr, which must be an
// aligned word the run may write.
func lockWord(name string, r *interp.Run, addr uint64) (*uint32, error) {
	b, err := r.Mem(addr, 4, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if addr%4 != 0 {
		return nil, fmt.Errorf("%s: lock at %#x is not 4-byte aligned", name, addr)
	}
	return (*uint32)(unsafe.Pointer(&b[0])), nil
}

// SpinLock and SpinUnlock are in lock_run.go, with the run-time checks
// of the verifier's lock rules.

// keyOfValue finds the key of the element of o whose value holds addr
// (the kernel finds it from the element's layout), and that value.
func keyOfValue(o *object, addr uint64, cpu int) (key, value []byte) {
	if a, ok := o.core.(*arrayCore); ok {
		off := addr - interp.Addr(a.data)
		if off >= uint64(len(a.data)) {
			return nil, nil
		}
		i := uint32(off / uint64(a.slot))
		key = binary.NativeEndian.AppendUint32(nil, i)
		return key, o.core.lookupElem(key, cpu)
	}
	var k []byte
	for {
		next, err := o.core.nextKey(k)
		if err != nil {
			return nil, nil
		}
		k = next
		if v := o.core.lookupElem(k, cpu); v != nil && addr-interp.Addr(v) < uint64(len(v)) {
			return k, v
		}
	}
}
