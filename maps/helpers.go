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
