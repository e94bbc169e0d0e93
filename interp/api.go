// Package interp is gobee's eBPF interpreter.
//
// A program is decoded once by Load into a compact form; Run then executes
// it without allocating. By default every load and store is checked against
// the memory regions the run may touch (the stack frames and the regions
// the caller passes), so even unverified bytecode cannot reach other host
// memory. Pointers are real host addresses, as in the kernel.
package interp

import (
	"errors"
	"fmt"

	"github.com/gobee-dev/gobee/isa"
)

// HelperFunc implements a helper function or kfunc. It receives r1–r5 and
// returns the value for r0. A non-nil error aborts the run.
type HelperFunc func(r *Run, r1, r2, r3, r4, r5 uint64) (uint64, error)

// Helper id of bpf_tail_call in the kernel's enum bpf_func_id.
const HelperTailCall = 12

// MaxTailCalls is MAX_TAIL_CALL_CNT.
const MaxTailCalls = 33

// DefaultBudget is the default instruction budget of one run.
const DefaultBudget = 1 << 30

// TailCallFunc resolves bpf_tail_call(ctx, map, index) to a program. It
// returns nil when the slot is empty or the map is not a program array; the
// caller then continues after the call, as the kernel does.
type TailCallFunc func(r *Run, mapPtr, index uint64) *Program

// Options configure Load.
type Options struct {
	// Helpers maps helper ids (enum bpf_func_id) to implementations.
	// A call to an id that is not here is rejected at load time.
	Helpers map[int32]HelperFunc
	// Kfuncs maps kfunc BTF ids to implementations.
	Kfuncs map[int32]HelperFunc
	// TailCall resolves bpf_tail_call. If nil, helper 12 is an ordinary
	// helper looked up in Helpers.
	TailCall TailCallFunc
	// Unchecked skips the per-access memory checks. Only verified
	// programs may run unchecked.
	Unchecked bool
	// ResolveImm64 gives the value of an lddw with a pseudo source (map
	// fd, map value, BTF id): the loader's relocation, as the kernel does
	// in resolve_pseudo_ldimm64. If nil, such an lddw is rejected.
	ResolveImm64 func(ins isa.Instruction) (uint64, error)
	// Budget is the number of instructions one run may execute before it
	// fails with ErrBudget; 0 means DefaultBudget.
	Budget uint64
}

// Region is memory a run may touch: its context, packet, map values.
// A region with an Accessor is a context: its bytes are never loaded or
// stored directly; every access inside it goes to the accessor.
type Region struct {
	Mem      []byte
	Writable bool
	Accessor ContextAccessor
}

// ContextAccessor interprets a program's loads and stores of its context
// (struct xdp_md, struct __sk_buff, ...). The kernel rewrites such accesses
// into accesses of its own structures when it loads a program
// (convert_ctx_access), e.g. the u32 load of xdp_md->data becomes a 64-bit
// pointer load; gobee's interpreter calls the accessor at run time instead,
// so it also enforces which offsets and sizes each field allows. off is
// the offset into the context; an error aborts the run.
type ContextAccessor interface {
	LoadContext(r *Run, off, size uint32) (uint64, error)
	StoreContext(r *Run, off, size uint32, value uint64) error
}

// Input is what one run starts from.
type Input struct {
	// Args are r1–r5 at entry.
	Args [5]uint64
	// Regions are the memory the program may load from and store to,
	// besides its own stack.
	Regions []Region
	// Packet is the packet that the legacy ld_abs/ld_ind instructions read
	// (the skb's linear data).
	Packet []byte
	// Context is an opaque value that helpers can read with Run.Context.
	Context any
	// CPU is the virtual CPU the run holds (bpf_get_smp_processor_id).
	CPU int
}

// Runtime errors. They are wrapped in a *RuntimeError naming the instruction.
var (
	ErrBudget        = errors.New("instruction budget exhausted")
	ErrOutOfBounds   = errors.New("memory access out of bounds")
	ErrReadOnly      = errors.New("store to read-only memory")
	ErrCallDepth     = errors.New("call depth exceeds limit")
	ErrUnknownHelper = errors.New("unknown helper")
	ErrUnknownKfunc  = errors.New("unknown kfunc")
	ErrUnsupported   = errors.New("unsupported instruction")
	ErrMisaligned    = errors.New("misaligned atomic access")
	ErrBadCallTarget = errors.New("bad call target")
	ErrContextAccess = errors.New("invalid context access")
)

// RuntimeError names the instruction (slot index) at which a run failed;
// PC is -1 for a failure found when the run ended (see Run.OnExit).
type RuntimeError struct {
	PC  int
	Err error
}

func (e *RuntimeError) Error() string {
	if e.PC < 0 { // found after the run ended (Run.OnExit)
		return fmt.Sprintf("at exit: %v", e.Err)
	}
	return fmt.Sprintf("insn %d: %v", e.PC, e.Err)
}
func (e *RuntimeError) Unwrap() error { return e.Err }
