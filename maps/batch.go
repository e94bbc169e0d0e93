package maps

import unix "github.com/gobee-dev/gobee/internal/linuxerr"

// Batch operations. Permissions are checked first (bpf_map_do_batch), then
// the element flags (only BPF_F_LOCK exists, and it needs a spin lock in
// the value: EINVAL otherwise), then a zero count returns at once, as in
// the kernel. With BPF_F_LOCK each value is copied holding its
// bpf_spin_lock (copy_map_value_locked), as BPF_MAP_LOOKUP_ELEM and
// BPF_MAP_UPDATE_ELEM do with it; BPF_MAP_DELETE_BATCH accepts it and
// ignores it (generic_map_delete_batch).

func (o *object) batchCount(keys, values []byte, withValues bool) (int, error) {
	if len(keys)%o.keySize != 0 {
		return 0, errorf(unix.EINVAL, "keys buffer of %d bytes is not a multiple of key_size %d", len(keys), o.keySize)
	}
	n := len(keys) / o.keySize
	if withValues && len(values) != n*o.userValueSize {
		return 0, errorf(unix.EINVAL, "values buffer is %d bytes, %d keys need %d", len(values), n, n*o.userValueSize)
	}
	return n, nil
}

// checkElemFlags is the elem_flags check of generic_map_*_batch and
// __htab_map_lookup_and_delete_batch.
func (o *object) checkElemFlags(flags uint64) error {
	if flags&^UpdateLock != 0 {
		return errorf(unix.EINVAL, "unknown batch element flags %#x", flags)
	}
	return o.lockFlagOK(flags)
}

func (o *object) BatchLookup(cursor, keys, values []byte, elemFlags uint64) (int, []byte, error) {
	if err := o.canRead(); err != nil {
		return 0, nil, err
	}
	if o.rule.noBatch {
		return 0, nil, errNotSupp
	}
	return o.lookupBatch(cursor, keys, values, elemFlags, false)
}

func (o *object) BatchLookupAndDelete(cursor, keys, values []byte, elemFlags uint64) (int, []byte, error) {
	if err := o.canRead(); err != nil {
		return 0, nil, err
	}
	if err := o.canWrite(); err != nil {
		return 0, nil, err
	}
	if !o.rule.hashBatch {
		return 0, nil, errNotSupp
	}
	return o.lookupBatch(cursor, keys, values, elemFlags, true)
}

func (o *object) lookupBatch(cursor, keys, values []byte, elemFlags uint64, del bool) (int, []byte, error) {
	if err := o.checkElemFlags(elemFlags); err != nil {
		return 0, nil, err
	}
	n, err := o.batchCount(keys, values, true)
	if err != nil || n == 0 {
		return 0, nil, err
	}
	if elemFlags&UpdateLock != 0 {
		// Only HASH and ARRAY values have a spin lock (checkFields).
		switch c := o.core.(type) {
		case *hashCore:
			return c.batch(o, cursor, keys, values, del, true)
		case *arrayCore:
			return walkLookupBatch(o, cursor, keys, values, c.lookupLocked)
		}
		return 0, nil, errLockFlag
	}
	return o.core.lookupBatch(o, cursor, keys, values, del)
}

// genericLookupBatch is the kernel's generic_map_lookup_batch: a
// get_next_key walk from the cursor (the last key of the previous batch),
// skipping keys that vanish between the two steps. It ends with ENOENT
// when the walk runs out; the returned cursor is the last key copied.
func genericLookupBatch(o *object, cursor, keys, values []byte) (int, []byte, error) {
	return walkLookupBatch(o, cursor, keys, values, o.core.lookup)
}

// walkLookupBatch is genericLookupBatch copying each value with lookup.
func walkLookupBatch(o *object, cursor, keys, values []byte, lookup func(key, dst []byte) error) (int, []byte, error) {
	if cursor != nil {
		if err := o.checkKey(cursor); err != nil {
			return 0, nil, err
		}
	}
	max := len(keys) / o.keySize
	prev := cursor
	var err error
	cp := 0
	for cp < max {
		var key []byte
		key, err = o.core.nextKey(prev)
		if err != nil {
			break
		}
		err = lookup(key, values[cp*o.userValueSize:][:o.userValueSize])
		if err == nil {
			copy(keys[cp*o.keySize:], key)
			cp++
		} else if Errno(err) != unix.ENOENT {
			return cp, nil, err
		}
		prev = key
	}
	if cp == 0 {
		return 0, nil, err
	}
	return cp, append([]byte(nil), keys[(cp-1)*o.keySize:cp*o.keySize]...), err
}

func (o *object) BatchUpdate(keys, values []byte, elemFlags uint64) (int, error) {
	if err := o.canWrite(); err != nil {
		return 0, err
	}
	if o.rule.noBatch {
		return 0, errNotSupp
	}
	if err := o.checkElemFlags(elemFlags); err != nil {
		return 0, err
	}
	n, err := o.batchCount(keys, values, true)
	if err != nil {
		return 0, err
	}
	// generic_map_update_batch: one update at a time with elem_flags as
	// the update flags (BPF_ANY, or BPF_F_LOCK), stop at the first error,
	// report how many succeeded.
	for i := range n {
		k := keys[i*o.keySize:][:o.keySize]
		v := values[i*o.userValueSize:][:o.userValueSize]
		if err := o.core.update(k, v, UpdateAny|elemFlags, userCPU, true); err != nil {
			return i, err
		}
	}
	return n, nil
}

func (o *object) BatchDelete(keys []byte, elemFlags uint64) (int, error) {
	if err := o.canWrite(); err != nil {
		return 0, err
	}
	if !o.rule.hashBatch && !o.rule.deleteBatch {
		return 0, errNotSupp
	}
	if err := o.checkElemFlags(elemFlags); err != nil {
		return 0, err
	}
	n, err := o.batchCount(keys, nil, false)
	if err != nil {
		return 0, err
	}
	// generic_map_delete_batch.
	for i := range n {
		if err := o.core.delete(keys[i*o.keySize:][:o.keySize]); err != nil {
			return i, err
		}
	}
	return n, nil
}
