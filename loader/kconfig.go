package loader

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/gobee-dev/gobee/maps"
)

// KconfigDefaults are the values gobee gives .kconfig externs (extern ...
// __kconfig). Tristates use libbpf's encoding (y = 1, m = 2, n = 0).
// Options.Kconfig overrides and extends them.
func KconfigDefaults() map[string]uint64 {
	return map[string]uint64{
		"LINUX_KERNEL_VERSION":      hostKernelVersion(),
		"LINUX_HAS_BPF_COOKIE":      1,
		"LINUX_HAS_SYSCALL_WRAPPER": 1,
		"CONFIG_BPF":                1,
		"CONFIG_BPF_SYSCALL":        1,
		"CONFIG_BPF_JIT":            1,
		"CONFIG_BPF_EVENTS":         1,
		"CONFIG_NET":                1,
	}
}

// hostKernelVersion is KERNEL_VERSION(a, b, c) of the running kernel, or
// of 6.18.0 where there is none to ask.
func hostKernelVersion() uint64 {
	a, b, c := uint64(6), uint64(18), uint64(0)
	if rel, ok := hostRelease(); ok {
		rel, _, _ = strings.Cut(rel, "-")
		parts := strings.Split(rel, ".")
		nums := []*uint64{&a, &b, &c}
		for i := 0; i < len(parts) && i < 3; i++ {
			if v, err := strconv.ParseUint(parts[i], 10, 32); err == nil {
				*nums[i] = v
			}
		}
	}
	if c > 255 {
		c = 255
	}
	return a<<16 | b<<8 | c
}

// externIndex finds the names of undefined symbols that instructions are
// relocated against: cilium rewrites a .kconfig extern load but keeps its
// name only in unexported metadata.
type externIndex struct {
	funcs  map[string][2]uint64 // function symbol → (section index, value)
	relocs map[[2]uint64]string // (section index, offset) → symbol name
}

func (l *linker) externs() (*externIndex, error) {
	if l.ext != nil {
		return l.ext, nil
	}
	f, err := elf.NewFile(l.r)
	if err != nil {
		return nil, err
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	x := &externIndex{funcs: map[string][2]uint64{}, relocs: map[[2]uint64]string{}}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			x.funcs[s.Name] = [2]uint64{uint64(s.Section), s.Value}
		}
	}
	for _, sec := range f.Sections {
		if sec.Type != elf.SHT_REL {
			continue
		}
		data, err := sec.Data()
		if err != nil {
			return nil, fmt.Errorf("section %s: %w", sec.Name, err)
		}
		for off := 0; off+16 <= len(data); off += 16 {
			rOff := f.ByteOrder.Uint64(data[off:])
			si := int(f.ByteOrder.Uint64(data[off+8:]) >> 32)
			if si < 1 || si > len(syms) || syms[si-1].Section != elf.SHN_UNDEF {
				continue
			}
			x.relocs[[2]uint64{uint64(sec.Info), rOff}] = syms[si-1].Name
		}
	}
	l.ext = x
	return x, nil
}

// kconfigRef resolves the .kconfig extern that instruction i loads.
func (l *linker) kconfigRef(p *ebpf.ProgramSpec, symIdx map[string]int, slots []int, insns asm.Instructions, i int) (MapRef, error) {
	// The function containing i is the one with the greatest start <= i.
	fn, start := "", -1
	for name, at := range symIdx {
		if at <= i && at > start {
			fn, start = name, at
		}
	}
	x, err := l.externs()
	if err != nil {
		return MapRef{}, fmt.Errorf("extern load: %w", err)
	}
	loc, ok := x.funcs[fn]
	if !ok {
		return MapRef{}, errors.New("load from an unnamed map")
	}
	name, ok := x.relocs[[2]uint64{loc[0], loc[1] + uint64(slots[i]-slots[start])*asm.InstructionSize}]
	if !ok {
		return MapRef{}, errors.New("load from an unnamed map")
	}
	var ds *btf.Datasec
	if l.ccs.Types == nil || l.ccs.Types.TypeByName(".kconfig", &ds) != nil {
		return MapRef{}, fmt.Errorf("extern %q: no .kconfig in BTF", name)
	}
	m, err := l.kconfigMap(ds)
	if err != nil {
		return MapRef{}, err
	}
	for _, v := range ds.Vars {
		if v.Type.TypeName() != name {
			continue
		}
		if _, ok := l.kconfigValue(name); !ok {
			return MapRef{}, fmt.Errorf("%w %q (known: %s; set Options.Kconfig)", ErrUnknownKconfig, name, l.kconfigNames())
		}
		return MapRef{Index: i, Map: m.Name, Kind: RefValue, Offset: v.Offset}, nil
	}
	return MapRef{}, fmt.Errorf("extern %q not in .kconfig", name)
}

func (l *linker) kconfigValue(name string) (uint64, bool) {
	if v, ok := l.opts.Kconfig[name]; ok {
		return v, true
	}
	v, ok := KconfigDefaults()[name]
	return v, ok
}

func (l *linker) kconfigNames() string {
	var names []string
	for n := range KconfigDefaults() {
		names = append(names, n)
	}
	for n := range l.opts.Kconfig {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// kconfigMap builds the .kconfig map: one frozen array element holding
// every extern libbpf-style, known values filled in.
func (l *linker) kconfigMap(ds *btf.Datasec) (*MapSpec, error) {
	if m, ok := l.out.Maps[".kconfig"]; ok {
		return m, nil
	}
	if ds.Size == 0 || ds.Size > 1<<20 {
		return nil, fmt.Errorf(".kconfig: bad size %d", ds.Size)
	}
	m := &MapSpec{Name: ".kconfig", Type: maps.Array, KeySize: 4, ValueSize: ds.Size, MaxEntries: 1,
		Flags: maps.FlagRdonlyProg, Frozen: true, Contents: make([]byte, ds.Size), Value: ds}
	for _, v := range ds.Vars {
		val, ok := l.kconfigValue(v.Type.TypeName())
		if !ok {
			continue
		}
		if uint64(v.Offset)+uint64(v.Size) > uint64(ds.Size) || v.Size > 8 {
			return nil, fmt.Errorf(".kconfig: extern %s out of range", v.Type.TypeName())
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], val)
		copy(m.Contents[v.Offset:v.Offset+v.Size], b[:v.Size])
	}
	l.out.Maps[".kconfig"] = m
	return m, nil
}
