package progtype

import (
	"fmt"

	"github.com/gobee-dev/gobee/interp"
)

// Context limits of the types whose context is plain memory.
const (
	// MaxFuncArgs is MAX_BPF_FUNC_ARGS: a raw tracepoint's or tracing
	// program's context is at most this many u64 arguments.
	MaxFuncArgs = 12
	// SyscallCtxMax is the bound of a syscall program's context accesses
	// (U16_MAX).
	SyscallCtxMax = 0xffff
	// NFCtxSize is sizeof(struct bpf_nf_ctx): the state and skb pointers.
	NFCtxSize = 16
	// NFCtxState and NFCtxSkb are the offsets of its two fields.
	NFCtxState = 0
	NFCtxSkb   = 8
	// NFHookStateSize is sizeof(struct nf_hook_state): hook (u8), pf
	// (u8), then the in, out, sk, net and okfn pointers.
	NFHookStateSize = 48
)

// NFContext is struct bpf_nf_ctx.
var NFContext = Context{Name: "bpf_nf_ctx", Size: NFCtxSize, Fields: []Field{{"state", 0, 8, true}, {"skb", 8, 8, true}}}

func ctxErr(name string, off, size uint32, write bool, why string) error {
	return fmt.Errorf("%w: invalid bpf_context access off=%d size=%d (%s of %s: %s)",
		interp.ErrContextAccess, off, size, op(write), name, why)
}

func validSize(size uint32) bool { return size == 1 || size == 2 || size == 4 || size == 8 }

// TracingArgsAccess is the kernel's bpf_tracing_ctx_access, the rule of
// raw tracepoint programs' u64 argument array: aligned loads of any width
// within MaxFuncArgs arguments, no stores.
func TracingArgsAccess(off, size uint32, write bool) error {
	switch {
	case off >= 8*MaxFuncArgs:
		return ctxErr("bpf_raw_tracepoint_args", off, size, write, "beyond the last argument")
	case write:
		return ctxErr("bpf_raw_tracepoint_args", off, size, write, "arguments are read-only")
	case !validSize(size) || off%size != 0:
		return ctxErr("bpf_raw_tracepoint_args", off, size, write, "misaligned")
	}
	return nil
}

// RawTPWritableAccess is raw_tp_writable_prog_is_valid_access: as
// TracingArgsAccess, and the first argument (the tracepoint's writable
// buffer) only as a whole u64.
func RawTPWritableAccess(off, size uint32, write bool) error {
	if off == 0 && size != 8 {
		return ctxErr("bpf_raw_tracepoint_args", off, size, write, "the buffer pointer is only read whole")
	}
	return TracingArgsAccess(off, size, write)
}

// SyscallAccess is syscall_prog_is_valid_access: a syscall program's
// context is caller memory it may load from and store to at any aligned
// offset below U16_MAX (ctx_size_in bounds it at run time).
func SyscallAccess(off, size uint32, write bool) error {
	switch {
	case off >= SyscallCtxMax:
		return ctxErr("syscall context", off, size, write, "beyond U16_MAX")
	case !validSize(size) || off%size != 0:
		return ctxErr("syscall context", off, size, write, "misaligned")
	}
	return nil
}

// NFAccess is nf_is_valid_access: struct bpf_nf_ctx is read-only; state
// and skb are pointers to the kernel's struct nf_hook_state and struct
// sk_buff (BTF pointers) and are read as whole u64s.
func NFAccess(off, size uint32, write bool) error {
	switch {
	case off >= NFCtxSize:
		return ctxErr("bpf_nf_ctx", off, size, write, "beyond the struct")
	case write:
		return ctxErr("bpf_nf_ctx", off, size, write, "bpf_nf_ctx is read-only")
	case size != 8 || off%8 != 0:
		return ctxErr("bpf_nf_ctx", off, size, write, "only 8-byte access")
	}
	return nil
}

// MemContext is the interp.ContextAccessor of a context that is plain
// memory (raw tracepoint arguments, a syscall program's buffer, struct
// bpf_nf_ctx): Rule checks each access, which then reads or writes Mem in
// the host's (little-endian) byte order.
type MemContext struct {
	Mem      []byte
	Rule     func(off, size uint32, write bool) error
	Writable bool
}

// Region returns the context as an interp.Region.
func (c *MemContext) Region() interp.Region {
	return interp.Region{Mem: c.Mem, Writable: c.Writable, Accessor: c}
}

// Addr returns the address the program gets in r1 (0 for an empty
// context, as the kernel passes NULL).
func (c *MemContext) Addr() uint64 { return interp.Addr(c.Mem) }

func (c *MemContext) check(off, size uint32, write bool) error {
	if err := c.Rule(off, size, write); err != nil {
		return err
	}
	if uint64(off)+uint64(size) > uint64(len(c.Mem)) {
		return fmt.Errorf("%w: context access off=%d size=%d beyond the %d bytes given", interp.ErrOutOfBounds, off, size, len(c.Mem))
	}
	if write && !c.Writable {
		return fmt.Errorf("%w: context store off=%d size=%d", interp.ErrReadOnly, off, size)
	}
	return nil
}

// LoadContext implements interp.ContextAccessor.
func (c *MemContext) LoadContext(_ *interp.Run, off, size uint32) (uint64, error) {
	if err := c.check(off, size, false); err != nil {
		return 0, err
	}
	return loadLE(c.Mem[off:], size), nil
}

// StoreContext implements interp.ContextAccessor.
func (c *MemContext) StoreContext(_ *interp.Run, off, size uint32, v uint64) error {
	if err := c.check(off, size, true); err != nil {
		return err
	}
	storeLE(c.Mem[off:], size, v)
	return nil
}
