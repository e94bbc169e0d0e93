package bench

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/kernel"
	"github.com/gobee-dev/gobee/loader"
	"github.com/gobee-dev/gobee/maps"
)

// Map operation benchmarks (BenchmarkMapOps) and their correctness check
// (TestMapOpsAgree). Every map holds the same 1024 elements, gobee's and
// the kernel's alike:
//
//   - HASH, LRU_HASH: key k (u32) → MapValue(k) (u64), k = 0..1023, in a
//     map of 4096 entries (bench_map's spec), so LRU never evicts;
//   - ARRAY: 1024 entries, key k → MapValue(k);
//   - LPM_TRIE: 8-byte keys {prefixlen u32, ipv4 [4]byte}; the 1024 /24
//     prefixes 10.(k>>8).(k&255).0/24 → MapValue(k), and lookups use /32
//     keys inside them.
//
// Programs do opsPerRun operations per run with keys from the packet: the
// u32 at offset 54+4*i, masked to 0..1023, as map_lookup.c does. "delete"
// is delete followed by re-inserting the same key (BPF_NOEXIST), so that
// every delete finds its element; it therefore costs one delete plus one
// insert. On ARRAY both fail (EINVAL, EEXIST), as in the kernel.

// opsPerRun is the number of map operations of one program run
// (map_lookup.c's NLOOKUPS).
const opsPerRun = 64

// mapKind is one map type of the benchmarks.
type mapKind struct {
	name string
	spec maps.Spec
	lpm  bool
}

var mapKinds = []mapKind{
	{name: "hash", spec: maps.Spec{Name: "ops_hash", Type: maps.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 4096}},
	{name: "array", spec: maps.Spec{Name: "ops_array", Type: maps.Array, KeySize: 4, ValueSize: 8, MaxEntries: MapKeys}},
	{name: "lru_hash", spec: maps.Spec{Name: "ops_lru", Type: maps.LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 4096}},
	{name: "lpm_trie", spec: maps.Spec{Name: "ops_lpm", Type: maps.LPMTrie, KeySize: 8, ValueSize: 8, MaxEntries: 4096, Flags: maps.FlagNoPrealloc}, lpm: true},
}

var mapOps = []string{"lookup", "update", "delete"}

// array reports whether deletes fail on this kind (EINVAL).
func (k mapKind) array() bool { return k.spec.Type == maps.Array }

// storedKey returns the key under which element k is stored: k, or the
// /24 prefix 10.(k>>8).(k&255).0 of an LPM trie.
func (k mapKind) storedKey(idx uint32) []byte {
	if !k.lpm {
		return binary.LittleEndian.AppendUint32(nil, idx)
	}
	return []byte{24, 0, 0, 0, 10, byte(idx >> 8), byte(idx), 0}
}

// lookupKey returns the key a lookup of element idx uses; low varies the
// last address byte of LPM keys, which the /24 prefix does not cover.
func (k mapKind) lookupKey(idx uint32, low byte) []byte {
	if !k.lpm {
		return binary.LittleEndian.AppendUint32(nil, idx)
	}
	return []byte{32, 0, 0, 0, 10, byte(idx >> 8), byte(idx), low}
}

// value returns MapValue(idx) as 8 bytes.
func value(idx uint32) []byte { return binary.LittleEndian.AppendUint64(nil, MapValue(idx)) }

// newGobeeMap creates and fills k's map in gobee.
func newGobeeMap(tb testing.TB, k mapKind) maps.Map {
	tb.Helper()
	m, err := maps.New(k.spec)
	if err != nil {
		tb.Fatalf("%s: maps.New: %v", k.name, err)
	}
	tb.Cleanup(func() { maps.Release(m) })
	for i := uint32(0); i < MapKeys; i++ {
		if err := m.Update(k.storedKey(i), value(i), maps.UpdateAny); err != nil {
			tb.Fatalf("%s: fill key %d: %v", k.name, i, err)
		}
	}
	return m
}

// newKernelMap creates and fills k's map in the kernel, skipping tb when
// bpf() is unavailable.
func newKernelMap(tb testing.TB, k mapKind) *ebpf.Map {
	tb.Helper()
	requireKernel(tb)
	m, err := ebpf.NewMap(&ebpf.MapSpec{
		Name: k.spec.Name, Type: ebpf.MapType(k.spec.Type), KeySize: k.spec.KeySize,
		ValueSize: k.spec.ValueSize, MaxEntries: k.spec.MaxEntries, Flags: k.spec.Flags,
	})
	if err != nil {
		tb.Fatalf("%s: kernel map: %v", k.name, err)
	}
	tb.Cleanup(func() { m.Close() })
	for i := uint32(0); i < MapKeys; i++ {
		if err := m.Update(k.storedKey(i), value(i), ebpf.UpdateAny); err != nil {
			tb.Fatalf("%s: fill kernel key %d: %v", k.name, i, err)
		}
	}
	return m
}

// The programs in gobee's assembler text. They are XDP programs: r1 is
// struct xdp_md, whose u32 fields data and data_end bound the packet. MAP
// is replaced by the map reference: map_idx(0) for gobee (resolved to the
// map's handle by ResolveImm64), map_fd(0) for the kernel (the fd is
// patched in). KEY is replaced by the code that builds the key of element
// r2 (= the packet word masked to 0..1023, r1 = the packet word) at
// r10-8 (LPM, 8 bytes) or r10-4 (u32), OP by the operation, which
// accumulates into r9.
const progTemplate = `
	r6 = *(u32 *)(r1 + 0)
	r7 = *(u32 *)(r1 + 4)
	r6 += 54
	r8 = 0
	r9 = 0
loop:
	if r8 >= 64 goto out
	r1 = r6
	r1 += 4
	if r1 > r7 goto out
	r1 = *(u32 *)(r6 + 0)
	r2 = r1
	r2 &= 1023
KEY
OP
	r6 += 4
	r8 += 1
	goto loop
out:
	r0 = r9
	exit
`

// Key builders: element r2 (lookups also take the packet word's top byte
// as the /32 key's last address byte). They leave r2 intact.
const (
	keyU32 = `
	*(u32 *)(r10 - 4) = r2`
	keyLPMPrefix = `
	*(u32 *)(r10 - 8) = 24
	*(u8 *)(r10 - 4) = 10
	r3 = r2
	r3 >>= 8
	*(u8 *)(r10 - 3) = r3
	*(u8 *)(r10 - 2) = r2
	*(u8 *)(r10 - 1) = 0`
	keyLPMHost = `
	*(u32 *)(r10 - 8) = 32
	*(u8 *)(r10 - 4) = 10
	r3 = r2
	r3 >>= 8
	*(u8 *)(r10 - 3) = r3
	*(u8 *)(r10 - 2) = r2
	r1 >>= 24
	*(u8 *)(r10 - 1) = r1`
)

// Operations. KEYPTR is replaced by the key's stack offset.
const (
	// r9 += *value, or 1 if absent (map_lookup.c's sum).
	opLookup = `
	r1 = MAP
	r2 = r10
	r2 += KEYPTR
	call 1
	if r0 == 0 goto miss
	r1 = *(u64 *)(r0 + 0)
	r9 += r1
	goto next
miss:
	r9 += 1
next:`
	// value = MapValue(element); r9 += 1 + update(key, value, BPF_ANY).
	opUpdate = `
	r3 = 2654435761 ll
	r2 *= r3
	r2 += 7
	*(u64 *)(r10 - 16) = r2
	r1 = MAP
	r2 = r10
	r2 += KEYPTR
	r3 = r10
	r3 += -16
	r4 = 0
	call 2
	r9 += r0
	r9 += 1`
	// r9 += 1 + delete(key) + update(key, MapValue(element), BPF_NOEXIST).
	opDelete = `
	r3 = 2654435761 ll
	r2 *= r3
	r2 += 7
	*(u64 *)(r10 - 16) = r2
	r1 = MAP
	r2 = r10
	r2 += KEYPTR
	call 3
	r9 += r0
	r1 = MAP
	r2 = r10
	r2 += KEYPTR
	r3 = r10
	r3 += -16
	r4 = 1
	call 2
	r9 += r0
	r9 += 1`
)

// opsProgram returns the program text doing op on maps of kind k, with
// mapRef as the map reference.
func opsProgram(k mapKind, op, mapRef string) string {
	key, keyPtr := keyU32, "-4"
	if k.lpm {
		key, keyPtr = keyLPMPrefix, "-8"
		if op == "lookup" {
			key = keyLPMHost
		}
	}
	body := map[string]string{"lookup": opLookup, "update": opUpdate, "delete": opDelete}[op]
	body = strings.NewReplacer("MAP", mapRef, "KEYPTR", keyPtr).Replace(body)
	return strings.NewReplacer("KEY\n", key+"\n", "OP\n", body+"\n").Replace(progTemplate)
}

// assembleOps assembles opsProgram.
func assembleOps(k mapKind, op, mapRef string) (isa.Instructions, error) {
	insns, err := isa.Assemble(opsProgram(k, op, mapRef))
	if err != nil {
		return nil, fmt.Errorf("%s/%s: assemble: %w", k.name, op, err)
	}
	return insns, nil
}

// expectedRet is what a program run returns on pkt: the same sum on every
// engine, computed here from the packet.
func expectedRet(k mapKind, op string, pkt []byte) uint32 {
	var sum uint64
	for i := 0; i < opsPerRun && 54+4*i+4 <= len(pkt); i++ {
		idx := binary.LittleEndian.Uint32(pkt[54+4*i:]) & (MapKeys - 1)
		switch op {
		case "lookup":
			sum += MapValue(idx)
		case "update":
			sum++
		case "delete":
			if k.array() {
				sum -= 22 + 17 - 1 // 1 - EINVAL - EEXIST
			} else {
				sum++
			}
		}
	}
	return uint32(sum)
}

// xdpContext is struct xdp_md for the interpreter: the u32 loads of data
// and data_end return the packet's 64-bit addresses, as the kernel's
// rewrite of those loads does.
type xdpContext struct{ data, end uint64 }

func (c xdpContext) LoadContext(_ *interp.Run, off, size uint32) (uint64, error) {
	if size != 4 {
		return 0, fmt.Errorf("xdp_md: %d-byte load at %d", size, off)
	}
	switch off {
	case 0:
		return c.data, nil
	case 4:
		return c.end, nil
	}
	return 0, fmt.Errorf("xdp_md: load at %d", off)
}

func (c xdpContext) StoreContext(_ *interp.Run, off, _ uint32, _ uint64) error {
	return fmt.Errorf("xdp_md: store at %d", off)
}

// gobeeProg is a map program loaded into gobee's interpreter with its
// input: the packet and an xdp_md.
type gobeeProg struct {
	prog *interp.Program
	in   *interp.Input
}

func (g *gobeeProg) run() (uint32, error) {
	r0, err := g.prog.Run(g.in)
	return uint32(r0), err
}

// newGobeeProg loads insns, whose map references are map_idx(0), linked to
// m, for runs on pkt.
func newGobeeProg(insns isa.Instructions, m maps.Map, pkt []byte) (*gobeeProg, error) {
	l := &loader.Linked{Instructions: insns, Maps: []maps.Map{m}, Names: []string{m.Spec().Name}}
	return loadLinked(l, pkt)
}

// loadLinked loads a linked program for runs on pkt.
func loadLinked(l *loader.Linked, pkt []byte) (*gobeeProg, error) {
	prog, err := interp.Load(l.Instructions, &interp.Options{Helpers: maps.Helpers(), ResolveImm64: l.ResolveImm64})
	if err != nil {
		return nil, fmt.Errorf("interp load: %w", err)
	}
	ctx := make([]byte, 24)
	data := interp.Addr(pkt)
	in := &interp.Input{
		Args: [5]uint64{interp.Addr(ctx)},
		Regions: append([]interp.Region{
			{Mem: ctx, Accessor: xdpContext{data: data, end: data + uint64(len(pkt))}},
			{Mem: pkt},
		}, l.Regions()...),
	}
	return &gobeeProg{prog: prog, in: in}, nil
}

// newGobeeMapLookup loads map_lookup.kern.o with gobee's loader and links
// it to m (a HASH map with bench_map's spec).
func newGobeeMapLookup(m maps.Map, pkt []byte) (*gobeeProg, error) {
	p := Programs[len(Programs)-1]
	cs, err := loader.Load(p.KernObject())
	if err != nil {
		return nil, err
	}
	spec := cs.Programs[p.Name]
	if spec == nil {
		return nil, fmt.Errorf("%s: no program %s", p.KernObject(), p.Name)
	}
	l, err := loader.Link(spec, map[string]maps.Map{MapName: m})
	if err != nil {
		return nil, err
	}
	return loadLinked(l, pkt)
}

// mapLookupSpec returns bench_map's spec as map_lookup.kern.o declares it.
func mapLookupSpec() (maps.Spec, error) {
	cs, err := loader.Load(Programs[len(Programs)-1].KernObject())
	if err != nil {
		return maps.Spec{}, err
	}
	ms := cs.Maps[MapName]
	if ms == nil {
		return maps.Spec{}, errors.New("map_lookup.kern.o has no " + MapName)
	}
	return ms.Spec(), nil
}

// kernelRunner is a map program in the kernel.
type kernelRunner interface {
	Run(pkt []byte) (uint32, error)
	// Time returns the kernel's mean ns per run over n runs.
	Time(pkt []byte, n int) (nsPerRun float64, ret uint32, err error)
}

// kernelOps is an assembled map program loaded into the kernel.
type kernelOps struct{ p *kernel.Program }

// newKernelOps loads insns, whose map references are map_fd(0), with m's
// fd patched in.
func newKernelOps(tb testing.TB, insns isa.Instructions, m *ebpf.Map) *kernelOps {
	tb.Helper()
	insns = append(isa.Instructions(nil), insns...)
	for i := range insns {
		if insns[i].IsLDDW() && insns[i].Src == isa.PseudoMapFD {
			insns[i].Imm = int64(m.FD())
		}
	}
	p, err := kernel.LoadProgram(ebpf.XDP, insns, "GPL")
	if err != nil {
		tb.Fatalf("kernel load: %v", err)
	}
	tb.Cleanup(func() { p.Close() })
	return &kernelOps{p: p}
}

func (k *kernelOps) Run(pkt []byte) (uint32, error) {
	ret, _, _, err := k.p.TestRun(pkt, nil, 1)
	return ret, err
}

func (k *kernelOps) Time(pkt []byte, n int) (float64, uint32, error) {
	var total float64
	var ret uint32
	for done := 0; done < n; {
		batch := min(n-done, maxRepeat)
		r, _, d, err := k.p.TestRun(pkt, nil, batch)
		if err != nil {
			return 0, 0, fmt.Errorf("test run x%d: %w", batch, err)
		}
		total += float64(d.Nanoseconds()) * float64(batch)
		ret = r
		done += batch
	}
	return total / float64(max(n, 1)), ret, nil
}

// opPrograms sets up op on kind k in both engines: gobee's program on a
// fresh gobee map and the kernel's on a fresh kernel map. HASH lookups use
// map_lookup.kern.o (gobee's loader; the kernel through cilium/ebpf with
// its own bench_map), the rest the assembled programs. kernel is nil when
// skipKernel.
func opPrograms(tb testing.TB, k mapKind, op string, pkt []byte, skipKernel bool) (*gobeeProg, maps.Map, kernelRunner, *ebpf.Map) {
	tb.Helper()
	if k.spec.Type == maps.Hash && op == "lookup" {
		spec, err := mapLookupSpec()
		if err != nil {
			tb.Fatal(err)
		}
		mk := k
		mk.spec = spec
		gm := newGobeeMap(tb, mk)
		gp, err := newGobeeMapLookup(gm, pkt)
		if err != nil {
			tb.Fatalf("map_lookup: %v", err)
		}
		if skipKernel {
			return gp, gm, nil, nil
		}
		kp := loadKernel(tb, Programs[len(Programs)-1])
		return gp, gm, kp, kp.coll.Maps[MapName]
	}
	gins, err := assembleOps(k, op, "map_idx(0) ll")
	if err != nil {
		tb.Fatal(err)
	}
	gm := newGobeeMap(tb, k)
	gp, err := newGobeeProg(gins, gm, pkt)
	if err != nil {
		tb.Fatalf("%s/%s: %v", k.name, op, err)
	}
	if skipKernel {
		return gp, gm, nil, nil
	}
	kins, err := assembleOps(k, op, "map_fd(0) ll")
	if err != nil {
		tb.Fatal(err)
	}
	km := newKernelMap(tb, k)
	return gp, gm, newKernelOps(tb, kins, km), km
}

// TestMapOpsAgree runs every map program of BenchmarkMapOps once on gobee
// and once in the kernel, and checks that both return the value computed
// from the packet and leave the same map contents (all 1024 elements as
// before, since updates write the values the elements already have).
func TestMapOpsAgree(t *testing.T) {
	pkt := packet(t)
	for _, k := range mapKinds {
		for _, op := range mapOps {
			t.Run(k.name+"/"+op, func(t *testing.T) {
				want := expectedRet(k, op, pkt)
				gp, gm, _, _ := opPrograms(t, k, op, pkt, true)
				got, err := gp.run()
				if err != nil {
					t.Fatalf("gobee: %v", err)
				}
				if got != want {
					t.Errorf("gobee: r0 = %d, want %d", got, want)
				}
				checkContents(t, "gobee", k, func(key []byte) ([]byte, error) { return gm.Lookup(key) })
				if err := kernelAvailable(); err != nil {
					t.Skipf("kernel side skipped: %v", err)
				}
				_, _, kp, km := opPrograms(t, k, op, pkt, false)
				kret, err := kp.Run(pkt)
				if err != nil {
					t.Fatalf("kernel: %v", err)
				}
				if kret != got {
					t.Errorf("kernel retval %d, gobee %d", kret, got)
				}
				checkContents(t, "kernel", k, func(key []byte) ([]byte, error) {
					v := make([]byte, 8)
					return v, km.Lookup(key, v)
				})
			})
		}
	}
}

// checkContents checks that element k of every index still has MapValue(k),
// through an exact-key lookup (LPM: the /32 address inside the /24).
func checkContents(t *testing.T, engine string, k mapKind, lookup func([]byte) ([]byte, error)) {
	t.Helper()
	for i := uint32(0); i < MapKeys; i++ {
		v, err := lookup(k.lookupKey(i, byte(i)))
		if err != nil {
			t.Fatalf("%s: element %d: %v", engine, i, err)
		}
		if !bytes.Equal(v, value(i)) {
			t.Fatalf("%s: element %d = %x, want %x", engine, i, v, value(i))
		}
	}
}
