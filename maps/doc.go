// Package maps implements eBPF maps with the kernel's semantics: the
// types, creation checks, flags, errno values, iteration order and batch
// behaviour of Linux's kernel/bpf/hashtab.c, arraymap.c,
// queue_stack_maps.c, bloom_filter.c and lpm_trie.c.
//
// Implemented: HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH (with and
// without BPF_F_NO_COMMON_LRU), ARRAY, PERCPU_ARRAY, QUEUE, STACK,
// BLOOM_FILTER and LPM_TRIE. The maps without keys (QUEUE, STACK,
// BLOOM_FILTER) have Push, Pop and Peek besides the keyed operations with a
// nil key.
//
// A Map has a user-space face (the bpf() commands: Lookup, Update, Delete,
// NextKey, LookupAndDelete, the batch commands, Freeze) and a program face
// (LookupElem, UpdateElem, DeleteElem, PushElem, PopElem, PeekElem) that
// the helpers in helpers.go
// expose to the interpreter through map handles (Handle).
//
// Memory: element storage is allocated on insert and never reused, so a
// value pointer a program got from bpf_map_lookup_elem stays valid (and is
// kept alive by the run's grant) after the element is deleted or evicted.
// Live values are updated in place, as in the kernel. Array storage is
// fixed and 8-byte aligned per element.
//
// Differences from the kernel, by design: gobee refuses preallocations
// above 4 GiB with ENOMEM (the kernel would try), hash maps do not
// preallocate elements, LRU eviction picks its victim with a clock
// algorithm (see lru.go for the invariants), user-space operations run as
// virtual CPU 0, and BPF_F_LOCK is always EINVAL (no BTF, so no
// bpf_spin_lock in values, which is the kernel's answer for such maps).
package maps
