//go:build linux

package maps

import (
	"fmt"
	"testing"
)

// createSpecs are map specs, good and bad, whose creation must give the
// same errno in gobee and in the kernel. (Specs the kernel accepts only by
// allocating gigabytes are left out: gobee refuses those with ENOMEM.)
var createSpecs = []Spec{
	{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1},
	{Type: Hash, KeySize: 513, ValueSize: 8, MaxEntries: 1},
	{Type: Hash, KeySize: 4, ValueSize: 4 << 20, MaxEntries: 1},
	{Type: Hash, KeySize: 4, ValueSize: 4<<20 - 48 - 5, MaxEntries: 1},
	{Type: Hash, KeySize: 4, ValueSize: 4<<20 - 48 - 4, MaxEntries: 1},
	{Type: Hash, KeySize: 0, ValueSize: 8, MaxEntries: 1},
	{Type: Hash, KeySize: 4, ValueSize: 0, MaxEntries: 1},
	{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 0},
	{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1<<28 + 1, Flags: FlagNoPrealloc},
	{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1 << 31},
	{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagNoCommonLRU},
	{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagNumaNode},
	{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagMmapable},
	{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: 1 << 20},
	{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagRdonlyProg | FlagWronlyProg},
	{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagRdonly | FlagWronly},
	{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagZeroSeed | FlagRdonlyProg},
	{Type: PerCPUHash, KeySize: 4, ValueSize: 32768, MaxEntries: 1},
	{Type: PerCPUHash, KeySize: 4, ValueSize: 32761, MaxEntries: 1},
	{Type: PerCPUHash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagNumaNode},
	{Type: LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagNoPrealloc},
	{Type: LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 3, Flags: FlagNoCommonLRU},
	{Type: LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagNoCommonLRU | FlagNumaNode},
	{Type: LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 0xffffffff, Flags: FlagNoCommonLRU},
	{Type: LRUPerCPUHash, KeySize: 4, ValueSize: 32769, MaxEntries: 1},
	{Type: LRUPerCPUHash, KeySize: 4, ValueSize: 8, MaxEntries: 0},
	{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 1},
	{Type: Array, KeySize: 8, ValueSize: 8, MaxEntries: 1},
	{Type: Array, KeySize: 4, ValueSize: 0, MaxEntries: 1},
	{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 0},
	{Type: Array, KeySize: 4, ValueSize: 1 << 31, MaxEntries: 1},
	{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 4, Flags: FlagMmapable},
	{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 4, Flags: FlagPreserveElems},
	{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 4, Flags: FlagNoPrealloc},
	{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagRdonly | FlagWronly},
	{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagRdonlyProg | FlagWronlyProg},
	{Type: PerCPUArray, KeySize: 4, ValueSize: 32768, MaxEntries: 1},
	{Type: PerCPUArray, KeySize: 4, ValueSize: 32769, MaxEntries: 1},
	{Type: PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagMmapable},
	{Type: PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagNumaNode},
	{Type: Unspec, KeySize: 4, ValueSize: 8, MaxEntries: 1},
	{Type: Type(99), KeySize: 4, ValueSize: 8, MaxEntries: 1},
	{Type: Type(99), KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagRdonly | FlagWronly},
	{Name: "abcdefghijklmno", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1},
	{Name: "abcdefghijklmnop", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1},
	{Name: "a-b", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1},
	{Name: "a.b_C9", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 1},
	{Name: "a-b", Type: Hash, KeySize: 0, ValueSize: 8, MaxEntries: 1},
}

func TestKernelCreate(t *testing.T) {
	ncpu := requireBPF(t)
	for _, s := range createSpecs {
		s.NumCPU = ncpu
		t.Run(fmt.Sprintf("%v/%d/%d/%d/%#x/%s", s.Type, s.KeySize, s.ValueSize, s.MaxEntries, s.Flags, s.Name), func(t *testing.T) {
			g, gerr := New(s)
			k, kerr := kcreate(s, ncpu)
			if kerr == nil {
				defer k.close()
			}
			if Errno(gerr) != Errno(kerr) {
				t.Fatalf("gobee %v, kernel %v", gerr, kerr)
			}
			if gerr == nil && s.Flags&FlagNoCommonLRU != 0 {
				want := (s.MaxEntries + uint32(ncpu) - 1) / uint32(ncpu) * uint32(ncpu)
				if got := g.Spec().MaxEntries; got != want {
					t.Fatalf("max_entries %d, want %d", got, want)
				}
			}
		})
	}
	fmt.Printf("maps: compared %d map creations against the kernel\n", len(createSpecs))
}
