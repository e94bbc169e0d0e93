package maps

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// loadWords copies len(dst) bytes of src with 8-byte atomic loads, so a
// lock-free reader (array lookups, like the kernel's) never races a
// writer that uses storeWords. src must be 8-byte aligned and at least
// len(dst) rounded up to 8 bytes long, as array values are.
func loadWords(dst, src []byte) {
	for i := 0; i < len(dst); i += 8 {
		w := atomic.LoadUint64((*uint64)(unsafe.Pointer(&src[i])))
		if len(dst)-i >= 8 {
			binary.NativeEndian.PutUint64(dst[i:], w)
			continue
		}
		var b [8]byte
		binary.NativeEndian.PutUint64(b[:], w)
		copy(dst[i:], b[:])
	}
}

// storeWords copies src into dst with 8-byte atomic stores. The bytes of
// dst's last word beyond len(src) are kept (read, merged, stored): callers
// serialise writers, so the read-modify-write cannot lose another write.
// dst must be 8-byte aligned and at least len(src) rounded up to 8 long.
func storeWords(dst, src []byte) {
	for i := 0; i < len(src); i += 8 {
		p := (*uint64)(unsafe.Pointer(&dst[i]))
		if len(src)-i >= 8 {
			atomic.StoreUint64(p, binary.NativeEndian.Uint64(src[i:]))
			continue
		}
		var b [8]byte
		binary.NativeEndian.PutUint64(b[:], atomic.LoadUint64(p))
		copy(b[:], src[i:])
		atomic.StoreUint64(p, binary.NativeEndian.Uint64(b[:]))
	}
}

// aligned8 reports whether b starts on an 8-byte boundary.
func aligned8(b []byte) bool {
	return len(b) == 0 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%8 == 0
}
