// Package kfuncs is gobee's table of kernel functions (kfuncs): the
// functions a program calls with BPF_CALL src=BPF_PSEUDO_KFUNC_CALL,
// declared in C as `extern ... __ksym` functions.
//
// In the kernel a kfunc is identified by the BTF id of its FUNC type in
// vmlinux (or a module) and registered for program types in id sets
// (register_btf_kfunc_id_set). gobee has no vmlinux BTF to number them, so
// each kfunc gobee implements has a stable id of its own in the range
// IDBase..IDBase+0xffff (see the ID constants): the loader resolves a
// program's kfunc externs by name against this table and rewrites each
// call's imm to gobee's id (off = 0), and interp.Options.Kfuncs maps the
// ids to the implementations.
//
// Which program types may call a kfunc follows the kernel's id sets:
// the common set (kernel/bpf/helpers.c, registered for BPF_PROG_TYPE_UNSPEC,
// i.e. every type), the skb set (net/core/filter.c: sched_cls, sched_act,
// sk_skb, socket_filter, cgroup_skb, lwt_*, netfilter, tracing) and the xdp
// set (xdp).
package kfuncs

import (
	"sort"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/progtype"
)

// Flags are the kernel's KF_* kfunc flags (include/linux/btf.h).
type Flags uint32

// The KF_* flags, with the kernel's values.
const (
	Acquire      Flags = 1 << 0  // KF_ACQUIRE: returns a reference
	Release      Flags = 1 << 1  // KF_RELEASE: releases a reference
	RetNull      Flags = 1 << 2  // KF_RET_NULL: the returned pointer may be NULL
	TrustedArgs  Flags = 1 << 4  // KF_TRUSTED_ARGS
	Sleepable    Flags = 1 << 5  // KF_SLEEPABLE
	Destructive  Flags = 1 << 6  // KF_DESTRUCTIVE
	RCU          Flags = 1 << 7  // KF_RCU
	IterNew      Flags = 1 << 8  // KF_ITER_NEW: constructor of an open-coded iterator
	IterNext     Flags = 1 << 9  // KF_ITER_NEXT: its next method
	IterDestroy  Flags = 1 << 10 // KF_ITER_DESTROY: its destructor
	RCUProtected Flags = 1 << 11 // KF_RCU_PROTECTED
	FastCall     Flags = 1 << 12 // KF_FASTCALL
)

var flagNames = []string{"KF_ACQUIRE", "KF_RELEASE", "KF_RET_NULL", "", "KF_TRUSTED_ARGS", "KF_SLEEPABLE",
	"KF_DESTRUCTIVE", "KF_RCU", "KF_ITER_NEW", "KF_ITER_NEXT", "KF_ITER_DESTROY", "KF_RCU_PROTECTED", "KF_FASTCALL"}

// String lists the flags as "KF_A|KF_B" ("0" for none).
func (f Flags) String() string {
	s := ""
	for i, n := range flagNames {
		if n != "" && f&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	if s == "" {
		return "0"
	}
	return s
}

// Set is a kernel kfunc id set: the program types it is registered for.
type Set int

// The id sets gobee's kfuncs belong to.
const (
	// Common is the kernel's common_kfunc_set, registered for
	// BPF_PROG_TYPE_UNSPEC: every program type may call it.
	Common Set = iota
	// SKB is net/core/filter.c's bpf_kfunc_set_skb.
	SKB
	// XDP is net/core/filter.c's bpf_kfunc_set_xdp.
	XDP
)

func (s Set) String() string {
	switch s {
	case Common:
		return "common"
	case SKB:
		return "skb"
	case XDP:
		return "xdp"
	}
	return "unknown"
}

// skbTypes are the types bpf_kfunc_set_skb is registered for (Linux 6.18).
var skbTypes = map[progtype.Type]bool{
	progtype.SchedCLS: true, progtype.SchedACT: true, progtype.SKSKB: true, progtype.SocketFilter: true,
	progtype.CGroupSKB: true, progtype.LWTOut: true, progtype.LWTIn: true, progtype.LWTXmit: true,
	progtype.LWTSeg6Local: true, progtype.Netfilter: true, progtype.Tracing: true,
}

// Allows reports whether programs of type t may call kfuncs of set s.
func (s Set) Allows(t progtype.Type) bool {
	switch s {
	case Common:
		return true
	case SKB:
		return skbTypes[t]
	case XDP:
		return t == progtype.XDP
	}
	return false
}

// IDBase is the first of gobee's kfunc ids. The ids are gobee's own (not
// vmlinux BTF ids, which change with every kernel build) and stable: a
// kfunc keeps its id across gobee versions.
const IDBase = 0x6b660000

// gobee's kfunc ids.
const (
	IDIterNumNew      int32 = IDBase + 1
	IDIterNumNext     int32 = IDBase + 2
	IDIterNumDestroy  int32 = IDBase + 3
	IDRCUReadLock     int32 = IDBase + 4
	IDRCUReadUnlock   int32 = IDBase + 5
	IDDynptrFromSKB   int32 = IDBase + 6
	IDDynptrFromXDP   int32 = IDBase + 7
	IDDynptrSlice     int32 = IDBase + 8
	IDDynptrSliceRdwr int32 = IDBase + 9
	IDDynptrSize      int32 = IDBase + 10
	IDDynptrIsNull    int32 = IDBase + 11
	IDDynptrIsRdonly  int32 = IDBase + 12
	IDDynptrAdjust    int32 = IDBase + 13
)

// Kfunc is one kfunc gobee implements.
type Kfunc struct {
	Name  string
	ID    int32
	Flags Flags
	Set   Set
	// Proto is the C prototype, for documentation and `gobee feature`.
	Proto string
	// Doc says what the kfunc does under gobee.
	Doc string
	Fn  interp.HelperFunc
}

// Allows reports whether a program of type t may call k.
func (k *Kfunc) Allows(t progtype.Type) bool { return k.Set.Allows(t) }

var table = []*Kfunc{
	{Name: "bpf_iter_num_new", ID: IDIterNumNew, Flags: IterNew, Set: Common,
		Proto: "int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end)",
		Doc:   "initialises the 8-byte iterator on the program's stack to yield start..end-1; -EINVAL if start > end, -E2BIG if the range exceeds BPF_MAX_LOOPS (8M) (the iterator is then empty)",
		Fn:    iterNumNew},
	{Name: "bpf_iter_num_next", ID: IDIterNumNext, Flags: IterNext | RetNull, Set: Common,
		Proto: "int *bpf_iter_num_next(struct bpf_iter_num *it)",
		Doc:   "advances the iterator and returns a pointer to the current int inside the iterator's stack slot, or NULL when exhausted",
		Fn:    iterNumNext},
	{Name: "bpf_iter_num_destroy", ID: IDIterNumDestroy, Flags: IterDestroy, Set: Common,
		Proto: "void bpf_iter_num_destroy(struct bpf_iter_num *it)",
		Doc:   "zeroes the iterator",
		Fn:    iterNumDestroy},
	{Name: "bpf_rcu_read_lock", ID: IDRCUReadLock, Set: Common,
		Proto: "void bpf_rcu_read_lock(void)",
		Doc:   "enters an RCU read-side section: a no-op under gobee (memory a run can reach is never reused while the run holds it), counting the run's nesting depth (Linux 6.18's verifier refuses nested sections at load time; gobee cannot see them then and allows them)",
		Fn:    rcuReadLock},
	{Name: "bpf_rcu_read_unlock", ID: IDRCUReadUnlock, Set: Common,
		Proto: "void bpf_rcu_read_unlock(void)",
		Doc:   "leaves an RCU read-side section (an unmatched unlock, which the verifier refuses, is ignored)",
		Fn:    rcuReadUnlock},
	{Name: "bpf_dynptr_from_skb", ID: IDDynptrFromSKB, Set: SKB,
		Proto: "int bpf_dynptr_from_skb(struct __sk_buff *skb, u64 flags, struct bpf_dynptr *ptr__uninit)",
		Doc:   "makes the 16-byte dynptr on the stack refer to the run's skb (offset 0, size skb->len); flags must be 0 (-EINVAL, null dynptr)",
		Fn:    dynptrFromSKB},
	{Name: "bpf_dynptr_from_xdp", ID: IDDynptrFromXDP, Set: XDP,
		Proto: "int bpf_dynptr_from_xdp(struct xdp_md *xdp, u64 flags, struct bpf_dynptr *ptr__uninit)",
		Doc:   "makes the dynptr refer to the run's XDP frame (size: linear part and fragments); flags must be 0",
		Fn:    dynptrFromXDP},
	{Name: "bpf_dynptr_slice", ID: IDDynptrSlice, Flags: 0, Set: Common,
		Proto: "void *bpf_dynptr_slice(const struct bpf_dynptr *p, u32 offset, void *buffer__opt, u32 buffer__szk)",
		Doc:   "returns a pointer to buffer__szk bytes at offset: into the packet if they are in its linear part, else copied into buffer__opt (NULL without one); NULL if out of range",
		Fn:    dynptrSlice},
	{Name: "bpf_dynptr_slice_rdwr", ID: IDDynptrSliceRdwr, Set: Common,
		Proto: "void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, u32 offset, void *buffer__opt, u32 buffer__szk)",
		Doc:   "as bpf_dynptr_slice for a writable dynptr (NULL for a read-only one); writes through a slice of the linear packet change the packet",
		Fn:    dynptrSliceRdwr},
	{Name: "bpf_dynptr_size", ID: IDDynptrSize, Set: Common,
		Proto: "u32 bpf_dynptr_size(const struct bpf_dynptr *p)",
		Doc:   "the dynptr's size (0 for a null dynptr)",
		Fn:    dynptrSizeFn},
	{Name: "bpf_dynptr_is_null", ID: IDDynptrIsNull, Set: Common,
		Proto: "bool bpf_dynptr_is_null(const struct bpf_dynptr *p)",
		Doc:   "whether the dynptr is null (its constructor failed)",
		Fn:    dynptrIsNull},
	{Name: "bpf_dynptr_is_rdonly", ID: IDDynptrIsRdonly, Set: Common,
		Proto: "bool bpf_dynptr_is_rdonly(const struct bpf_dynptr *p)",
		Doc:   "whether the dynptr is read-only (false for a null dynptr)",
		Fn:    dynptrIsRdonly},
	{Name: "bpf_dynptr_adjust", ID: IDDynptrAdjust, Set: Common,
		Proto: "int bpf_dynptr_adjust(const struct bpf_dynptr *p, u32 start, u32 end)",
		Doc:   "narrows the dynptr to [start, end) of its current view; -ERANGE if start or end is beyond its size, -EINVAL if start > end",
		Fn:    dynptrAdjust},
}

var (
	byName = map[string]*Kfunc{}
	byID   = map[int32]*Kfunc{}
)

func init() {
	for _, k := range table {
		if byName[k.Name] != nil || byID[k.ID] != nil {
			panic("kfuncs: duplicate " + k.Name)
		}
		byName[k.Name], byID[k.ID] = k, k
	}
}

// All returns gobee's kfuncs ordered by id.
func All() []*Kfunc {
	out := append([]*Kfunc(nil), table...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ByName returns the kfunc named name, or nil.
func ByName(name string) *Kfunc { return byName[name] }

// ByID returns the kfunc with gobee id id, or nil.
func ByID(id int32) *Kfunc { return byID[id] }

// ForType returns the kfuncs a program of type t may call, ordered by id.
func ForType(t progtype.Type) []*Kfunc {
	var out []*Kfunc
	for _, k := range All() {
		if k.Allows(t) {
			out = append(out, k)
		}
	}
	return out
}

// Table returns the implementations of the kfuncs a program of type t
// may call, keyed by id: interp.Options.Kfuncs.
func Table(t progtype.Type) map[int32]interp.HelperFunc {
	m := map[int32]interp.HelperFunc{}
	for _, k := range table {
		if k.Allows(t) {
			m[k.ID] = k.Fn
		}
	}
	return m
}
