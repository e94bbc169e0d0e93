package loader

import (
	"errors"
	"fmt"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/maps"
)

// Linked is a program bound to concrete maps, ready for interp.Load.
//
// As the kernel's fd_array, Maps lists the maps the program uses; each
// map-referencing lddw is rewritten to BPF_PSEUDO_MAP_IDX (fd form) or
// BPF_PSEUDO_MAP_IDX_VALUE (value form) with its index, and ResolveImm64
// turns those into what the program sees: the map's handle, or the address
// of its value plus the offset.
type Linked struct {
	Instructions isa.Instructions
	Maps         []maps.Map
	// Names are the names of Maps, index for index.
	Names []string
}

// ErrExtern is returned by Link for programs with kfunc or ksym externs.
var ErrExtern = errors.New("unresolved extern (kfuncs and ksyms are not supported yet)")

// Link binds spec's map references to ms (by the map names of the spec).
// It refuses programs with kfunc or ksym externs; LinkWithOptions resolves
// kfuncs.
func Link(spec *ProgramSpec, ms map[string]maps.Map) (*Linked, error) {
	return LinkWithOptions(spec, ms, LinkOptions{})
}

// LinkWithOptions is Link with the kfunc externs resolved by opts (see
// ksym.go).
func LinkWithOptions(spec *ProgramSpec, ms map[string]maps.Map, opts LinkOptions) (*Linked, error) {
	l := &Linked{Instructions: append(isa.Instructions(nil), spec.Instructions...)}
	if err := resolveExterns(spec, l.Instructions, opts); err != nil {
		return nil, err
	}
	index := map[string]int{}
	for _, r := range spec.MapRefs {
		m, ok := ms[r.Map]
		if !ok || m == nil {
			return nil, fmt.Errorf("program %s: instruction %d: map %q not given to Link", spec.Name, r.Index, r.Map)
		}
		if r.Index < 0 || r.Index >= len(l.Instructions) || !l.Instructions[r.Index].IsLDDW() {
			return nil, fmt.Errorf("program %s: instruction %d: map reference is not an lddw", spec.Name, r.Index)
		}
		idx, ok := index[r.Map]
		if !ok {
			idx = len(l.Maps)
			index[r.Map] = idx
			l.Maps = append(l.Maps, m)
			l.Names = append(l.Names, r.Map)
		}
		ins := &l.Instructions[r.Index]
		switch r.Kind {
		case RefFD:
			ins.Src = isa.PseudoMapIdx
			ins.Imm = int64(idx)
		case RefValue:
			if err := checkValueMap(m, r.Offset); err != nil {
				return nil, fmt.Errorf("program %s: instruction %d: map %q: %w", spec.Name, r.Index, r.Map, err)
			}
			ins.Src = isa.PseudoMapIdxValue
			ins.Imm = int64(uint64(r.Offset)<<32 | uint64(idx))
		default:
			return nil, fmt.Errorf("program %s: instruction %d: bad map reference kind %v", spec.Name, r.Index, r.Kind)
		}
	}
	return l, nil
}

// checkValueMap is the kernel's check for BPF_PSEUDO_MAP_VALUE: a
// one-value array map (map_direct_value_addr) and an offset inside it.
func checkValueMap(m maps.Map, off uint32) error {
	s := m.Spec()
	if s.Type != maps.Array {
		return fmt.Errorf("direct value access needs an array map, not %v", s.Type)
	}
	if off >= s.ValueSize {
		return fmt.Errorf("offset %d outside the %d-byte value", off, s.ValueSize)
	}
	return nil
}

var zeroKey = []byte{0, 0, 0, 0}

// ResolveImm64 is the interp.Options.ResolveImm64 for l.
func (l *Linked) ResolveImm64(ins isa.Instruction) (uint64, error) {
	idx := uint32(ins.Imm)
	if int(idx) >= len(l.Maps) {
		return 0, fmt.Errorf("lddw: map index %d out of range (%d maps)", idx, len(l.Maps))
	}
	m := l.Maps[idx]
	switch ins.Src {
	case isa.PseudoMapIdx:
		return maps.Handle(m), nil
	case isa.PseudoMapIdxValue:
		off := uint32(uint64(ins.Imm) >> 32)
		if err := checkValueMap(m, off); err != nil {
			return 0, fmt.Errorf("lddw: map %q: %w", l.Names[idx], err)
		}
		v := m.LookupElem(zeroKey, 0)
		if v == nil {
			return 0, fmt.Errorf("lddw: map %q has no value", l.Names[idx])
		}
		return interp.Addr(v) + uint64(off), nil
	}
	return 0, fmt.Errorf("lddw: pseudo source %d not produced by Link", ins.Src)
}

// Regions returns the memory of the maps the program addresses directly
// (global variables): each run must be given them (interp.Input.Regions),
// writable unless the map is read-only for programs.
func (l *Linked) Regions() []interp.Region {
	var rs []interp.Region
	seen := map[int]bool{}
	for _, ins := range l.Instructions {
		if !ins.IsLDDW() || ins.Src != isa.PseudoMapIdxValue {
			continue
		}
		idx := int(uint32(ins.Imm))
		if seen[idx] || idx >= len(l.Maps) {
			continue
		}
		seen[idx] = true
		m := l.Maps[idx]
		if v := m.LookupElem(zeroKey, 0); v != nil {
			rs = append(rs, interp.Region{Mem: v, Writable: m.Spec().Flags&maps.FlagRdonlyProg == 0})
		}
	}
	return rs
}

// NewMaps creates every map of cs with maps.New, writes the initial
// contents of global data and freezes .rodata and .kconfig.
func NewMaps(cs *CollectionSpec) (map[string]maps.Map, error) {
	out := make(map[string]maps.Map, len(cs.Maps))
	for name, ms := range cs.Maps {
		m, err := maps.New(ms.Spec())
		if err != nil {
			return nil, fmt.Errorf("map %s: %w", name, err)
		}
		if ms.Contents != nil {
			if err := m.Update(zeroKey, ms.Contents, 0); err != nil {
				return nil, fmt.Errorf("map %s: initial contents: %w", name, err)
			}
		}
		if ms.Frozen {
			if err := m.Freeze(); err != nil {
				return nil, fmt.Errorf("map %s: freeze: %w", name, err)
			}
		}
		out[name] = m
	}
	return out, nil
}
