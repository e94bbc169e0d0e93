package maps

import (
	"bytes"
	"encoding/binary"
	"testing"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
)

func TestQueueStackOrder(t *testing.T) {
	for _, typ := range []Type{Queue, Stack} {
		m := mustNew(t, Spec{Type: typ, ValueSize: 8, MaxEntries: 3})
		for i := range 3 {
			if err := m.Push(u64(uint64(i)), UpdateAny); err != nil {
				t.Fatal(err)
			}
		}
		wantErrno(t, "push to a full map", m.Push(u64(9), UpdateAny), unix.E2BIG)
		// BPF_EXIST drops the oldest element (0) to make room.
		if err := m.Push(u64(3), UpdateExist); err != nil {
			t.Fatal(err)
		}
		want := []uint64{1, 2, 3}
		if typ == Stack {
			want = []uint64{3, 2, 1}
		}
		v := make([]byte, 8)
		for _, w := range want {
			if err := m.Peek(v); err != nil || binary.NativeEndian.Uint64(v) != w {
				t.Fatalf("%v peek: %x %v, want %d", typ, v, err, w)
			}
			if err := m.Pop(v); err != nil || binary.NativeEndian.Uint64(v) != w {
				t.Fatalf("%v pop: %x %v, want %d", typ, v, err, w)
			}
		}
		wantErrno(t, "pop empty", m.Pop(v), unix.ENOENT)
		wantErrno(t, "peek empty", m.Peek(v), unix.ENOENT)
	}
}

func TestKeylessBadInput(t *testing.T) {
	for _, typ := range []Type{Queue, Stack, BloomFilter} {
		t.Run(typ.String(), func(t *testing.T) {
			m := mustNew(t, Spec{Type: typ, ValueSize: 8, MaxEntries: 4})
			wantErrno(t, "short value", m.Push(make([]byte, 7), 0), unix.EINVAL)
			wantErrno(t, "long value", m.Peek(make([]byte, 9)), unix.EINVAL)
			wantErrno(t, "update with a key", m.Update([]byte{0}, make([]byte, 8), 0), unix.EINVAL)
			_, err := m.Lookup([]byte{0})
			wantErrno(t, "lookup with a key", err, unix.EINVAL)
			wantErrno(t, "flags 3", m.Push(make([]byte, 8), 3), unix.EINVAL)
			wantErrno(t, "BPF_F_LOCK", m.Push(make([]byte, 8), UpdateLock), unix.EINVAL)
			wantErrno(t, "BPF_NOEXIST", m.Push(make([]byte, 8), UpdateNoExist), unix.EINVAL)
			_, _, err = m.BatchLookup(nil, nil, nil, 0)
			wantErrno(t, "batch lookup", err, ENOTSUPP)
			_, err = m.BatchUpdate(nil, nil, 0)
			wantErrno(t, "batch update", err, ENOTSUPP)
			_, err = m.BatchDelete(nil, 0)
			wantErrno(t, "batch delete", err, ENOTSUPP)
			wantErrno(t, "prog value size", m.PushElem(make([]byte, 3), 0, 0), unix.EINVAL)
			if typ == BloomFilter {
				wantErrno(t, "bloom BPF_EXIST", m.Push(make([]byte, 8), UpdateExist), unix.EINVAL)
				wantErrno(t, "bloom delete", m.Delete(nil), unix.EOPNOTSUPP)
				_, err = m.NextKey(nil)
				wantErrno(t, "bloom next key", err, unix.EOPNOTSUPP)
				wantErrno(t, "bloom pop", m.Pop(make([]byte, 8)), ENOTSUPP)
			} else {
				wantErrno(t, "delete", m.Delete(nil), unix.EINVAL)
				_, err = m.NextKey(nil)
				wantErrno(t, "next key", err, unix.EINVAL)
			}
		})
	}
	h := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 4})
	wantErrno(t, "push to a hash", h.Push(make([]byte, 8), 0), unix.EINVAL)
	wantErrno(t, "pop from a hash", h.Pop(make([]byte, 8)), unix.EINVAL)
	wantErrno(t, "peek a hash", h.PeekElem(make([]byte, 8), 0), unix.EINVAL)
	r := mustNew(t, Spec{Type: Queue, ValueSize: 8, MaxEntries: 4, Flags: FlagRdonlyProg})
	wantErrno(t, "push to RDONLY_PROG", r.PushElem(make([]byte, 8), 0, 0), unix.EACCES)
	wantErrno(t, "pop from RDONLY_PROG", r.PopElem(make([]byte, 8), 0), unix.EACCES)
}

func TestBloomNoFalseNegatives(t *testing.T) {
	for _, extra := range []uint64{0, 1, 7, 15} {
		m := mustNew(t, Spec{Type: BloomFilter, ValueSize: 6, MaxEntries: 100, MapExtra: extra})
		var in [][]byte
		for i := range 100 {
			v := []byte{byte(i), 1, 2, byte(i * 7), 4, 5}
			in = append(in, v)
			if err := m.Push(v, UpdateAny); err != nil {
				t.Fatal(err)
			}
		}
		for _, v := range in {
			if err := m.Peek(bytes.Clone(v)); err != nil {
				t.Fatalf("map_extra %d: %x pushed but not found: %v", extra, v, err)
			}
		}
	}
}

func lpmKeyOf(plen uint32, data ...byte) []byte {
	return append(binary.NativeEndian.AppendUint32(nil, plen), data...)
}

func TestLPM(t *testing.T) {
	m := mustNew(t, Spec{Type: LPMTrie, KeySize: 8, ValueSize: 8, MaxEntries: 3, Flags: FlagNoPrealloc})
	for _, e := range []struct {
		plen uint32
		data []byte
		v    uint64
	}{{16, []byte{192, 168, 0, 0}, 16}, {24, []byte{192, 168, 1, 0}, 24}, {8, []byte{10, 0, 0, 0}, 8}} {
		if err := m.Update(lpmKeyOf(e.plen, e.data...), u64(e.v), UpdateNoExist); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		addr []byte
		want uint64
	}{{[]byte{192, 168, 1, 77}, 24}, {[]byte{192, 168, 2, 1}, 16}, {[]byte{10, 9, 9, 9}, 8}, {[]byte{11, 0, 0, 0}, 0}} {
		v, err := m.Lookup(lpmKeyOf(32, c.addr...))
		if c.want == 0 {
			wantErrno(t, "lookup of an address no prefix covers", err, unix.ENOENT)
			continue
		}
		if err != nil || binary.NativeEndian.Uint64(v) != c.want {
			t.Fatalf("lookup %v: %x %v, want /%d", c.addr, v, err, c.want)
		}
	}
	wantErrno(t, "full", m.Update(lpmKeyOf(20, 1, 2, 3, 4), u64(1), 0), unix.ENOSPC)
	wantErrno(t, "exists", m.Update(lpmKeyOf(8, 10, 0, 0, 0), u64(1), UpdateNoExist), unix.EEXIST)
	if err := m.Update(lpmKeyOf(8, 10, 0, 0, 0), u64(9), UpdateExist); err != nil {
		t.Fatalf("replace in a full trie: %v", err)
	}
	wantErrno(t, "prefix too long", m.Update(lpmKeyOf(33, 1, 2, 3, 4), u64(1), 0), unix.EINVAL)
	wantErrno(t, "delete prefix too long", m.Delete(lpmKeyOf(33, 1, 2, 3, 4)), unix.EINVAL)
	wantErrno(t, "delete is exact", m.Delete(lpmKeyOf(32, 192, 168, 1, 1)), unix.ENOENT)
	wantErrno(t, "short key", m.Update([]byte{1, 2, 3}, u64(1), 0), unix.EINVAL)
	_, err := m.LookupAndDelete(lpmKeyOf(8, 10, 0, 0, 0))
	wantErrno(t, "lookup_and_delete", err, ENOTSUPP)
	_, _, err = m.BatchLookupAndDelete(nil, make([]byte, 8), make([]byte, 8), 0)
	wantErrno(t, "lookup_and_delete batch", err, ENOTSUPP)
	// Post-order: more specific prefixes before the ones that contain them.
	var got []uint32
	var k []byte
	for {
		n, err := m.NextKey(k)
		if err != nil {
			wantErrno(t, "end of walk", err, unix.ENOENT)
			break
		}
		got = append(got, binary.NativeEndian.Uint32(n))
		k = n
	}
	if want := []uint32{8, 24, 16}; !equalU32(got, want) {
		t.Fatalf("walk prefix lengths %v, want %v", got, want)
	}
	if err := m.Delete(lpmKeyOf(16, 192, 168, 0, 0)); err != nil {
		t.Fatal(err)
	}
	v, err := m.Lookup(lpmKeyOf(32, 192, 168, 2, 1))
	wantErrno(t, "lookup after delete", err, unix.ENOENT)
	_ = v
}

func equalU32(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// queueProgram pushes 42 (r6 = the result), peeks, pops and returns
// r6<<32 | the popped value.
func queueProgram(h uint64) isa.Instructions {
	ld := isa.Instruction{Op: isa.OpcodeLDDW, Dst: isa.R1, Imm: int64(h)}
	r2 := []isa.Instruction{{Op: 0xbf, Dst: isa.R2, Src: isa.R10}, {Op: 0x07, Dst: isa.R2, Imm: -8}}
	var p isa.Instructions
	p = append(p, isa.Instruction{Op: 0x7a, Dst: isa.R10, Off: -8, Imm: 42}, ld)
	p = append(p, r2...)
	p = append(p, isa.Instruction{Op: 0xb7, Dst: isa.R3, Imm: UpdateAny},
		isa.Instruction{Op: 0x85, Imm: HelperMapPushElem},
		isa.Instruction{Op: 0xbf, Dst: isa.R6, Src: isa.R0},
		isa.Instruction{Op: 0x7a, Dst: isa.R10, Off: -8, Imm: 0}, ld)
	p = append(p, r2...)
	p = append(p, isa.Instruction{Op: 0x85, Imm: HelperMapPeekElem}, ld)
	p = append(p, r2...)
	p = append(p, isa.Instruction{Op: 0x85, Imm: HelperMapPopElem},
		isa.Instruction{Op: 0x79, Dst: isa.R0, Src: isa.R10, Off: -8},
		isa.Instruction{Op: 0x67, Dst: isa.R6, Imm: 32},
		isa.Instruction{Op: 0x4f, Dst: isa.R0, Src: isa.R6},
		isa.Instruction{Op: 0x95})
	return p
}

func TestHelpersPushPopPeek(t *testing.T) {
	m := mustNew(t, Spec{Type: Queue, ValueSize: 8, MaxEntries: 1})
	h := Handle(m)
	defer Release(m)
	p, err := interp.Load(queueProgram(h), &interp.Options{Helpers: Helpers()})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.Run(&interp.Input{}); err != nil || got != 42 {
		t.Fatalf("empty queue: r0 = %#x %v, want 42", got, err)
	}
	// Full: the push fails with -E2BIG and the pop returns the old value.
	if err := m.Push(u64(7), 0); err != nil {
		t.Fatal(err)
	}
	e2big := int64(unix.E2BIG)
	want := uint64(-e2big)<<32 | 7
	if got, err := p.Run(&interp.Input{}); err != nil || got != want {
		t.Fatalf("full queue: r0 = %#x %v, want %#x", got, err, want)
	}
	wantErrno(t, "queue left empty", m.Pop(make([]byte, 8)), unix.ENOENT)

	// Pop on a bloom filter is refused as the verifier would.
	b := mustNew(t, Spec{Type: BloomFilter, ValueSize: 8, MaxEntries: 4})
	defer Release(b)
	p, err = interp.Load(queueProgram(Handle(b)), &interp.Options{Helpers: Helpers()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(&interp.Input{}); err == nil {
		t.Fatal("bpf_map_pop_elem on a bloom filter did not fail the run")
	}
}

// percpuProgram returns *bpf_map_lookup_percpu_elem(map, &1, cpu), or
// 0xffff if there is no value.
func percpuProgram(h uint64, cpu int32) isa.Instructions {
	return isa.Instructions{
		{Op: 0x62, Dst: isa.R10, Off: -4, Imm: 1},
		{Op: isa.OpcodeLDDW, Dst: isa.R1, Imm: int64(h)},
		{Op: 0xbf, Dst: isa.R2, Src: isa.R10},
		{Op: 0x07, Dst: isa.R2, Imm: -4},
		{Op: 0xb7, Dst: isa.R3, Imm: int64(cpu)},
		{Op: 0x85, Imm: HelperMapLookupPercpuElem},
		{Op: 0x15, Dst: isa.R0, Off: 2},
		{Op: 0x79, Dst: isa.R0, Src: isa.R0},
		{Op: 0x95},
		{Op: 0xb7, Dst: isa.R0, Imm: 0xffff},
		{Op: 0x95},
	}
}

func TestHelperLookupPercpu(t *testing.T) {
	for _, typ := range []Type{PerCPUArray, PerCPUHash, LRUPerCPUHash} {
		m := mustNew(t, Spec{Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 4, NumCPU: 3})
		h := Handle(m)
		v := make([]byte, 24)
		for c := range 3 {
			binary.NativeEndian.PutUint64(v[8*c:], uint64(100+c))
		}
		if err := m.Update(u32(1), v, 0); err != nil {
			t.Fatal(err)
		}
		for cpu, want := range map[int32]uint64{0: 100, 1: 101, 2: 102, 3: 0xffff, -1: 0xffff} {
			p, err := interp.Load(percpuProgram(h, cpu), &interp.Options{Helpers: Helpers()})
			if err != nil {
				t.Fatal(err)
			}
			// The run's own CPU does not matter.
			if got, err := p.Run(&interp.Input{CPU: 0}); err != nil || got != want {
				t.Fatalf("%v cpu %d: r0 = %d %v, want %d", typ, cpu, got, err, want)
			}
		}
		Release(m)
	}
	a := mustNew(t, Spec{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 4})
	defer Release(a)
	p, _ := interp.Load(percpuProgram(Handle(a), 0), &interp.Options{Helpers: Helpers()})
	if _, err := p.Run(&interp.Input{}); err == nil {
		t.Fatal("bpf_map_lookup_percpu_elem on a plain array did not fail the run")
	}
}

func TestKeylessLPMConcurrent(t *testing.T) {
	q := mustNew(t, Spec{Type: Queue, ValueSize: 8, MaxEntries: 64})
	b := mustNew(t, Spec{Type: BloomFilter, ValueSize: 8, MaxEntries: 64})
	l := mustNew(t, Spec{Type: LPMTrie, KeySize: 8, ValueSize: 8, MaxEntries: 64, Flags: FlagNoPrealloc})
	done := make(chan bool)
	for g := range 4 {
		go func() {
			defer func() { done <- true }()
			v := make([]byte, 8)
			for i := range 2000 {
				x := uint64(g*10000 + i)
				q.Push(u64(x), UpdateExist)
				q.Pop(v)
				q.PeekElem(v, 0)
				b.Push(u64(x), 0)
				if err := b.Peek(u64(x)); err != nil {
					t.Errorf("bloom lost %d", x)
					return
				}
				k := lpmKeyOf(uint32(i%33), byte(i), byte(g), 3, 4)
				l.Update(k, u64(x), 0)
				l.LookupElem(lpmKeyOf(32, byte(i), byte(g), 3, 4), 0)
				l.NextKey(k)
				if i%3 == 0 {
					l.Delete(k)
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}
