package maps

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
)

func interpAddr(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// counterProgram looks key 1 up in the map (handle h); if present it adds 1
// to the 64-bit value through the returned pointer and returns the new
// value, else it inserts 100 with bpf_map_update_elem and returns its
// result. Then it deletes key 2 and ignores the result.
func counterProgram(h uint64) isa.Instructions {
	return isa.Instructions{
		{Op: 0x62, Dst: isa.R10, Off: -4, Imm: 1},    // *(u32 *)(r10-4) = 1
		{Op: 0x7a, Dst: isa.R10, Off: -16, Imm: 100}, // *(u64 *)(r10-16) = 100
		{Op: isa.OpcodeLDDW, Dst: isa.R1, Imm: int64(h)},
		{Op: 0xbf, Dst: isa.R2, Src: isa.R10}, // r2 = r10
		{Op: 0x07, Dst: isa.R2, Imm: -4},      // r2 += -4
		{Op: 0x85, Imm: HelperMapLookupElem},
		{Op: 0x15, Dst: isa.R0, Off: 4},                  // if r0 == 0 goto insert
		{Op: 0x79, Dst: isa.R6, Src: isa.R0},             // r6 = *(u64 *)r0
		{Op: 0x07, Dst: isa.R6, Imm: 1},                  // r6 += 1
		{Op: 0x7b, Dst: isa.R0, Src: isa.R6},             // *(u64 *)r0 = r6
		{Op: 0x05, Off: 9},                               // goto del
		{Op: isa.OpcodeLDDW, Dst: isa.R1, Imm: int64(h)}, // insert:
		{Op: 0xbf, Dst: isa.R2, Src: isa.R10},
		{Op: 0x07, Dst: isa.R2, Imm: -4},
		{Op: 0xbf, Dst: isa.R3, Src: isa.R10},
		{Op: 0x07, Dst: isa.R3, Imm: -16},
		{Op: 0xb7, Dst: isa.R4, Imm: UpdateNoExist},
		{Op: 0x85, Imm: HelperMapUpdateElem},
		{Op: 0xbf, Dst: isa.R6, Src: isa.R0},      // r6 = r0
		{Op: 0x62, Dst: isa.R10, Off: -4, Imm: 2}, // del: key = 2
		{Op: isa.OpcodeLDDW, Dst: isa.R1, Imm: int64(h)},
		{Op: 0xbf, Dst: isa.R2, Src: isa.R10},
		{Op: 0x07, Dst: isa.R2, Imm: -4},
		{Op: 0x85, Imm: HelperMapDeleteElem},
		{Op: 0xbf, Dst: isa.R0, Src: isa.R6},
		{Op: 0x95},
	}
}

func TestHelpers(t *testing.T) {
	for _, typ := range []Type{Hash, LRUHash, PerCPUHash, Array, PerCPUArray} {
		m := mustNew(t, Spec{Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 4, NumCPU: 2})
		h := Handle(m)
		defer Release(m)
		if got, ok := FromHandle(h); !ok || got != m {
			t.Fatal("handle does not resolve")
		}
		p, err := interp.Load(counterProgram(h), &interp.Options{Helpers: Helpers()})
		if err != nil {
			t.Fatal(err)
		}
		// Hash maps: the first run inserts 100 (r0 = 0), later runs
		// increment it and return the new value. Arrays: the element
		// exists from the start, as zero.
		want, final := []uint64{0, 101, 102}, uint64(102)
		if typ == Array || typ == PerCPUArray {
			want, final = []uint64{1, 2, 3}, 3
		}
		for i, w := range want {
			got, err := p.Run(&interp.Input{CPU: 1})
			if err != nil {
				t.Fatalf("%v run %d: %v", typ, i, err)
			}
			if got != w {
				t.Fatalf("%v run %d: r0 = %d, want %d", typ, i, got, w)
			}
		}
		v, _ := m.Lookup(u32(1))
		off := 0
		if typ.PerCPU() {
			off = 8 // CPU 1's value
		}
		if got := binary.NativeEndian.Uint64(v[off:]); got != final {
			t.Fatalf("%v: value %d, want %d", typ, got, final)
		}
	}
}

func TestHelperBadHandle(t *testing.T) {
	p, err := interp.Load(counterProgram(12345), &interp.Options{Helpers: Helpers()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(&interp.Input{}); err == nil {
		t.Fatal("a bogus map handle did not fail the run")
	}
}

func TestHelperRdonlyProg(t *testing.T) {
	m := mustNew(t, Spec{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 4, Flags: FlagRdonlyProg})
	h := Handle(m)
	defer Release(m)
	p, err := interp.Load(counterProgram(h), &interp.Options{Helpers: Helpers()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(&interp.Input{}); err == nil {
		t.Fatal("a store into a BPF_F_RDONLY_PROG value succeeded")
	}
}
