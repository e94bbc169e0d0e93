package kernel

import "unsafe"

// Raw map API: bpf() map commands issued as they are, for callers (maps'
// differential tests) that must see the kernel's exact errno. cilium/ebpf
// translates some errnos; these functions do not, and unlike the program
// functions of this package they retry only on EINTR (never on EAGAIN,
// which map commands return as a result, e.g. for a full queue or an
// update racing a bucket lock).

// bpf() map and object commands (enum bpf_cmd) for MapCmd.
const (
	CmdMapCreate               = 0
	CmdMapLookupElem           = 1
	CmdMapUpdateElem           = 2
	CmdMapDeleteElem           = 3
	CmdMapGetNextKey           = 4
	CmdObjGetInfoByFD          = 15
	CmdMapLookupAndDeleteElem  = 21
	CmdMapFreeze               = 22
	CmdMapLookupBatch          = 24
	CmdMapLookupAndDeleteBatch = 25
	CmdMapUpdateBatch          = 26
	CmdMapDeleteBatch          = 27
)

// MapAttr is the BPF_MAP_CREATE part of union bpf_attr, up to map_extra
// (72 bytes); the kernel zero-fills the fields after it.
type MapAttr struct {
	Type, KeySize, ValueSize, MaxEntries, Flags uint32
	InnerMapFD, NumaNode                        uint32
	// Name is map_name: at most 16 bytes, NUL-terminated when shorter.
	Name                                                                [16]byte
	Ifindex, BTFFD, BTFKeyTypeID, BTFValueTypeID, BTFVmlinuxValueTypeID uint32
	// MapExtra is map_extra (at offset 64): the bloom filter's hash
	// count, for example.
	MapExtra uint64
}

// CreateMap runs BPF_MAP_CREATE with attr and returns the new map's file
// descriptor, which the caller closes. An error is the kernel's bare
// errno (a unix.Errno), or ErrNotSupported off Linux.
func CreateMap(attr MapAttr) (int, error) {
	return MapCmd(CmdMapCreate, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
}

// MapCmd issues bpf(cmd, attr, size) once, again only when interrupted
// (EINTR), and returns its result (a file descriptor for commands that
// create one, else 0). attr points to the command's part of union
// bpf_attr, size bytes long; the kernel may write results back into it
// (a batch's count). The caller keeps the memory attr's pointers refer to
// alive (runtime.KeepAlive) until MapCmd returns. An error is the kernel's
// bare errno (a unix.Errno), or ErrNotSupported off Linux.
func MapCmd(cmd uintptr, attr unsafe.Pointer, size uintptr) (int, error) {
	return mapCmd(cmd, attr, size)
}

// The kernel takes the attribute's size from the caller: keep it 72.
var _ [72]byte = [unsafe.Sizeof(MapAttr{})]byte{}
