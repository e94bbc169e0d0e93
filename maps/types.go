package maps

import "fmt"

// Type is a map type, numbered as the kernel's enum bpf_map_type.
type Type uint32

// Map types (enum bpf_map_type).
const (
	Unspec              Type = 0
	Hash                Type = 1
	Array               Type = 2
	ProgArray           Type = 3
	PerfEventArray      Type = 4
	PerCPUHash          Type = 5
	PerCPUArray         Type = 6
	StackTrace          Type = 7
	CgroupArray         Type = 8
	LRUHash             Type = 9
	LRUPerCPUHash       Type = 10
	LPMTrie             Type = 11
	ArrayOfMaps         Type = 12
	HashOfMaps          Type = 13
	DevMap              Type = 14
	SockMap             Type = 15
	CPUMap              Type = 16
	XSKMap              Type = 17
	SockHash            Type = 18
	CgroupStorage       Type = 19
	ReuseportSockArray  Type = 20
	PerCPUCgroupStorage Type = 21
	Queue               Type = 22
	Stack               Type = 23
	SkStorage           Type = 24
	DevMapHash          Type = 25
	StructOps           Type = 26
	RingBuf             Type = 27
	InodeStorage        Type = 28
	TaskStorage         Type = 29
	BloomFilter         Type = 30
	UserRingBuf         Type = 31
	CgrpStorage         Type = 32
	Arena               Type = 33
	maxType             Type = 34
)

var typeNames = [...]string{
	"unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash",
	"percpu_array", "stack_trace", "cgroup_array", "lru_hash", "lru_percpu_hash",
	"lpm_trie", "array_of_maps", "hash_of_maps", "devmap", "sockmap", "cpumap",
	"xskmap", "sockhash", "cgroup_storage", "reuseport_sockarray",
	"percpu_cgroup_storage", "queue", "stack", "sk_storage", "devmap_hash",
	"struct_ops", "ringbuf", "inode_storage", "task_storage", "bloom_filter",
	"user_ringbuf", "cgrp_storage", "arena",
}

// String returns the name bpftool uses for the type ("hash", "lru_percpu_hash").
func (t Type) String() string {
	if t < maxType {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// PerCPU reports whether the type keeps one value per CPU.
func (t Type) PerCPU() bool {
	switch t {
	case PerCPUHash, PerCPUArray, LRUPerCPUHash, PerCPUCgroupStorage:
		return true
	}
	return false
}

// Map creation flags (BPF_F_* for BPF_MAP_CREATE).
const (
	FlagNoPrealloc      = 1 << 0  // BPF_F_NO_PREALLOC
	FlagNoCommonLRU     = 1 << 1  // BPF_F_NO_COMMON_LRU
	FlagNumaNode        = 1 << 2  // BPF_F_NUMA_NODE
	FlagRdonly          = 1 << 3  // BPF_F_RDONLY: user space may only read
	FlagWronly          = 1 << 4  // BPF_F_WRONLY: user space may only write
	FlagStackBuildID    = 1 << 5  // BPF_F_STACK_BUILD_ID
	FlagZeroSeed        = 1 << 6  // BPF_F_ZERO_SEED: hash with seed 0 (deterministic order)
	FlagRdonlyProg      = 1 << 7  // BPF_F_RDONLY_PROG: programs may only read
	FlagWronlyProg      = 1 << 8  // BPF_F_WRONLY_PROG: programs may only write
	FlagClone           = 1 << 9  // BPF_F_CLONE
	FlagMmapable        = 1 << 10 // BPF_F_MMAPABLE
	FlagPreserveElems   = 1 << 11 // BPF_F_PRESERVE_ELEMS
	FlagInnerMap        = 1 << 12 // BPF_F_INNER_MAP
	FlagLink            = 1 << 13 // BPF_F_LINK
	FlagPathFD          = 1 << 14 // BPF_F_PATH_FD
	FlagVtypeBTFObjFD   = 1 << 15 // BPF_F_VTYPE_BTF_OBJ_FD
	FlagTokenFD         = 1 << 16 // BPF_F_TOKEN_FD
	FlagSegvOnFault     = 1 << 17 // BPF_F_SEGV_ON_FAULT
	FlagNoUserConv      = 1 << 18 // BPF_F_NO_USER_CONV
	flagAccessMask      = FlagRdonly | FlagWronly | FlagRdonlyProg | FlagWronlyProg
	hashCreateFlagMask  = FlagNoPrealloc | FlagNoCommonLRU | FlagNumaNode | flagAccessMask | FlagZeroSeed
	arrayCreateFlagMask = FlagNumaNode | FlagMmapable | flagAccessMask | FlagPreserveElems | FlagInnerMap
)

// Element update flags (the flags argument of Update and UpdateElem).
const (
	UpdateAny     = 0      // BPF_ANY: create or replace
	UpdateNoExist = 1      // BPF_NOEXIST: create only
	UpdateExist   = 2      // BPF_EXIST: replace only
	UpdateLock    = 1 << 2 // BPF_F_LOCK: take the value's bpf_spin_lock
)

func roundUp8(n int) int { return (n + 7) &^ 7 }
