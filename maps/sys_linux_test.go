//go:build linux

package maps

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file drives the kernel's maps through raw bpf() so that the
// differential tests see the kernel's exact errno values (cilium/ebpf
// translates some of them).

const (
	sysMapCreate          = 0
	sysMapLookup          = 1
	sysMapUpdate          = 2
	sysMapDelete          = 3
	sysMapGetNextKey      = 4
	sysMapLookupAndDelete = 21
	sysMapFreeze          = 22
	sysMapLookupBatch     = 24
	sysMapLookupDelBatch  = 25
	sysMapUpdateBatch     = 26
	sysMapDeleteBatch     = 27
)

type sysCreateAttr struct {
	mapType, keySize, valueSize, maxEntries, flags uint32
	innerFd, numaNode                              uint32
	name                                           [16]byte
	ifindex, btfFd, btfKey, btfValue, btfVmlinux   uint32
	extra                                          uint64 // map_extra, at offset 64
}

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

func sysBPF(cmd uintptr, attr unsafe.Pointer, size uintptr) (int, error) {
	for {
		r, _, errno := unix.Syscall(unix.SYS_BPF, cmd, uintptr(attr), size)
		runtime.KeepAlive(attr)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(r), nil
	}
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
	attr := sysCreateAttr{mapType: uint32(s.Type), keySize: s.KeySize, valueSize: s.ValueSize,
		maxEntries: s.MaxEntries, flags: s.Flags, name: nameBytes(s.Name), extra: s.MapExtra}
	fd, err := sysBPF(sysMapCreate, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
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
	_, err := sysBPF(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
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
	_, err = sysBPF(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(in)
	runtime.KeepAlive(keys)
	runtime.KeepAlive(values)
	return int(attr.count), out, err
}
