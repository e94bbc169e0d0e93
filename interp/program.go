package interp

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/gobee-dev/gobee/isa"
)

// Program is a loaded program. It is immutable and safe for concurrent
// runs from many goroutines.
type Program struct {
	insts     []inst // indexed by slot; the second slot of an lddw is unused
	funcs     []HelperFunc
	opts      Options
	budget    uint64
	tailCall  TailCallFunc
	unchecked bool
	pool      sync.Pool // *Run
}

// funcAddrBase is where lddw of a function (BPF_PSEUDO_FUNC) points: a
// tag in the kernel-text-like upper half that no Go memory uses, so a
// program can pass it to callx or a callback helper but never dereference
// it.
const funcAddrBase = 0xffff_ffff_a000_0000

func funcAddr(slot int) uint64 { return funcAddrBase + uint64(slot)*isa.InstructionSize }

// funcSlot returns the slot a function address points to.
func (p *Program) funcSlot(addr uint64) (int, bool) {
	if addr < funcAddrBase || (addr-funcAddrBase)%isa.InstructionSize != 0 {
		return 0, false
	}
	slot := (addr - funcAddrBase) / isa.InstructionSize
	if slot >= uint64(len(p.insts)) || p.insts[slot].op == opInvalid {
		return 0, false
	}
	return int(slot), true
}

// Load validates insns (isa.Validate) and decodes them for the run loop.
// Calls to helpers and kfuncs that opts does not provide are rejected here,
// so a run never meets an unknown call.
func Load(insns isa.Instructions, opts *Options) (*Program, error) {
	if opts == nil {
		opts = &Options{}
	}
	if err := insns.Validate(); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	c := &compiler{opts: opts, slots: insns.SlotIndex()}
	p := &Program{
		insts:     make([]inst, c.slots[len(insns)]),
		opts:      *opts,
		budget:    opts.Budget,
		tailCall:  opts.TailCall,
		unchecked: opts.Unchecked,
	}
	if p.budget == 0 {
		p.budget = DefaultBudget
	}
	for i, ins := range insns {
		in, err := c.compile(i, ins)
		if err != nil {
			return nil, fmt.Errorf("load: %w", &isa.Error{Insn: c.slots[i], Err: err})
		}
		p.insts[c.slots[i]] = in
	}
	p.funcs = c.funcs
	return p, nil
}

// Len returns the program's length in slots.
func (p *Program) Len() int { return len(p.insts) }

// Addr returns the host address of b[0] as a program sees it (0 for an
// empty slice). The memory must stay where it is for the run: pass it in
// Input.Regions (which makes it escape to the heap and keeps it alive),
// never a slice that only lives on a goroutine stack.
func Addr(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

// frame is a caller's state saved by a bpf-to-bpf call.
type frame struct {
	prog  *Program // the caller's program (differs after a tail call)
	ret   int
	saved [4]uint64 // r6–r9
	fp    uint64
	loops uint32 // may_goto budget of the caller
}

// Run is the state of one run. Helpers receive it to reach the run's
// memory, context and CPU. It is only valid during the helper call.
type Run struct {
	prog     *Program
	regs     [16]uint64
	in       *Input
	frames   [isa.MaxCallFrames]frame
	depth    int
	loops    uint32
	tails    int
	budget   int64
	regions  []region
	stackMem *[isa.MaxCallFrames * isa.StackSize]byte
	// The active stack: the frames in use, [lo, lo+span).
	lo, span uint64
	base     unsafe.Pointer // address lo as a Go pointer
	// hot is the granted region that served the last access outside the
	// stack: packet loops hit it again and again.
	hot region
	// atExit are the helpers' end-of-run checks (OnExit).
	atExit []func(*Run) error
}

// region is a memory range the run may touch, in address form.
type region struct {
	addr, size uint64
	ptr        unsafe.Pointer
	writable   bool
	accessor   ContextAccessor
}

// Context returns the Input.Context of the run.
func (r *Run) Context() any { return r.in.Context }

// CPU returns the virtual CPU the run holds.
func (r *Run) CPU() int { return r.in.CPU }

// Program returns the program being run (the tail-called one after a tail
// call).
func (r *Run) Program() *Program { return r.prog }

// Packet returns Input.Packet.
func (r *Run) Packet() []byte { return r.in.Packet }

// Grant lets the rest of the run load from (and, if writable, store to)
// mem: helpers call it for memory they hand to the program, such as a map
// value returned by bpf_map_lookup_elem. mem must stay allocated and must
// not be reused while the run is in flight.
func (r *Run) Grant(mem []byte, writable bool) { r.grant(mem, writable, nil) }

func (r *Run) grant(mem []byte, writable bool, acc ContextAccessor) {
	if len(mem) == 0 {
		return
	}
	m := region{
		addr: Addr(mem), size: uint64(len(mem)),
		ptr: unsafe.Pointer(unsafe.SliceData(mem)), writable: writable, accessor: acc,
	}
	r.regions = append(r.regions, m)
	if acc == nil {
		// A program almost always touches what a helper just handed it
		// (a map value), so that is the region to try first.
		r.hot = m
	}
}

// Mem returns the n bytes at addr as a slice if the run may touch them
// (write: and store to them), for helpers that take pointer arguments.
func (r *Run) Mem(addr, n uint64, write bool) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	p := r.ptr(addr, n, write)
	if p == nil {
		return nil, fmt.Errorf("%w: %d bytes at %#x", ErrOutOfBounds, n, addr)
	}
	return unsafe.Slice((*byte)(p), n), nil
}

func (p *Program) getRun() *Run {
	if r, ok := p.pool.Get().(*Run); ok {
		return r
	}
	return &Run{prog: p, stackMem: new([isa.MaxCallFrames * isa.StackSize]byte)}
}

// Run executes the program once and returns r0. Runtime faults (an access
// outside the run's memory, an exhausted budget, a helper's error) come
// back as a *RuntimeError naming the instruction.
func (p *Program) Run(in *Input) (uint64, error) { return p.start(0, &in.Args, in) }

// start runs from slot pc with r1–r5 = args on a pooled Run.
func (p *Program) start(pc int, args *[5]uint64, in *Input) (uint64, error) {
	r := p.getRun()
	r.reset(p, in)
	copy(r.regs[1:6], args[:])
	ret, err := r.exec(pc, 0)
	if len(r.atExit) > 0 {
		err = r.runExitHooks(err)
	}
	r.in = nil
	r.regions = r.regions[:0]
	r.hot = region{}
	p.pool.Put(r)
	return ret, err
}

// OnExit registers fn to run when this run ends, whether the program
// exited or faulted, latest first. Helpers use it for state that must not
// outlive a run, such as a bpf_spin_lock still held (which the kernel's
// verifier refuses statically: "BPF_EXIT while holding a lock"). An error
// from fn becomes the run's error unless the run already failed.
func (r *Run) OnExit(fn func(*Run) error) { r.atExit = append(r.atExit, fn) }

func (r *Run) runExitHooks(err error) error {
	for i := len(r.atExit) - 1; i >= 0; i-- {
		if herr := r.atExit[i](r); herr != nil && err == nil {
			err = &RuntimeError{PC: -1, Err: herr}
		}
		r.atExit[i] = nil
	}
	r.atExit = r.atExit[:0]
	return err
}

func (r *Run) reset(p *Program, in *Input) {
	r.prog, r.in = p, in
	r.regs = [16]uint64{}
	r.depth, r.tails, r.loops = 0, 0, isa.MaxLoops
	r.budget = int64(p.budget)
	for _, m := range in.Regions {
		r.grant(m.Mem, m.Writable, m.Accessor)
	}
	top := Addr(r.stackMem[:]) + uint64(len(r.stackMem))
	r.regs[isa.RFP] = top
	r.setStack(top - isa.StackSize)
	clear(r.stackMem[len(r.stackMem)-isa.StackSize:])
}

// setStack makes [lo, top of stack) the accessible stack.
func (r *Run) setStack(lo uint64) {
	start := lo - Addr(r.stackMem[:])
	r.lo, r.span = lo, uint64(len(r.stackMem))-start
	r.base = unsafe.Pointer(&r.stackMem[start])
}

// ptr translates a program address into a Go pointer if [addr, addr+n)
// lies in the active stack or in a granted region (and is writable when
// write is set). It returns nil otherwise. Unchecked programs skip the
// region search: the verifier has proved their accesses.
func (r *Run) ptr(addr, n uint64, write bool) unsafe.Pointer {
	if off := addr - r.lo; off < r.span && n <= r.span-off {
		return unsafe.Add(r.base, off)
	}
	if off := addr - r.hot.addr; off < r.hot.size && n <= r.hot.size-off && (r.hot.writable || !write) {
		return unsafe.Add(r.hot.ptr, off)
	}
	return r.ptrSlow(addr, n, write)
}

func (r *Run) ptrSlow(addr, n uint64, write bool) unsafe.Pointer {
	for i := range r.regions {
		m := &r.regions[i]
		if off := addr - m.addr; off < m.size && n <= m.size-off {
			if (write && !m.writable) || m.accessor != nil {
				return nil
			}
			r.hot = *m
			return unsafe.Add(m.ptr, off)
		}
	}
	if r.prog.unchecked {
		// The verifier vouched for this access; the address is real.
		return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
	}
	return nil
}
