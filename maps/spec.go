package maps

import (
	"runtime"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// Spec describes a map to create, as the BPF_MAP_CREATE attributes do.
type Spec struct {
	// Name is at most 15 characters: letters, digits, '_' and '.'.
	Name string
	Type Type
	// KeySize and ValueSize are in bytes. ValueSize is one CPU's value for
	// per-CPU maps.
	KeySize, ValueSize uint32
	MaxEntries         uint32
	// Flags are the BPF_F_* creation flags (Flag* constants). With
	// FlagNumaNode the map is placed on NUMA node 0, the only node gobee has.
	Flags uint32
	// MapExtra is map_extra: for BLOOM_FILTER the number of hash
	// functions in its low 4 bits (0 means 5); it must be 0 for the
	// other types gobee implements.
	MapExtra uint64
	// NumCPU is the number of virtual CPUs: per-CPU maps keep one value per
	// CPU and LRU maps with FlagNoCommonLRU one list per CPU. 0 means
	// runtime.GOMAXPROCS(0).
	NumCPU int
	// InnerMap is the inner map template of ARRAY_OF_MAPS and HASH_OF_MAPS
	// (the kernel's inner_map_fd): maps stored in the outer map must have
	// its type, key and value sizes and flags (and, for arrays without
	// BPF_F_INNER_MAP, its max_entries). Ignored by the other types.
	InnerMap *Spec
	// Fields are the special fields of the value that its BTF declares
	// (the kernel's btf_record): a struct bpf_spin_lock and a struct
	// bpf_timer, at most one of each. User-space copies never touch them
	// and BPF_F_LOCK needs the spin lock (see lock.go). Entries of kind
	// 0 are unused; the zero value has none.
	Fields [MaxFields]Field
}

// Limits of the kernel (x86-64, 4 KiB pages).
const (
	// kmallocMaxSize is KMALLOC_MAX_SIZE: an element must fit one kmalloc.
	kmallocMaxSize = 4 << 20
	// htabElemSize is sizeof(struct htab_elem), the per-element header.
	htabElemSize = 48
	// pcpuMinUnitSize is PCPU_MIN_UNIT_SIZE, the limit of a per-CPU value.
	pcpuMinUnitSize = 32 << 10
	// maxBuckets is U32_MAX / sizeof(struct bucket): more buckets is E2BIG.
	maxBuckets = 1 << 28
	// objNameLen is BPF_OBJ_NAME_LEN, including the terminating NUL.
	objNameLen = 16
	// maxNumCPU bounds Spec.NumCPU.
	maxNumCPU = 1 << 12
	// maxPrealloc bounds the storage gobee allocates up front (arrays).
	// The kernel would try vmalloc; gobee refuses with ENOMEM instead.
	maxPrealloc = 1 << 32
)

// typeRule is the kernel's per-type behaviour: which creation check runs
// (the ops' map_alloc_check) and how the map is built.
type typeRule struct {
	check func(s *Spec) error
	alloc func(o *object) (core, error)
	// hashBatch: the type has htab's batch ops (lookup_and_delete and
	// delete batches); the others have only the generic lookup and update
	// batches, and the rest is ENOTSUPP.
	hashBatch bool
	// deleteBatch: the type has generic_map_delete_batch (LPM_TRIE).
	deleteBatch bool
	// noBatch: the type has no batch ops at all (QUEUE, STACK,
	// BLOOM_FILTER): every batch command is ENOTSUPP.
	noBatch bool
}

// rules lists the map types gobee implements.
var rules = map[Type]typeRule{
	Hash:          {check: htabAllocCheck, alloc: newHashCore, hashBatch: true},
	PerCPUHash:    {check: htabAllocCheck, alloc: newHashCore, hashBatch: true},
	LRUHash:       {check: htabAllocCheck, alloc: newHashCore, hashBatch: true},
	LRUPerCPUHash: {check: htabAllocCheck, alloc: newHashCore, hashBatch: true},
	Array:         {check: arrayAllocCheck, alloc: newArrayCore},
	PerCPUArray:   {check: arrayAllocCheck, alloc: newArrayCore},
	Queue:         {check: queueAllocCheck, alloc: newQueueCore, noBatch: true},
	Stack:         {check: queueAllocCheck, alloc: newQueueCore, noBatch: true},
	BloomFilter:   {check: bloomAllocCheck, alloc: newBloomCore, noBatch: true},
	LPMTrie:       {check: lpmAllocCheck, alloc: newLPMCore, deleteBatch: true},
	ProgArray:     {check: fdArrayAllocCheck, alloc: newProgArrayCore, noBatch: true},
	ArrayOfMaps:   {check: fdArrayAllocCheck, alloc: newArrayOfMapsCore},
	HashOfMaps:    {check: fdHtabAllocCheck, alloc: newHashOfMapsCore, hashBatch: true},
}

// New creates a map. It validates the spec as the kernel's map_create and
// the type's map_alloc_check do, with the same errno (EINVAL, E2BIG,
// ENOTSUPP), and returns an *Error saying what is wrong.
func New(spec Spec) (Map, error) {
	s := spec
	// map_create refuses map_extra for the types without one before it
	// looks at anything else.
	if s.MapExtra != 0 && s.Type != BloomFilter && s.Type != Arena {
		return nil, errorf(unix.EINVAL, "map_extra %#x is only for bloom filters and arenas", s.MapExtra)
	}
	if s.Flags&FlagRdonly != 0 && s.Flags&FlagWronly != 0 {
		return nil, errorf(unix.EINVAL, "BPF_F_RDONLY and BPF_F_WRONLY together")
	}
	if s.Type == Unspec || s.Type >= maxType {
		return nil, errorf(unix.EINVAL, "unknown map type %d", uint32(s.Type))
	}
	rule, ok := rules[s.Type]
	if !ok {
		return nil, errorf(ENOTSUPP, "map type %v is not implemented by gobee", s.Type)
	}
	if s.NumCPU == 0 {
		s.NumCPU = runtime.GOMAXPROCS(0)
	}
	if s.NumCPU < 0 || s.NumCPU > maxNumCPU {
		return nil, errorf(unix.EINVAL, "NumCPU %d out of range [1, %d]", s.NumCPU, maxNumCPU)
	}
	if err := rule.check(&s); err != nil {
		return nil, err
	}
	o := &object{spec: s, rule: rule}
	o.keySize = int(s.KeySize)
	o.valueSize = int(s.ValueSize)
	o.stride = roundUp8(o.valueSize)
	o.ncpu = s.NumCPU
	o.userValueSize = o.valueSize
	if s.Type.PerCPU() {
		o.userValueSize = o.stride * o.ncpu
	}
	c, err := rule.alloc(o)
	if err != nil {
		return nil, err
	}
	o.core = c
	// The kernel copies the name after allocating, so allocation errors
	// win over a bad name.
	if err := checkName(s.Name); err != nil {
		return nil, err
	}
	// map_check_btf runs last, on the allocated map.
	if err := checkFields(&s); err != nil {
		return nil, err
	}
	o.special = newSpecial(&s)
	return o, nil
}

// checkName is bpf_obj_name_cpy: at most 15 characters of [A-Za-z0-9_.].
func checkName(name string) error {
	if len(name) >= objNameLen {
		return errorf(unix.EINVAL, "name %q longer than %d characters", name, objNameLen-1)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return errorf(unix.EINVAL, "name %q: character %q not allowed (letters, digits, '_' and '.')", name, c)
		}
	}
	return nil
}

// accessFlagsOK is bpf_map_flags_access_ok.
func accessFlagsOK(flags uint32) bool {
	return flags&(FlagRdonlyProg|FlagWronlyProg) != FlagRdonlyProg|FlagWronlyProg
}

// htabAllocCheck is the kernel's htab_map_alloc_check, followed by the
// size checks of htab_map_alloc. It rounds MaxEntries up to a multiple of
// NumCPU for per-CPU LRU lists, as the kernel does.
func htabAllocCheck(s *Spec) error {
	percpu := s.Type == PerCPUHash || s.Type == LRUPerCPUHash
	lru := s.Type == LRUHash || s.Type == LRUPerCPUHash
	percpuLRU := s.Flags&FlagNoCommonLRU != 0
	prealloc := s.Flags&FlagNoPrealloc == 0
	numa := s.Flags&FlagNumaNode != 0
	switch {
	case s.Flags&^hashCreateFlagMask != 0:
		return errorf(unix.EINVAL, "flags %#x not valid for %v", s.Flags&^hashCreateFlagMask, s.Type)
	case !accessFlagsOK(s.Flags):
		return errorf(unix.EINVAL, "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together")
	case !lru && percpuLRU:
		return errorf(unix.EINVAL, "BPF_F_NO_COMMON_LRU on a map that is not LRU")
	case lru && !prealloc:
		return errorf(ENOTSUPP, "BPF_F_NO_PREALLOC on an LRU map")
	case numa && (percpu || percpuLRU):
		return errorf(unix.EINVAL, "BPF_F_NUMA_NODE on a per-CPU map")
	case s.MaxEntries == 0:
		return errorf(unix.EINVAL, "max_entries is 0")
	case s.KeySize == 0:
		return errorf(unix.EINVAL, "key_size is 0")
	case s.ValueSize == 0:
		return errorf(unix.EINVAL, "value_size is 0")
	case uint64(s.KeySize)+uint64(s.ValueSize) >= kmallocMaxSize-htabElemSize:
		return errorf(unix.E2BIG, "key_size + value_size %d too large (limit %d)",
			uint64(s.KeySize)+uint64(s.ValueSize), kmallocMaxSize-htabElemSize-1)
	case percpu && roundUp8(int(s.ValueSize)) > pcpuMinUnitSize:
		return errorf(unix.E2BIG, "per-CPU value_size %d too large (limit %d)", s.ValueSize, pcpuMinUnitSize)
	}
	if percpuLRU {
		// Each CPU gets an equal share of the elements.
		n := uint64(s.NumCPU)
		me := (uint64(s.MaxEntries) + n - 1) / n * n
		if me > 1<<32-1 {
			me = uint64(s.MaxEntries) / n * n
		}
		s.MaxEntries = uint32(me)
	}
	if s.MaxEntries > maxBuckets {
		return errorf(unix.E2BIG, "max_entries %d too large for a hash table (limit %d)", s.MaxEntries, maxBuckets)
	}
	return nil
}

// arrayAllocCheck is the kernel's array_map_alloc_check.
func arrayAllocCheck(s *Spec) error {
	percpu := s.Type == PerCPUArray
	switch {
	case s.MaxEntries == 0:
		return errorf(unix.EINVAL, "max_entries is 0")
	case s.KeySize != 4:
		return errorf(unix.EINVAL, "key_size %d: array keys are 4 bytes", s.KeySize)
	case s.ValueSize == 0:
		return errorf(unix.EINVAL, "value_size is 0")
	case s.Flags&^arrayCreateFlagMask != 0:
		return errorf(unix.EINVAL, "flags %#x not valid for %v", s.Flags&^arrayCreateFlagMask, s.Type)
	case !accessFlagsOK(s.Flags):
		return errorf(unix.EINVAL, "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together")
	case percpu && s.Flags&FlagNumaNode != 0:
		return errorf(unix.EINVAL, "BPF_F_NUMA_NODE on a per-CPU map")
	case s.Type != Array && s.Flags&(FlagMmapable|FlagInnerMap) != 0:
		return errorf(unix.EINVAL, "BPF_F_MMAPABLE and BPF_F_INNER_MAP are for array maps only")
	case s.Type != PerfEventArray && s.Flags&FlagPreserveElems != 0:
		return errorf(unix.EINVAL, "BPF_F_PRESERVE_ELEMS is for perf event arrays only")
	case s.ValueSize > 1<<31-1:
		return errorf(unix.E2BIG, "value_size %d too large", s.ValueSize)
	case percpu && roundUp8(int(s.ValueSize)) > pcpuMinUnitSize:
		return errorf(unix.E2BIG, "per-CPU value_size %d too large (limit %d)", s.ValueSize, pcpuMinUnitSize)
	}
	return nil
}
