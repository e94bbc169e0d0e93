// Package loader turns ELF objects built by clang for BPF into gobee specs.
//
// It reuses github.com/cilium/ebpf for the ELF and BTF parsing (sections,
// symbols, relocations, BTF-defined and legacy maps, global data, BTF
// func/line info, CO-RE relocation records) and adds what gobee needs on
// top: libbpf's SEC() table with the kernel's program and attach type
// numbers, programs as isa.Instructions with bpf-to-bpf calls resolved to
// pc-relative slot offsets, a record of every lddw that refers to a map,
// CO-RE applied against a target BTF, and .kconfig externs filled in.
package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/maps"
)

// DefaultKernelBTF is where the running kernel exposes its BTF.
const DefaultKernelBTF = "/sys/kernel/btf/vmlinux"

// Options configure loading. The zero value is usable.
type Options struct {
	// KernelBTF is the target of CO-RE relocations against types that
	// ContextBTF does not define. If nil, the file at KernelBTFPath
	// (default DefaultKernelBTF) is loaded, but only when some relocation
	// needs it. See core.go.
	KernelBTF     *btf.Spec
	KernelBTFPath string
	// ContextBTF is the target of CO-RE relocations against the types it
	// defines; nil means gobee's own (progtype.ContextBTF: struct xdp_md,
	// __sk_buff, ...), so that those resolve without a kernel.
	ContextBTF []*btf.Spec
	// Kconfig overrides or adds values of .kconfig externs (see
	// KconfigDefaults).
	Kconfig map[string]uint64
}

// CollectionSpec is everything an object defines.
type CollectionSpec struct {
	Programs map[string]*ProgramSpec
	Maps     map[string]*MapSpec
}

// RefKind says how an lddw refers to a map.
type RefKind uint8

const (
	// RefFD is BPF_PSEUDO_MAP_FD: the lddw loads the map itself.
	RefFD RefKind = iota + 1
	// RefValue is BPF_PSEUDO_MAP_VALUE: the lddw loads the address of the
	// map's value (key 0) plus Offset: global variables.
	RefValue
)

func (k RefKind) String() string {
	switch k {
	case RefFD:
		return "fd"
	case RefValue:
		return "value"
	}
	return fmt.Sprintf("RefKind(%d)", uint8(k))
}

// MapRef is one lddw that references a map.
type MapRef struct {
	// Index is the instruction's index in ProgramSpec.Instructions.
	Index  int
	Map    string
	Kind   RefKind
	Offset uint32
}

// Extern is a reference the loader could not resolve by itself: a kfunc
// call or a __ksym variable. Link refuses programs that have any.
type Extern struct {
	Index int
	Name  string
	Kind  string // "kfunc" or "ksym"
}

// LineInfo is the C source of an instruction (from BTF line info).
type LineInfo struct {
	File   string
	Line   uint32
	Column uint32
	Text   string
}

// ProgramSpec is one program: an entry function with every subprogram it
// calls linked in after it.
type ProgramSpec struct {
	Name        string
	SectionName string
	Type        ProgType
	AttachType  AttachType
	AttachTo    string
	// Flags are BPF_PROG_LOAD flags implied by the section (sleepable,
	// xdp frags).
	Flags   uint32
	License string
	// Instructions: the entry function first, then its subprograms;
	// local calls and function-address lddws carry pc-relative slot
	// offsets, lddws of maps carry a zero fd (see MapRefs and Link).
	Instructions isa.Instructions
	MapRefs      []MapRef
	Externs      []Extern
	// Funcs maps the index of each function's first instruction to its
	// name (BTF func info, or the ELF symbol).
	Funcs map[int]string
	// Lines maps instruction indexes to their C source line, where the
	// object has BTF line info.
	Lines map[int]LineInfo
	// ByteOrder is the object's byte order.
	ByteOrder binary.ByteOrder
}

// MapSpec is one map an object defines.
type MapSpec struct {
	Name                           string
	Type                           maps.Type
	KeySize, ValueSize, MaxEntries uint32
	Flags                          uint32
	MapExtra                       uint64
	InnerMap                       *MapSpec
	// Contents is the initial value of element 0 of a global data map
	// (.rodata, .data, .bss and named variants, .kconfig).
	Contents []byte
	// Frozen: the map is frozen after Contents is written (.rodata,
	// .kconfig), as libbpf does.
	Frozen bool
	// Key and Value are the BTF types, where known.
	Key, Value btf.Type
}

// Spec returns the maps.Spec to create m with. The name is truncated to
// the kernel's 15 characters.
func (m *MapSpec) Spec() maps.Spec {
	name := m.Name
	if len(name) > 15 {
		name = name[:15]
	}
	return maps.Spec{Name: name, Type: m.Type, KeySize: m.KeySize, ValueSize: m.ValueSize,
		MaxEntries: m.MaxEntries, Flags: m.Flags, MapExtra: m.MapExtra, Fields: ValueFields(m.Value)}
}

// ValueFields finds the special fields of a map value's BTF type, as the
// kernel's btf_parse_fields: members (of the value struct, or of structs
// nested in it) whose type, past typedefs and qualifiers, is struct
// bpf_spin_lock or struct bpf_timer. A second field of a kind is kept as
// a pair of that kind, so that maps.New refuses it with the kernel's
// E2BIG. A value that is not a struct has none.
func ValueFields(t btf.Type) [maps.MaxFields]maps.Field {
	var out [maps.MaxFields]maps.Field
	n := 0
	var walk func(t btf.Type, base uint32) bool
	walk = func(t btf.Type, base uint32) bool {
		var members []btf.Member
		switch s := btf.UnderlyingType(t).(type) {
		case *btf.Struct:
			members = s.Members
		case *btf.Union:
			members = s.Members
		default:
			return true
		}
		for _, mb := range members {
			if mb.BitfieldSize != 0 || mb.Offset%8 != 0 {
				continue
			}
			off := base + uint32(mb.Offset/8)
			var kind maps.FieldKind
			switch st := btf.UnderlyingType(mb.Type).(type) {
			case *btf.Struct:
				switch st.Name {
				case "bpf_spin_lock":
					kind = maps.FieldSpinLock
				case "bpf_timer":
					kind = maps.FieldTimer
				default:
					if !walk(st, off) {
						return false
					}
					continue
				}
			case *btf.Union:
				if !walk(st, off) {
					return false
				}
				continue
			default:
				continue
			}
			for i := 0; i < n; i++ {
				if out[i].Kind == kind {
					out = [maps.MaxFields]maps.Field{out[i], {Kind: kind, Offset: off}}
					return false
				}
			}
			if n < len(out) {
				out[n] = maps.Field{Kind: kind, Offset: off}
				n++
			}
		}
		return true
	}
	if t != nil {
		walk(t, 0)
	}
	return out
}

// Load reads the object at path.
func Load(path string) (*CollectionSpec, error) { return LoadWith(path, nil) }

// LoadWith reads the object at path with options.
func LoadWith(path string, opts *Options) (*CollectionSpec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return loadNamed(f, path, opts)
}

// LoadReader reads an object from r.
func LoadReader(r io.ReaderAt) (*CollectionSpec, error) { return LoadReaderWith(r, nil) }

// LoadReaderWith reads an object from r with options.
func LoadReaderWith(r io.ReaderAt, opts *Options) (*CollectionSpec, error) {
	return loadNamed(r, "object", opts)
}

// Error is a load error with the place it happened.
type Error struct {
	File    string
	Section string
	Program string
	// Insn is the instruction index, or -1.
	Insn int
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Program != "" {
		fmt.Fprintf(&b, ": program %s", e.Program)
	}
	if e.Section != "" {
		fmt.Fprintf(&b, " (section %s)", e.Section)
	}
	if e.Insn >= 0 {
		fmt.Fprintf(&b, ": instruction %d", e.Insn)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errors the loader returns (wrapped in *Error).
var (
	ErrUnknownSection = errors.New("unknown section name")
	ErrMissingMap     = errors.New("reference to a map the object does not define")
	ErrMissingFunc    = errors.New("call to a function the program does not contain")
	ErrUnknownKconfig = errors.New("unknown .kconfig extern")
	ErrCORE           = errors.New("CO-RE relocation failed")
)

func loadNamed(r io.ReaderAt, file string, opts *Options) (cs *CollectionSpec, err error) {
	if opts == nil {
		opts = &Options{}
	}
	// cilium/ebpf is robust, but a panic on hostile input must still
	// become an error.
	defer func() {
		if p := recover(); p != nil {
			cs, err = nil, &Error{File: file, Insn: -1, Err: fmt.Errorf("malformed object: %v", p)}
		}
	}()
	if err := checkSectionSizes(r); err != nil {
		return nil, &Error{File: file, Insn: -1, Err: err}
	}
	ccs, err := ebpf.LoadCollectionSpecFromReader(r)
	if err != nil {
		return nil, &Error{File: file, Insn: -1, Err: err}
	}
	l := &linker{file: file, opts: opts, ccs: ccs, r: r}
	return l.run()
}

type linker struct {
	file string
	opts *Options
	ccs  *ebpf.CollectionSpec
	r    io.ReaderAt
	out  *CollectionSpec
	ext  *externIndex
}

func (l *linker) run() (*CollectionSpec, error) {
	l.out = &CollectionSpec{Programs: map[string]*ProgramSpec{}, Maps: map[string]*MapSpec{}}
	for name, m := range l.ccs.Maps {
		ms, err := convertMap(name, m)
		if err != nil {
			return nil, &Error{File: l.file, Section: name, Insn: -1, Err: err}
		}
		l.out.Maps[name] = ms
	}
	names := make([]string, 0, len(l.ccs.Programs))
	for name := range l.ccs.Programs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := l.ccs.Programs[name]
		ps, err := l.program(name, p)
		if err != nil {
			var le *Error
			if errors.As(err, &le) {
				return nil, err
			}
			return nil, &Error{File: l.file, Section: p.SectionName, Program: name, Insn: -1, Err: err}
		}
		l.out.Programs[name] = ps
	}
	return l.out, nil
}

func convertMap(name string, m *ebpf.MapSpec) (*MapSpec, error) {
	ms := &MapSpec{
		Name: name, Type: maps.Type(m.Type), KeySize: m.KeySize, ValueSize: m.ValueSize,
		MaxEntries: m.MaxEntries, Flags: m.Flags, MapExtra: m.MapExtra, Key: m.Key, Value: m.Value,
	}
	if m.InnerMap != nil {
		inner, err := convertMap(m.InnerMap.Name, m.InnerMap)
		if err != nil {
			return nil, err
		}
		ms.InnerMap = inner
	}
	if isGlobalData(name) {
		if m.ValueSize > maxGlobalData {
			return nil, fmt.Errorf("global data map %s: %d bytes exceed gobee's limit of %d", name, m.ValueSize, maxGlobalData)
		}
		ms.Contents = make([]byte, m.ValueSize)
		for _, kv := range m.Contents {
			if k, ok := kv.Key.(uint32); !ok || k != 0 {
				return nil, fmt.Errorf("global data map %s: unexpected key %v", name, kv.Key)
			}
			v, ok := kv.Value.([]byte)
			if !ok || len(v) > int(m.ValueSize) {
				return nil, fmt.Errorf("global data map %s: bad contents", name)
			}
			copy(ms.Contents, v)
		}
		if strings.HasPrefix(name, ".rodata") {
			ms.Frozen = true
			ms.Flags |= maps.FlagRdonlyProg
		}
	}
	return ms, nil
}

// maxGlobalData bounds a global data section. A .bss has no bytes in the
// file, so a corrupt section header could otherwise make the loader zero
// gigabytes; real programs stay far below this.
const maxGlobalData = 64 << 20

// checkSectionSizes refuses sections without file data (.bss and other
// SHT_NOBITS) larger than maxGlobalData before cilium/ebpf allocates them:
// their size comes only from the header, so a corrupt header would cost
// seconds and gigabytes. Objects that debug/elf cannot read are left to
// cilium, which reports them with more context.
func checkSectionSizes(r io.ReaderAt) error {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil
	}
	for _, sec := range f.Sections {
		if sec.Type == elf.SHT_NOBITS && sec.Size > maxGlobalData {
			return fmt.Errorf("section %s: %d bytes exceed gobee's limit of %d for global data", sec.Name, sec.Size, maxGlobalData)
		}
	}
	return nil
}

// isGlobalData reports whether a map holds the object's global variables.
func isGlobalData(name string) bool {
	for _, p := range []string{".rodata", ".data", ".bss"} {
		if name == p || strings.HasPrefix(name, p+".") {
			return true
		}
	}
	return false
}

func (l *linker) program(name string, p *ebpf.ProgramSpec) (*ProgramSpec, error) {
	sec, ok := ClassifySection(p.SectionName)
	if !ok {
		return nil, ErrUnknownSection
	}
	ps := &ProgramSpec{
		Name: name, SectionName: p.SectionName, Type: sec.Def.Type, AttachTo: sec.AttachTo,
		Flags: sec.Def.Flags, License: p.License, ByteOrder: p.ByteOrder,
		Funcs: map[int]string{}, Lines: map[int]LineInfo{},
	}
	if sec.Def.HasAttachType {
		ps.AttachType = sec.Def.Attach
	}
	if ps.ByteOrder == nil {
		ps.ByteOrder = binary.LittleEndian
	}
	insns := make(asm.Instructions, len(p.Instructions))
	copy(insns, p.Instructions)
	errAt := func(i int, err error) error {
		return &Error{File: l.file, Section: p.SectionName, Program: name, Insn: i, Err: err}
	}
	if err := l.applyCORE(insns, ps.ByteOrder, errAt); err != nil {
		return nil, err
	}

	// Slot index of every instruction and of every function symbol.
	slots := make([]int, len(insns)+1)
	symSlot := map[string]int{}
	symIdx := map[string]int{}
	n := 0
	for i := range insns {
		slots[i] = n
		if s := insns[i].Symbol(); s != "" {
			symSlot[s] = n
			symIdx[s] = i
			ps.Funcs[i] = s
		}
		n += int(insns[i].Size() / asm.InstructionSize)
	}
	slots[len(insns)] = n

	var buf bytes.Buffer
	ps.Instructions = make(isa.Instructions, 0, len(insns))
	for i := range insns {
		ins := insns[i]
		if fn := btf.FuncMetadata(&ins); fn != nil {
			ps.Funcs[i] = fn.Name
		}
		if li, ok := ins.Source().(*btf.Line); ok && li != nil {
			ps.Lines[i] = LineInfo{File: li.FileName(), Line: li.LineNumber(), Column: li.LineColumn(), Text: li.Line()}
		}
		ref := ins.Reference()
		switch {
		case ins.IsKfuncCall():
			ps.Externs = append(ps.Externs, Extern{Index: i, Name: ref, Kind: "kfunc"})
			ins.Constant = 0
		case ins.IsFunctionReference():
			target, ok := symSlot[ref]
			if !ok {
				return nil, errAt(i, fmt.Errorf("%w: %q", ErrMissingFunc, ref))
			}
			rel := int64(target - slots[i] - 1)
			if ins.OpCode.IsDWordLoad() {
				ins.Constant = rel
			} else {
				ins.Constant = rel
			}
		case ins.IsLoadFromMap():
			kind := RefFD
			if ins.Src == asm.PseudoMapValue {
				kind = RefValue
			}
			mr := MapRef{Index: i, Map: ref, Kind: kind, Offset: uint32(uint64(ins.Constant) >> 32)}
			if ref == "" {
				// A .kconfig extern: cilium marks it without a name.
				var err error
				mr, err = l.kconfigRef(p, symIdx, slots, insns, i)
				if err != nil {
					return nil, errAt(i, err)
				}
			} else if _, ok := l.out.Maps[ref]; !ok {
				return nil, errAt(i, fmt.Errorf("%w: %q", ErrMissingMap, ref))
			}
			ps.MapRefs = append(ps.MapRefs, mr)
			ins.Constant = int64(uint64(mr.Offset) << 32)
		case ins.OpCode.IsDWordLoad() && ref != "":
			ps.Externs = append(ps.Externs, Extern{Index: i, Name: ref, Kind: "ksym"})
			ins.Constant = 0
		case ref != "":
			return nil, errAt(i, fmt.Errorf("unresolved reference to %q", ref))
		}
		buf.Reset()
		if _, err := ins.Marshal(&buf, ps.ByteOrder); err != nil {
			return nil, errAt(i, err)
		}
		dec, err := isa.Decode(buf.Bytes(), ps.ByteOrder)
		if err != nil || len(dec) != 1 {
			return nil, errAt(i, fmt.Errorf("decode: %v", err))
		}
		ps.Instructions = append(ps.Instructions, dec[0])
	}
	return ps, nil
}

var (
	btfCacheMu sync.Mutex
	btfCache   = map[string]*btf.Spec{}
)

// loadBTFCached loads a target BTF file once per process: vmlinux BTF is
// large and immutable.
func loadBTFCached(path string) (*btf.Spec, error) {
	btfCacheMu.Lock()
	defer btfCacheMu.Unlock()
	if s, ok := btfCache[path]; ok {
		return s, nil
	}
	s, err := btf.LoadSpec(path)
	if err != nil {
		return nil, err
	}
	btfCache[path] = s
	return s, nil
}
