package bench

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
)

// Dir is the directory holding the benchmark sources, objects and packet,
// relative to this package.
const Dir = "../testdata/bench"

// Program describes one benchmark program of testdata/bench.
type Program struct {
	// Name is the file stem and, in P.kern.o, the XDP program's name.
	Name string
	// Want is the return value on packet_1500.bin (bench README).
	Want uint32
	// UsesMap reports whether the program looks up bench_map.
	UsesMap bool
}

// Programs lists the benchmark programs, cheapest first.
var Programs = []Program{
	{Name: "nop", Want: 2},
	{Name: "parse_packet", Want: 2},
	{Name: "mem_sum", Want: 183140},
	{Name: "alu_loop", Want: 4067425289},
	{Name: "call_heavy", Want: 1694427608},
	{Name: "map_lookup", Want: 1245684652, UsesMap: true},
}

// KernObject returns the path of the program's kernel (XDP) object.
func (p Program) KernObject() string { return filepath.Join(Dir, p.Name+".kern.o") }

// UBPFObject returns the path of the program's -DBENCH_UBPF object.
func (p Program) UBPFObject() string { return filepath.Join(Dir, p.Name+".ubpf.o") }

// LoadPacket reads packet_1500.bin into a fresh heap slice.
func LoadPacket() ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(Dir, "packet_1500.bin"))
	if err != nil {
		return nil, fmt.Errorf("read packet: %w", err)
	}
	return b, nil
}

// Contents of bench_map, as the bench README prescribes.
const (
	MapName      = "bench_map"
	MapKeys      = 1024
	mapMul       = 2654435761
	mapAdd       = 7
	valueSize    = 8
	helperLookup = 1 // BPF_FUNC_map_lookup_elem
)

// mapHandle is the immediate that the lddw referencing bench_map carries in
// the interpreter's program; helper #1 accepts only this value as r1.
const mapHandle int64 = 0x6265_6e63_6800_0001

// MapValue returns the value stored for key.
func MapValue(key uint32) uint64 { return uint64(key)*mapMul + mapAdd }

// HashMap is the harness's stand-in for bench_map in the interpreter: a Go
// map from key to an offset into one value arena, which runs receive as a
// read-only region so the program may dereference the returned pointers.
type HashMap struct {
	index map[uint32]uint32
	arena []byte
	base  uint64
}

// NewHashMap returns a map holding keys 0..MapKeys-1 with MapValue values.
func NewHashMap() *HashMap {
	m := &HashMap{index: make(map[uint32]uint32, MapKeys), arena: make([]byte, MapKeys*valueSize)}
	for k := uint32(0); k < MapKeys; k++ {
		off := k * valueSize
		binary.LittleEndian.PutUint64(m.arena[off:], MapValue(k))
		m.index[k] = off
	}
	m.base = interp.Addr(m.arena)
	return m
}

// Region returns the value arena as a run region.
func (m *HashMap) Region() interp.Region { return interp.Region{Mem: m.arena} }

// lookup implements bpf_map_lookup_elem(map, key) for bench_map: it returns
// the address of the value, or 0 when the key is absent.
func (m *HashMap) lookup(r *interp.Run, r1, r2, _, _, _ uint64) (uint64, error) {
	if int64(r1) != mapHandle {
		return 0, fmt.Errorf("map_lookup_elem: r1 %#x is not bench_map", r1)
	}
	key, err := r.Mem(r2, 4, false)
	if err != nil {
		return 0, fmt.Errorf("map_lookup_elem: key: %w", err)
	}
	off, ok := m.index[binary.LittleEndian.Uint32(key)]
	if !ok {
		return 0, nil
	}
	return m.base + uint64(off), nil
}

// Interp is a benchmark program loaded into the interpreter with its input.
type Interp struct {
	Prog  *interp.Program
	Input *interp.Input
}

// LoadInterp loads p's -DBENCH_UBPF object into the interpreter and prepares
// an input for pkt (r1 = packet address, r2 = length). pkt must stay alive
// and unmoved while the returned Interp is used.
func LoadInterp(p Program, pkt []byte) (*Interp, error) {
	insns, err := loadUBPF(p.UBPFObject(), map[string]int64{MapName: mapHandle})
	if err != nil {
		return nil, err
	}
	return newInterp(insns, p.UsesMap, pkt)
}

// newInterp loads insns, wiring helper #1 to a fresh HashMap if useMap.
func newInterp(insns isa.Instructions, useMap bool, pkt []byte) (*Interp, error) {
	in := &interp.Input{
		Args:    [5]uint64{interp.Addr(pkt), uint64(len(pkt))},
		Regions: []interp.Region{{Mem: pkt}},
	}
	opts := &interp.Options{}
	if useMap {
		m := NewHashMap()
		opts.Helpers = map[int32]interp.HelperFunc{helperLookup: m.lookup}
		in.Regions = append(in.Regions, m.Region())
	}
	prog, err := interp.Load(insns, opts)
	if err != nil {
		return nil, fmt.Errorf("interp load: %w", err)
	}
	return &Interp{Prog: prog, Input: in}, nil
}

// Run executes the program once and returns r0.
func (it *Interp) Run() (uint64, error) { return it.Prog.Run(it.Input) }
