package maps

import (
	"fmt"

	"github.com/gobee-dev/gobee/interp"
)

// Helper ids (enum bpf_func_id).
const (
	HelperMapLookupElem = 1
	HelperMapUpdateElem = 2
	HelperMapDeleteElem = 3
	HelperMapPushElem   = 87
	HelperMapPopElem    = 88
	HelperMapPeekElem   = 89
	// HelperMapLookupPercpuElem is bpf_map_lookup_percpu_elem.
	HelperMapLookupPercpuElem = 195
)

// Helpers returns the map helpers by id, to merge into interp.Options.Helpers.
// Their first argument is a handle (see Handle). A handle that is not a
// map, or a key or value pointer the run may not read, aborts the run with
// an error: the verifier would have rejected such a program.
func Helpers() map[int32]interp.HelperFunc {
	return map[int32]interp.HelperFunc{
		HelperMapLookupElem: MapLookupElem,
		HelperMapUpdateElem: MapUpdateElem,
		HelperMapDeleteElem: MapDeleteElem,

		HelperMapPushElem:         MapPushElem,
		HelperMapPopElem:          MapPopElem,
		HelperMapPeekElem:         MapPeekElem,
		HelperMapLookupPercpuElem: MapLookupPercpuElem,

		HelperPerfEventOutput: PerfEventOutput,
		HelperRingbufOutput:   RingbufOutput,
		HelperRingbufReserve:  RingbufReserve,
		HelperRingbufSubmit:   RingbufSubmit,
		HelperRingbufDiscard:  RingbufDiscard,
		HelperRingbufQuery:    RingbufQuery,
	}
}

func helperArgs(name string, r *interp.Run, handle, keyPtr uint64) (*object, []byte, error) {
	o, ok := lookupHandle(handle)
	if !ok {
		return nil, nil, fmt.Errorf("%s: %#x is not a map", name, handle)
	}
	key, err := r.Mem(keyPtr, uint64(o.keySize), false)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: key: %w", name, err)
	}
	return o, key, nil
}

// MapLookupElem is bpf_map_lookup_elem(map, key): a pointer to the value
// on the run's CPU, or 0. The value is granted to the run, writable unless
// the map has BPF_F_RDONLY_PROG.
func MapLookupElem(r *interp.Run, m, key, _, _, _ uint64) (uint64, error) {
	o, k, err := helperArgs("bpf_map_lookup_elem", r, m, key)
	if err != nil {
		return 0, err
	}
	if hl, ok := o.core.(handleLookup); ok {
		// Map-in-map: the inner map's handle itself.
		return hl.lookupInner(k), nil
	}
	v := o.LookupElem(k, r.CPU())
	if v == nil {
		return 0, nil
	}
	r.Grant(v, o.spec.Flags&FlagRdonlyProg == 0)
	return interp.Addr(v), nil
}

// MapUpdateElem is bpf_map_update_elem(map, key, value, flags): 0 or a
// negative errno.
func MapUpdateElem(r *interp.Run, m, key, value, flags, _ uint64) (uint64, error) {
	o, k, err := helperArgs("bpf_map_update_elem", r, m, key)
	if err != nil {
		return 0, err
	}
	v, err := r.Mem(value, uint64(o.valueSize), false)
	if err != nil {
		return 0, fmt.Errorf("bpf_map_update_elem: value: %w", err)
	}
	return errnoRet(o.UpdateElem(k, v, flags, r.CPU())), nil
}

// MapDeleteElem is bpf_map_delete_elem(map, key): 0 or a negative errno.
func MapDeleteElem(r *interp.Run, m, key, _, _, _ uint64) (uint64, error) {
	o, k, err := helperArgs("bpf_map_delete_elem", r, m, key)
	if err != nil {
		return 0, err
	}
	return errnoRet(o.DeleteElem(k)), nil
}

// keylessArgs resolves the map of the push, pop and peek helpers, which
// the verifier allows on queues, stacks and (push, peek) bloom filters
// only, and the value the helper reads or writes.
func keylessArgs(name string, r *interp.Run, handle, value uint64, write bool) (*object, []byte, error) {
	o, ok := lookupHandle(handle)
	if !ok {
		return nil, nil, fmt.Errorf("%s: %#x is not a map", name, handle)
	}
	switch t := o.spec.Type; {
	case t == Queue || t == Stack:
	case t == BloomFilter && name != "bpf_map_pop_elem":
	default:
		return nil, nil, fmt.Errorf("%s: not allowed on a %v map", name, t)
	}
	v, err := r.Mem(value, uint64(o.valueSize), write)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: value: %w", name, err)
	}
	return o, v, nil
}

// MapPushElem is bpf_map_push_elem(map, value, flags): 0 or a negative
// errno (-E2BIG when a queue or stack is full without BPF_EXIST).
func MapPushElem(r *interp.Run, m, value, flags, _, _ uint64) (uint64, error) {
	o, v, err := keylessArgs("bpf_map_push_elem", r, m, value, false)
	if err != nil {
		return 0, err
	}
	return errnoRet(o.PushElem(v, flags, r.CPU())), nil
}

// MapPopElem is bpf_map_pop_elem(map, value): copies the next element
// into value and removes it; -ENOENT (value zeroed) when empty.
func MapPopElem(r *interp.Run, m, value, _, _, _ uint64) (uint64, error) {
	o, v, err := keylessArgs("bpf_map_pop_elem", r, m, value, true)
	if err != nil {
		return 0, err
	}
	return errnoRet(o.PopElem(v, r.CPU())), nil
}

// MapPeekElem is bpf_map_peek_elem(map, value): for a queue or stack it
// copies the next element into value (-ENOENT, value zeroed, when empty);
// for a bloom filter it returns 0 if value may be in the set, else
// -ENOENT.
func MapPeekElem(r *interp.Run, m, value, _, _, _ uint64) (uint64, error) {
	o, ok := lookupHandle(m)
	write := ok && o.spec.Type != BloomFilter
	o, v, err := keylessArgs("bpf_map_peek_elem", r, m, value, write)
	if err != nil {
		return 0, err
	}
	return errnoRet(o.PeekElem(v, r.CPU())), nil
}

// MapLookupPercpuElem is bpf_map_lookup_percpu_elem(map, key, cpu): a
// pointer to CPU cpu's value in a per-CPU map, or 0 if the key is absent
// or cpu is not a CPU of the map.
func MapLookupPercpuElem(r *interp.Run, m, key, cpu, _, _ uint64) (uint64, error) {
	o, k, err := helperArgs("bpf_map_lookup_percpu_elem", r, m, key)
	if err != nil {
		return 0, err
	}
	if t := o.spec.Type; t != PerCPUHash && t != PerCPUArray && t != LRUPerCPUHash {
		return 0, fmt.Errorf("bpf_map_lookup_percpu_elem: not allowed on a %v map", t)
	}
	c := uint32(cpu)
	if c >= uint32(o.ncpu) {
		return 0, nil
	}
	v := o.LookupElem(k, int(c))
	if v == nil {
		return 0, nil
	}
	r.Grant(v, o.spec.Flags&FlagRdonlyProg == 0)
	return interp.Addr(v), nil
}
