//go:build linux

package maps

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"runtime"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/kernel"
)

// Tail calls through a prog array, compared with the kernel: the same
// programs are loaded in gobee and in the kernel (as socket filters), put
// into a gobee and a kernel prog array with the same slots filled, and run
// with BPF_PROG_TEST_RUN. Each program counts itself in skb->cb[0], then
// tail-calls two targets; if both fall through it returns
// cb[0]<<8 | its own index. So the return value says how many programs ran
// and which one was last: chains beyond MAX_TAIL_CALL_CNT, empty slots,
// out-of-range indexes and self-calls all show.

const (
	progTypeSocketFilter = uint32(ebpf.SocketFilter)
	progTypeXDP          = uint32(ebpf.XDP)
	tailSlots            = 40
	skbCB0               = 48 // offsetof(struct __sk_buff, cb[0])
	skbSize              = 192
)

// tailProgram is program self of a set; mapRef is how the text names the
// map ("map_fd(N)" for the kernel, the handle for gobee).
func tailProgram(t testing.TB, mapRef string, self int, a, b uint32) isa.Instructions {
	t.Helper()
	src := fmt.Sprintf(`
	r6 = r1
	r0 = *(u32 *)(r6 + %[1]d)
	r0 += 1
	*(u32 *)(r6 + %[1]d) = r0
	r1 = r6
	r2 = %[2]s ll
	r3 = %[3]d ll
	call 12
	r1 = r6
	r2 = %[2]s ll
	r3 = %[4]d ll
	call 12
	r0 = *(u32 *)(r6 + %[1]d)
	r0 <<= 8
	r0 += %[5]d
	exit
`, skbCB0, mapRef, a, b, self)
	p, err := isa.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type tailSet struct {
	g     []*interp.Program
	gids  []uint32
	k     []*kernel.Program
	kfds  []uint32
	close func()
}

func TestKernelTailCalls(t *testing.T) {
	requireBPF(t)
	rng := rand.New(rand.NewSource(7))
	spec := Spec{Type: ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: tailSlots}
	runs := 0

	for cfg := 0; cfg < 24; cfg++ {
		g, err := New(spec)
		if err != nil {
			t.Fatal(err)
		}
		h := Handle(g)
		k, err := kcreate(spec, 1)
		if err != nil {
			t.Fatal(err)
		}
		// Targets: the first configurations are plain chains (i → i+1,
		// then out of range); the rest are random.
		a, b := make([]uint32, tailSlots), make([]uint32, tailSlots)
		for i := range a {
			if cfg < 4 {
				a[i], b[i] = uint32(i+1), 1<<32-1
				continue
			}
			pick := func() uint32 {
				switch rng.Intn(6) {
				case 0:
					return uint32(i)
				case 1:
					return uint32(tailSlots + rng.Intn(8))
				case 2:
					return 1<<31 + uint32(rng.Intn(4))
				default:
					return uint32(rng.Intn(tailSlots))
				}
			}
			a[i], b[i] = pick(), pick()
		}
		var set tailSet
		for i := 0; i < tailSlots; i++ {
			gp, err := interp.Load(tailProgram(t, fmt.Sprint(h), i, a[i], b[i]), &interp.Options{TailCall: TailCall})
			if err != nil {
				t.Fatal(err)
			}
			set.g = append(set.g, gp)
			set.gids = append(set.gids, RegisterProgram(ProgramOf(gp, progTypeSocketFilter)))
			kp, err := kernel.LoadProgram(ebpf.SocketFilter, tailProgram(t, fmt.Sprintf("map_fd(%d)", k.fd), i, a[i], b[i]), "GPL")
			if err != nil {
				t.Fatal(err)
			}
			set.k = append(set.k, kp)
			set.kfds = append(set.kfds, uint32(kp.FD()))
		}
		for fill := 0; fill < 5; fill++ {
			// Fill: chains fill the first L slots; the others a random
			// subset, with some programs in other slots than their own.
			for s := 0; s < tailSlots; s++ {
				key := u32(uint32(s))
				var prog int = -1
				switch {
				case cfg < 4:
					L := []int{1, 5, 32, 33, 34, 35, 40}[(cfg*5+fill)%7]
					if s < L {
						prog = s
					}
				case rng.Intn(4) != 0:
					prog = s
					if rng.Intn(5) == 0 {
						prog = rng.Intn(tailSlots)
					}
				}
				var gerr, kerr error
				if prog < 0 {
					gerr, kerr = g.Delete(key), k.delete(key)
				} else {
					gerr = g.Update(key, u32(set.gids[prog]), UpdateAny)
					kerr = k.update(key, u32(set.kfds[prog]), UpdateAny)
				}
				if Errno(gerr) != Errno(kerr) {
					t.Fatalf("slot %d prog %d: gobee %v, kernel %v", s, prog, gerr, kerr)
				}
			}
			for entry := 0; entry < tailSlots; entry++ {
				ctx := make([]byte, skbSize)
				gr, err := set.g[entry].Run(&interp.Input{Args: [5]uint64{interp.Addr(ctx)},
					Regions: []interp.Region{{Mem: ctx, Writable: true}}})
				if err != nil {
					t.Fatalf("gobee run: %v", err)
				}
				kr, _, _, err := set.k[entry].TestRun(make([]byte, 64), nil, 1)
				if err != nil {
					t.Fatalf("kernel run: %v", err)
				}
				if uint32(gr) != kr {
					t.Fatalf("config %d fill %d entry %d: gobee %d programs, last %d; kernel %d programs, last %d",
						cfg, fill, entry, gr>>8, gr&0xff, kr>>8, kr&0xff)
				}
				runs++
			}
		}
		for i := range set.k {
			set.k[i].Close()
			UnregisterProgram(set.gids[i])
		}
		k.close()
		Release(g)
	}
	t.Logf("maps: compared %d tail-call runs against the kernel", runs)
	fmt.Printf("maps: compared %d tail-call runs against the kernel\n", runs)
}

// TestKernelProgArraySyscalls compares the user-space surface of prog
// arrays: lookups (the program's id, ENOENT), deletes, updates with bad
// flags, bad references and programs of another type.
func TestKernelProgArraySyscalls(t *testing.T) {
	requireBPF(t)
	spec := Spec{Type: ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4}
	g, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	k, err := kcreate(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer k.close()
	ret := isa.Instructions{{Op: 0xb7, Dst: isa.R0, Imm: 1}, {Op: 0x95}}
	gsf, _ := interp.Load(ret, nil)
	gxdp, _ := interp.Load(append(isa.Instructions{{Op: 0xb7, Dst: isa.R1}}, ret...), nil)
	sfID := RegisterProgram(ProgramOf(gsf, progTypeSocketFilter))
	xdpID := RegisterProgram(ProgramOf(gxdp, progTypeXDP))
	ksf, err := kernel.LoadProgram(ebpf.SocketFilter, ret, "GPL")
	if err != nil {
		t.Fatal(err)
	}
	defer ksf.Close()
	kxdp, err := kernel.LoadProgram(ebpf.XDP, ret, "GPL")
	if err != nil {
		t.Fatal(err)
	}
	defer kxdp.Close()
	kid := progID(t, ksf.FD())

	same := func(what string, gerr, kerr error) {
		t.Helper()
		if Errno(gerr) != Errno(kerr) {
			t.Fatalf("%s: gobee %v, kernel %v", what, gerr, kerr)
		}
	}
	for _, idx := range []uint32{0, 3, 4, 1 << 31} {
		_, gerr := g.Lookup(u32(idx))
		_, kerr := k.lookup(u32(idx))
		same(fmt.Sprintf("lookup empty %d", idx), gerr, kerr)
		same(fmt.Sprintf("delete empty %d", idx), g.Delete(u32(idx)), k.delete(u32(idx)))
		for _, fl := range []uint64{UpdateNoExist, UpdateExist, UpdateLock, 8} {
			same(fmt.Sprintf("update %d flags %d", idx, fl), g.Update(u32(idx), u32(sfID), fl), k.update(u32(idx), u32(uint32(ksf.FD())), fl))
		}
	}
	same("update bad ref", g.Update(u32(0), u32(1<<30), UpdateAny), k.update(u32(0), u32(1<<30), UpdateAny))
	same("update sf", g.Update(u32(1), u32(sfID), UpdateAny), k.update(u32(1), u32(uint32(ksf.FD())), UpdateAny))
	same("update xdp", g.Update(u32(2), u32(xdpID), UpdateAny), k.update(u32(2), u32(uint32(kxdp.FD())), UpdateAny))
	gv, gerr := g.Lookup(u32(1))
	kv, kerr := k.lookup(u32(1))
	same("lookup filled", gerr, kerr)
	if kerr == nil {
		if binary.NativeEndian.Uint32(kv) != kid || binary.NativeEndian.Uint32(gv) != sfID {
			t.Fatalf("lookup: kernel %d (prog id %d), gobee %d (id %d)", binary.NativeEndian.Uint32(kv), kid, binary.NativeEndian.Uint32(gv), sfID)
		}
	}
	_, gerr = g.LookupAndDelete(u32(1))
	_, kerr = k.lookupAndDelete(u32(1))
	same("lookup_and_delete", gerr, kerr)
	gn, gerr := g.NextKey(nil)
	kn, kerr := k.nextKey(nil)
	same("next key", gerr, kerr)
	if string(gn) != string(kn) {
		t.Fatalf("next key: gobee %x, kernel %x", gn, kn)
	}
	_, _, gerr = g.BatchLookup(nil, make([]byte, 16), make([]byte, 16), 0)
	_, _, kerr = k.batch(sysMapLookupBatch, nil, 4, make([]byte, 16), make([]byte, 16), 4, 0)
	same("batch lookup", gerr, kerr)
	same("delete filled", g.Delete(u32(1)), k.delete(u32(1)))
	same("delete again", g.Delete(u32(1)), k.delete(u32(1)))

	// Creation checks.
	for _, s := range []Spec{
		{Type: ProgArray, KeySize: 4, ValueSize: 8, MaxEntries: 4},
		{Type: ProgArray, KeySize: 8, ValueSize: 4, MaxEntries: 4},
		{Type: ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 0},
		{Type: ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: FlagRdonlyProg},
		{Type: ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: FlagMmapable},
		{Type: ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4, Flags: FlagRdonly},
	} {
		_, gerr := New(s)
		km, kerr := kcreate(s, 1)
		if kerr == nil {
			km.close()
		}
		same(fmt.Sprintf("create %+v", s), gerr, kerr)
	}
}

// progID returns a kernel program's id (BPF_OBJ_GET_INFO_BY_FD).
func progID(t testing.TB, fd int) uint32 {
	t.Helper()
	id, err := objID(fd)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// objID reads the id of a program or map fd: struct bpf_prog_info and
// struct bpf_map_info both have the id at offset 4.
func objID(fd int) (uint32, error) {
	info := make([]byte, 256)
	attr := struct {
		fd, infoLen uint32
		info        uint64
	}{uint32(fd), uint32(len(info)), uint64(interp.Addr(info))}
	_, err := kernel.MapCmd(kernel.CmdObjGetInfoByFD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(info)
	if err != nil {
		return 0, err
	}
	return binary.NativeEndian.Uint32(info[4:]), nil
}
