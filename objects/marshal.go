package objects

import (
	"encoding/binary"
	"fmt"
	"reflect"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/maps"
)

// Keys and values cross the API as cilium/ebpf's do: []byte, fixed-size
// integers, or (pointers to) fixed-size structs and arrays, encoded with
// encoding/binary in the host's byte order. Per-CPU values are slices with
// one value per CPU.

func errSize(what string, v any, got, want int) error {
	return errorf(unix.EINVAL, "%s %T is %d bytes, the map wants %d", what, v, got, want)
}

// marshal encodes v, which must be exactly size bytes.
func marshal(what string, v any, size int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, errorf(unix.EINVAL, "%s is nil", what)
	case []byte:
		if len(x) != size {
			return nil, errSize(what, v, len(x), size)
		}
		return x, nil
	}
	n := binary.Size(v)
	if n < 0 {
		return nil, errorf(unix.EINVAL, "%s of type %T has no fixed size", what, v)
	}
	if n != size {
		return nil, errSize(what, v, n, size)
	}
	b, err := binary.Append(make([]byte, 0, n), binary.NativeEndian, v)
	if err != nil {
		return nil, errorf(unix.EINVAL, "%s: %v", what, err)
	}
	return b, nil
}

// unmarshal decodes b into out: *[]byte (set to a copy), []byte (same
// length), or a pointer to / slice of fixed-size data.
func unmarshal(out any, b []byte) error {
	switch x := out.(type) {
	case nil:
		return errorf(unix.EINVAL, "output is nil")
	case *[]byte:
		*x = append((*x)[:0:0], b...)
		return nil
	case []byte:
		if len(x) != len(b) {
			return errSize("output", out, len(x), len(b))
		}
		copy(x, b)
		return nil
	}
	n := binary.Size(out)
	if n < 0 {
		return errorf(unix.EINVAL, "output of type %T has no fixed size (use a pointer)", out)
	}
	if n != len(b) {
		return errSize("output", out, n, len(b))
	}
	if _, err := binary.Decode(b, binary.NativeEndian, out); err != nil {
		return errorf(unix.EINVAL, "output %T: %v", out, err)
	}
	return nil
}

func marshalKey(s maps.Map, key any) ([]byte, error) {
	if key == nil && s.Spec().KeySize == 0 {
		// Maps without keys (QUEUE, STACK, BLOOM_FILTER) take a nil key,
		// as with cilium/ebpf: Update pushes, Lookup peeks,
		// LookupAndDelete pops.
		return nil, nil
	}
	return marshal("key", key, int(s.Spec().KeySize))
}

// marshalValue encodes a value in the user format; per-CPU maps take the
// whole user-format []byte or a slice (or array) of NumCPU values.
func marshalValue(s maps.Map, v any) ([]byte, error) {
	sp := s.Spec()
	if !sp.Type.PerCPU() {
		return marshal("value", v, int(sp.ValueSize))
	}
	if b, ok := v.([]byte); ok {
		return marshal("value", b, s.UserValueSize())
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, errorf(unix.EINVAL, "per-CPU value %T must be a slice with one value per CPU", v)
	}
	if rv.Len() != sp.NumCPU {
		return nil, errorf(unix.EINVAL, "per-CPU value has %d values, the map has %d CPUs", rv.Len(), sp.NumCPU)
	}
	stride := (int(sp.ValueSize) + 7) &^ 7
	out := make([]byte, s.UserValueSize())
	for i := range rv.Len() {
		b, err := marshal(fmt.Sprintf("value for CPU %d", i), rv.Index(i).Interface(), int(sp.ValueSize))
		if err != nil {
			return nil, err
		}
		copy(out[i*stride:], b)
	}
	return out, nil
}

// unmarshalValue decodes a user-format value; for per-CPU maps out may be
// *[]byte (the user format), or a pointer to a slice (made NumCPU long) or
// a slice of NumCPU values.
func unmarshalValue(s maps.Map, out any, v []byte) error {
	sp := s.Spec()
	if !sp.Type.PerCPU() {
		return unmarshal(out, v)
	}
	if _, ok := out.(*[]byte); ok {
		return unmarshal(out, v)
	}
	rv := reflect.ValueOf(out)
	if rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Slice {
		sl := rv.Elem()
		if sl.Len() != sp.NumCPU {
			sl.Set(reflect.MakeSlice(sl.Type(), sp.NumCPU, sp.NumCPU))
		}
		rv = sl
	} else if rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Array {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return errorf(unix.EINVAL, "per-CPU output %T must be a pointer to a slice", out)
	}
	if rv.Len() != sp.NumCPU {
		return errorf(unix.EINVAL, "per-CPU output has room for %d values, the map has %d CPUs", rv.Len(), sp.NumCPU)
	}
	stride := (int(sp.ValueSize) + 7) &^ 7
	for i := range rv.Len() {
		el := rv.Index(i)
		if el.Kind() == reflect.Slice && el.Type().Elem().Kind() == reflect.Uint8 {
			el.SetBytes(append([]byte(nil), v[i*stride:i*stride+int(sp.ValueSize)]...))
			continue
		}
		if err := unmarshal(el.Addr().Interface(), v[i*stride:i*stride+int(sp.ValueSize)]); err != nil {
			return err
		}
	}
	return nil
}
