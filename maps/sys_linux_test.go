//go:build linux

package maps

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gobee-dev/gobee/kernel"
)

// This file drives the kernel's maps through raw bpf() (package kernel's
// CreateMap and MapCmd) so that the differential tests see the kernel's
// exact errno values (cilium/ebpf translates some of them).

const (
	sysMapLookup          = kernel.CmdMapLookupElem
	sysMapUpdate          = kernel.CmdMapUpdateElem
	sysMapDelete          = kernel.CmdMapDeleteElem
	sysMapGetNextKey      = kernel.CmdMapGetNextKey
	sysMapLookupAndDelete = kernel.CmdMapLookupAndDeleteElem
	sysMapFreeze          = kernel.CmdMapFreeze
	sysMapLookupBatch     = kernel.CmdMapLookupBatch
	sysMapLookupDelBatch  = kernel.CmdMapLookupAndDeleteBatch
	sysMapUpdateBatch     = kernel.CmdMapUpdateBatch
	sysMapDeleteBatch     = kernel.CmdMapDeleteBatch
)

type sysElemAttr struct {
	fd    uint32
	_     uint32
	key   unsafe.Pointer
	value unsafe.Pointer
	flags uint64
}

type sysBatchAttr struct {
	inBatch, outBatch, keys, values unsafe.Pointer
	count, fd                       uint32
	elemFlags, flags                uint64
}

// kmap is a kernel map used as the oracle.
type kmap struct {
	fd                 int
	keySize, valueSize int // valueSize as the user API sees it
}

// nameBytes gives the raw name; names of 16 bytes or more are truncated
// without a NUL so the kernel sees exactly 16 bytes.
func nameBytes(s string) (b [16]byte) {
	copy(b[:], s)
	return b
}

func kcreate(s Spec, ncpu int) (*kmap, error) {
	fd, err := kernel.CreateMap(kernel.MapAttr{Type: uint32(s.Type), KeySize: s.KeySize, ValueSize: s.ValueSize,
		MaxEntries: s.MaxEntries, Flags: s.Flags, Name: nameBytes(s.Name), MapExtra: s.MapExtra})
	if err != nil {
		return nil, err
	}
	vs := int(s.ValueSize)
	if s.Type.PerCPU() {
		vs = roundUp8(vs) * ncpu
	}
	return &kmap{fd: fd, keySize: int(s.KeySize), valueSize: vs}, nil
}

func (k *kmap) close() { unix.Close(k.fd) }

func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func (k *kmap) elem(cmd uintptr, key, value []byte, flags uint64) error {
	attr := sysElemAttr{fd: uint32(k.fd), key: ptr(key), value: ptr(value), flags: flags}
	_, err := kernel.MapCmd(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	return err
}

func (k *kmap) lookup(key []byte) ([]byte, error) {
	v := make([]byte, k.valueSize)
	if err := k.elem(sysMapLookup, key, v, 0); err != nil {
		return nil, err
	}
	return v, nil
}

func (k *kmap) update(key, value []byte, flags uint64) error {
	return k.elem(sysMapUpdate, key, value, flags)
}

func (k *kmap) delete(key []byte) error { return k.elem(sysMapDelete, key, nil, 0) }

func (k *kmap) nextKey(key []byte) ([]byte, error) {
	next := make([]byte, k.keySize)
	if err := k.elem(sysMapGetNextKey, key, next, 0); err != nil {
		return nil, err
	}
	return next, nil
}

func (k *kmap) lookupAndDelete(key []byte) ([]byte, error) {
	v := make([]byte, k.valueSize)
	if err := k.elem(sysMapLookupAndDelete, key, v, 0); err != nil {
		return nil, err
	}
	return v, nil
}

func (k *kmap) freeze() error { return k.elem(sysMapFreeze, nil, nil, 0) }

// batch runs one batch command. cursorLen is the size of the batch cursor
// (4 for hash maps, key_size for the generic implementation).
func (k *kmap) batch(cmd uintptr, in []byte, cursorLen int, keys, values []byte, count int, elemFlags uint64) (n int, out []byte, err error) {
	out = make([]byte, cursorLen)
	attr := sysBatchAttr{inBatch: ptr(in), outBatch: ptr(out), keys: ptr(keys), values: ptr(values),
		count: uint32(count), fd: uint32(k.fd), elemFlags: elemFlags}
	_, err = kernel.MapCmd(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(in)
	runtime.KeepAlive(keys)
	runtime.KeepAlive(values)
	return int(attr.count), out, err
}
