package maps

import (
	"sync"
	"unsafe"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// Handles: a program refers to a map by the 64-bit value an lddw loaded
// (the loader's relocation of a map fd, like the kernel's
// resolve_pseudo_ldimm64). gobee's handle is the address of the map's Go
// object, so it looks like a kernel pointer; the registry keeps every
// registered map alive and resolves handles back to maps.

var registry sync.Map // uint64 → *object

// Handle registers m (once) and returns its handle. It returns 0 for a Map
// that this package did not create.
func Handle(m Map) uint64 {
	o, ok := m.(*object)
	if !ok || o == nil {
		return 0
	}
	h := uint64(uintptr(unsafe.Pointer(o)))
	registry.LoadOrStore(h, o)
	return h
}

// FromHandle returns the map a handle refers to.
func FromHandle(h uint64) (Map, bool) {
	o, ok := lookupHandle(h)
	return o, ok
}

// Release unregisters m: its handle stops resolving and the registry no
// longer keeps it alive. Runs in flight must be over (programs that hold
// the handle would fail). The map's timers are cancelled and freed (a
// callback that is running is waited for, so none runs after Release
// returns); it must not be called from one of the map's timer callbacks.
func Release(m Map) {
	if h := Handle(m); h != 0 {
		registry.Delete(h)
		freeTimers(m.(*object))
	}
}

func lookupHandle(h uint64) (*object, bool) {
	v, ok := registry.Load(h)
	if !ok {
		return nil, false
	}
	return v.(*object), true
}

// errnoRet turns an error into a helper's return value: -errno.
func errnoRet(err error) uint64 {
	if err == nil {
		return 0
	}
	e := Errno(err)
	if e == 0 {
		e = unix.EINVAL
	}
	return uint64(-int64(e))
}
