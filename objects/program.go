package objects

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobee-dev/gobee/helpers"
	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/kfuncs"
	"github.com/gobee-dev/gobee/loader"
	"github.com/gobee-dev/gobee/maps"
	"github.com/gobee-dev/gobee/pkthelpers"
	"github.com/gobee-dev/gobee/progtype"
	"github.com/gobee-dev/gobee/testrun"
)

// ProgramSpec describes a program, as the loader produces it (cilium/ebpf:
// ebpf.ProgramSpec). Its instructions are isa.Instructions and its map
// references are by name (MapRefs).
type ProgramSpec = loader.ProgramSpec

// ProgramOptions are the options of NewProgramWithOptions (and of every
// program of NewCollectionWithOptions).
type ProgramOptions struct {
	// Maps binds the program's map references by name (NewProgram only;
	// a collection binds its own maps).
	Maps map[string]*Map
	// Env is the helpers' environment (clock, task identity, random
	// source). Its Trace is replaced by TracePipe when that is set.
	Env *helpers.Env
	// TracePipe receives bpf_trace_printk output. If nil, the program (or
	// the collection) has a pipe of its own; see TracePipe methods.
	TracePipe *helpers.TracePipe
}

// ErrNotSupported is returned for what gobee cannot do (yet), as
// cilium/ebpf's ErrNotSupported.
var ErrNotSupported = errors.New("not supported")

// progObject is the program as the "kernel" holds it.
type progObject struct {
	reg    *Registry
	id     uint32
	progID uint32 // id in the maps package's program registry (prog array values)
	name   string
	spec   *ProgramSpec
	typ    progtype.Type
	attach progtype.AttachType
	linked *loader.Linked
	prog   *interp.Program
	// regions are the global-data values the runs may address directly.
	regions []interp.Region
	// ctxEnd is how far into its context the program reaches (the
	// verifier's max_ctx_offset), which test runs check ctx_in against.
	ctxEnd   uint32
	mapNames []string
	maps     []*Map // handles held by the program, index for index with linked.Maps
	trace    *helpers.TracePipe
	tag      [8]byte
	loadedAt time.Time
	source   pinSource

	runCnt  atomic.Uint64
	runTime atomic.Uint64 // ns

	// Under progTable.mu:
	handles int
	pinned  string
	dead    bool
}

// Program and Type make progObject a maps.ProgramRef (prog arrays).
func (o *progObject) Program() *interp.Program { return o.prog }
func (o *progObject) Type() uint32             { return uint32(o.typ) }

// Program is a handle to a loaded program, like cilium/ebpf's *Program.
// The program lives while it has handles or is pinned.
type Program struct {
	obj    *progObject
	closed atomic.Bool
}

// progTable is a registry's programs (the kernel's prog_idr). It lives
// beside the Registry's maps, keyed by registry.
type progTable struct {
	mu     sync.Mutex
	nextID uint32
	progs  map[uint32]*progObject
	pins   map[string]*progObject
}

var progTables sync.Map // *Registry → *progTable

func (r *Registry) progTable() *progTable {
	if t, ok := progTables.Load(r); ok {
		return t.(*progTable)
	}
	t, _ := progTables.LoadOrStore(r, &progTable{progs: map[uint32]*progObject{}, pins: map[string]*progObject{}})
	return t.(*progTable)
}

// NewProgram loads a program into the default registry (BPF_PROG_LOAD).
// A program that references maps needs NewProgramWithOptions with
// ProgramOptions.Maps, or NewCollection.
func NewProgram(spec *ProgramSpec) (*Program, error) { return Default().NewProgram(spec) }

// NewProgramWithOptions loads a program into the default registry.
func NewProgramWithOptions(spec *ProgramSpec, opts ProgramOptions) (*Program, error) {
	return Default().NewProgramWithOptions(spec, opts)
}

// NewProgram loads a program (BPF_PROG_LOAD).
func (r *Registry) NewProgram(spec *ProgramSpec) (*Program, error) {
	return r.NewProgramWithOptions(spec, ProgramOptions{})
}

// NewProgramWithOptions loads a program, binding its map references to
// opts.Maps by name.
func (r *Registry) NewProgramWithOptions(spec *ProgramSpec, opts ProgramOptions) (*Program, error) {
	if spec == nil {
		return nil, errorf(unix.EINVAL, "nil ProgramSpec")
	}
	handles := map[string]*Map{}
	for _, ref := range spec.MapRefs {
		m := opts.Maps[ref.Map]
		if m == nil {
			return nil, fmt.Errorf("program %s: instruction %d: map %q: %w (give it in ProgramOptions.Maps, or use NewCollection)",
				spec.Name, ref.Index, ref.Map, unix.EBADF)
		}
		handles[ref.Map] = m
	}
	env, pipe := programEnv(opts)
	return r.loadProgram(spec, handles, env, pipe, nil, pinSource{})
}

// programEnv returns the helpers' environment and trace pipe of opts.
func programEnv(opts ProgramOptions) (*helpers.Env, *helpers.TracePipe) {
	env := helpers.Env{}
	if opts.Env != nil {
		env = *opts.Env
	}
	pipe := opts.TracePipe
	if pipe == nil {
		pipe = env.Trace
	}
	if pipe == nil {
		pipe = helpers.NewTracePipe()
	}
	env.Trace = pipe
	return &env, pipe
}

// HelperError is a program calling a helper it may not call, or one gobee
// does not implement: the verifier's refusal at load time.
type HelperError struct {
	Program string
	// Insn is the instruction's slot index, as the verifier counts.
	Insn int
	ID   int32
	Name string
	// NotImplemented: the program type may call the helper, but gobee has
	// no implementation of it.
	NotImplemented bool
	Type           progtype.Type
}

func (e *HelperError) Error() string {
	if e.NotImplemented {
		return fmt.Sprintf("program %s: instruction %d: helper %s#%d is not implemented by gobee", e.Program, e.Insn, e.Name, e.ID)
	}
	return fmt.Sprintf("program %s: instruction %d: program of this type cannot use helper %s#%d (type %v)",
		e.Program, e.Insn, e.Name, e.ID, e.Type)
}

// Unwrap returns EINVAL, the errno of BPF_PROG_LOAD.
func (e *HelperError) Unwrap() error { return unix.EINVAL }

func helperName(id int32) string {
	if n, ok := progtype.HelperNames[id]; ok {
		return n
	}
	return "unknown"
}

// bhOffInTestRun are the program types whose BPF_PROG_TEST_RUN runs with
// bottom halves disabled (net/bpf/test_run.c's bpf_test_run), which shows
// as "b" in the flags of their trace_pipe lines (seen on Linux 6.18 for XDP
// and socket filters; the other skb types share that path).
var bhOffInTestRun = map[progtype.Type]bool{
	progtype.XDP: true, progtype.SocketFilter: true, progtype.SchedCLS: true, progtype.SchedACT: true,
	progtype.CGroupSKB: true, progtype.LWTIn: true, progtype.LWTOut: true, progtype.LWTXmit: true,
}

// helperTable is the table a program of type t gets: the generic helpers,
// the map and callback helpers and the packet helpers, keeping only those
// t may call.
func helperTable(t progtype.Type, env *helpers.Env) map[int32]interp.HelperFunc {
	if env != nil && env.TraceFlags == "" && bhOffInTestRun[t] {
		e := *env
		e.TraceFlags = "b..11"
		env = &e
	}
	info := progtype.Lookup(t)
	all := map[int32]interp.HelperFunc{}
	for _, src := range []map[int32]interp.HelperFunc{helpers.Table(env), maps.Helpers(), maps.CallbackHelpers(), pkthelpers.Table(t, nil)} {
		for id, fn := range src {
			all[id] = fn
		}
	}
	out := make(map[int32]interp.HelperFunc, len(all))
	for id, fn := range all {
		if info != nil && info.Helpers.Has(id) {
			// The verifier's rule against calls under bpf_spin_lock,
			// checked at run time.
			out[id] = maps.LockChecked(id, fn)
		}
	}
	return out
}

// checkHelpers refuses calls of helpers the type does not allow or gobee
// does not have, naming the instruction.
func checkHelpers(name string, t progtype.Type, insns isa.Instructions, table map[int32]interp.HelperFunc) error {
	info := progtype.Lookup(t)
	slots := insns.SlotIndex()
	for i, ins := range insns {
		if !ins.IsHelperCall() {
			continue
		}
		id := ins.Imm32()
		if id == interp.HelperTailCall && info != nil && info.Helpers.Has(id) {
			continue
		}
		if info == nil || !info.Helpers.Has(id) {
			return &HelperError{Program: name, Insn: slots[i], ID: id, Name: helperName(id), Type: t}
		}
		if table[id] == nil {
			return &HelperError{Program: name, Insn: slots[i], ID: id, Name: helperName(id), Type: t, NotImplemented: true}
		}
	}
	return nil
}

// loadProgram links spec to the maps and loads it. The program takes its
// own handle of each map. extraRegions are global-data regions of other
// programs of the same collection (for tail calls between them).
func (r *Registry) loadProgram(spec *ProgramSpec, ms map[string]*Map, env *helpers.Env, pipe *helpers.TracePipe,
	extraRegions []interp.Region, src pinSource) (_ *Program, err error) {
	typ := ProgTypeOf(spec.Type)
	if progtype.Lookup(typ) == nil {
		return nil, fmt.Errorf("program %s: %w: unknown program type %v", spec.Name, unix.EINVAL, spec.Type)
	}
	storage := make(map[string]maps.Map, len(ms))
	for name, m := range ms {
		s := m.Storage()
		if s == nil {
			return nil, fmt.Errorf("program %s: map %q: %w", spec.Name, name, errClosed)
		}
		storage[name] = s
	}
	linked, err := loader.LinkWithOptions(spec, storage, kfuncLinkOptions(typ))
	if err != nil {
		return nil, err
	}
	table := helperTable(typ, env)
	if err := checkHelpers(spec.Name, typ, linked.Instructions, table); err != nil {
		return nil, err
	}
	prog, err := interp.Load(linked.Instructions, &interp.Options{
		Helpers: table, Kfuncs: kfuncs.Table(typ), TailCall: maps.TailCall, ResolveImm64: linked.ResolveImm64,
	})
	if err != nil {
		return nil, fmt.Errorf("program %s: %w", spec.Name, err)
	}
	o := &progObject{
		reg: r, name: spec.Name, spec: spec, typ: typ, attach: AttachTypeOf(spec.AttachType),
		linked: linked, prog: prog, trace: pipe, tag: Tag(spec.Instructions), loadedAt: time.Now(),
		mapNames: linked.Names, source: src, handles: 1, ctxEnd: testrun.MaxCtxOffset(linked.Instructions),
	}
	defer func() {
		if err != nil {
			for _, h := range o.maps {
				h.Close()
			}
		}
	}()
	for _, name := range linked.Names {
		h, err := ms[name].Clone()
		if err != nil {
			return nil, fmt.Errorf("program %s: map %q: %w", spec.Name, name, err)
		}
		o.maps = append(o.maps, h)
	}
	o.regions = mergeRegions(linked.Regions(), extraRegions)
	o.progID = maps.RegisterProgram(o)
	t := r.progTable()
	t.mu.Lock()
	t.nextID++
	o.id = t.nextID
	t.progs[o.id] = o
	t.mu.Unlock()
	return &Program{obj: o}, nil
}

// mergeRegions appends the regions of b that a does not have.
func mergeRegions(a, b []interp.Region) []interp.Region {
	out := append([]interp.Region(nil), a...)
	for _, rb := range b {
		dup := false
		for _, ra := range out {
			if len(ra.Mem) > 0 && len(rb.Mem) > 0 && &ra.Mem[0] == &rb.Mem[0] {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, rb)
		}
	}
	return out
}

// Tag is the kernel's program tag (bpf_prog_calc_tag): the first 8 bytes
// of the SHA-256 of the instructions as loaded, with the immediates of
// map-referencing lddws (BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE) zeroed
// in both halves, since map fds are not stable. (Linux 6.18 hashes with
// SHA-256; kernels before 6.18 used SHA-1.)
func Tag(insns isa.Instructions) [8]byte {
	cp := append(isa.Instructions(nil), insns...)
	for i := range cp {
		if cp[i].IsLDDW() && (cp[i].Src == isa.PseudoMapFD || cp[i].Src == isa.PseudoMapValue) {
			cp[i].Imm = 0
		}
	}
	sum := sha256.Sum256(cp.Encode(nil, binary.LittleEndian))
	var tag [8]byte
	copy(tag[:], sum[:8])
	return tag
}

// use returns the program object, or an error for a closed handle.
func (p *Program) use() (*progObject, error) {
	if p == nil || p.obj == nil || p.closed.Load() {
		return nil, errProgClosed
	}
	return p.obj, nil
}

var errProgClosed = &maps.Error{Errno: unix.EBADF, Msg: "program handle is closed"}

// FD returns the number that stands for the program in a PROG_ARRAY:
// gobee's analogue of a program fd. Put it into a program array as the
// value (cilium/ebpf accepts the *Program itself; gobee's Map takes the
// number).
func (p *Program) FD() int {
	o, err := p.use()
	if err != nil {
		return -1
	}
	return int(o.progID)
}

// ID is the program's ID in its registry.
func (p *Program) ID() uint32 { return p.obj.id }

// Type is the program's type.
func (p *Program) Type() ProgramType { return p.obj.spec.Type }

// String describes the program like cilium/ebpf: "XDP(name)#id".
func (p *Program) String() string {
	return fmt.Sprintf("%v(%s)#%d", p.obj.typ, p.obj.name, p.obj.id)
}

// TracePipe is where the program's bpf_trace_printk output goes.
func (p *Program) TracePipe() *helpers.TracePipe { return p.obj.trace }

// Interp returns the loaded interpreter program (for embedding gobee in a
// harness of one's own).
func (p *Program) Interp() *interp.Program { return p.obj.prog }

// Regions returns the global-data regions a run of the program must be
// given (interp.Input.Regions) when it is run directly through Interp.
func (p *Program) Regions() []interp.Region { return p.obj.regions }

// Clone returns a new handle to the same program.
func (p *Program) Clone() (*Program, error) {
	o, err := p.use()
	if err != nil {
		return nil, err
	}
	t := o.reg.progTable()
	t.mu.Lock()
	defer t.mu.Unlock()
	o.handles++
	return &Program{obj: o}, nil
}

// Close releases the handle. The program is unloaded when it has no
// handles and is not pinned.
func (p *Program) Close() error {
	if p == nil || p.obj == nil || !p.closed.CompareAndSwap(false, true) {
		return nil
	}
	t := p.obj.reg.progTable()
	t.mu.Lock()
	defer t.mu.Unlock()
	p.obj.handles--
	return t.maybeFree(p.obj)
}

// maybeFree unloads o if it has neither handles nor a pin. Called with
// t.mu held.
func (t *progTable) maybeFree(o *progObject) error {
	if o.handles > 0 || o.pinned != "" || o.dead {
		return nil
	}
	o.dead = true
	delete(t.progs, o.id)
	maps.UnregisterProgram(o.progID)
	var first error
	for _, m := range o.maps {
		if err := m.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ProgramIDs lists the IDs of the loaded programs, in order.
func (r *Registry) ProgramIDs() []uint32 {
	t := r.progTable()
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := make([]uint32, 0, len(t.progs))
	for id := range t.progs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// ProgramFromID returns a new handle to the program with this ID
// (BPF_PROG_GET_FD_BY_ID); ENOENT if there is none.
func (r *Registry) ProgramFromID(id uint32) (*Program, error) {
	t := r.progTable()
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.progs[id]
	if o == nil {
		return nil, errorf(unix.ENOENT, "no program with ID %d", id)
	}
	o.handles++
	return &Program{obj: o}, nil
}

// ProgramInfo is what BPF_OBJ_GET_INFO_BY_FD says about a program
// (cilium/ebpf: ebpf.ProgramInfo).
type ProgramInfo struct {
	Type       ProgramType
	AttachType AttachType
	Name       string
	// Tag is the kernel's program tag in hex (see Tag).
	Tag      string
	LoadedAt time.Time
	GPL      bool
	// Pinned is where the program is pinned, if it is.
	Pinned string

	id       uint32
	runCnt   uint64
	runTime  time.Duration
	mapIDs   []uint32
	xlated   isa.Instructions
	mapNames []string
}

// ID is the program's ID.
func (pi *ProgramInfo) ID() (uint32, bool) { return pi.id, pi.id != 0 }

// RunCount is the number of runs so far (gobee always counts them, as
// the kernel does with kernel.bpf_stats_enabled=1).
func (pi *ProgramInfo) RunCount() (uint64, bool) { return pi.runCnt, true }

// Runtime is the total time of the runs so far.
func (pi *ProgramInfo) Runtime() (time.Duration, bool) { return pi.runTime, true }

// MapIDs are the IDs of the maps the program uses.
func (pi *ProgramInfo) MapIDs() ([]uint32, bool) { return pi.mapIDs, true }

// MapNames are the names of the maps the program uses, index for index
// with MapIDs and with the map indexes of the xlated lddws.
func (pi *ProgramInfo) MapNames() []string { return pi.mapNames }

// Instructions are the program as gobee runs it (bpftool's "xlated"):
// map references are BPF_PSEUDO_MAP_IDX / _IDX_VALUE lddws whose index
// is into MapIDs.
func (pi *ProgramInfo) Instructions() (isa.Instructions, error) { return pi.xlated, nil }

// Info describes the program.
func (p *Program) Info() (*ProgramInfo, error) {
	o, err := p.use()
	if err != nil {
		return nil, err
	}
	info := &ProgramInfo{
		Type: o.spec.Type, AttachType: o.spec.AttachType, Name: o.name, Tag: hex.EncodeToString(o.tag[:]),
		LoadedAt: o.loadedAt, GPL: gplCompatible(o.spec.License), id: o.id,
		runCnt: o.runCnt.Load(), runTime: time.Duration(o.runTime.Load()),
		xlated: append(isa.Instructions(nil), o.linked.Instructions...), mapNames: o.mapNames,
	}
	for _, m := range o.maps {
		info.mapIDs = append(info.mapIDs, m.ID())
	}
	t := o.reg.progTable()
	t.mu.Lock()
	info.Pinned = o.pinned
	t.mu.Unlock()
	return info, nil
}

// gplCompatible is the kernel's license_is_gpl_compatible.
func gplCompatible(l string) bool {
	switch l {
	case "GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL":
		return true
	}
	return false
}

// AvailableHelpers lists the helper ids a program of type t can call
// under gobee: those the kernel allows the type and gobee implements.
func AvailableHelpers(t progtype.Type) []int32 {
	table := helperTable(t, nil)
	ids := make([]int32, 0, len(table)+1)
	for id := range table {
		ids = append(ids, id)
	}
	if info := progtype.Lookup(t); info != nil && info.Helpers.Has(interp.HelperTailCall) {
		ids = append(ids, interp.HelperTailCall)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Spec returns the spec the program was loaded from (function names and
// source lines for listings). It must not be modified.
func (p *Program) Spec() *ProgramSpec { return p.obj.spec }
