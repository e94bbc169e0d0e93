package maps

import (
	"sync"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/interp"
)

// ProgramRef is a loaded program as the maps see it: the interpreter's
// program and its type (enum bpf_prog_type). The object model's program
// objects implement it; ProgramOf wraps a bare *interp.Program.
type ProgramRef interface {
	Program() *interp.Program
	Type() uint32
}

type progRef struct {
	p   *interp.Program
	typ uint32
}

func (r progRef) Program() *interp.Program { return r.p }
func (r progRef) Type() uint32             { return r.typ }

// ProgramOf returns a ProgramRef for p with program type typ.
func ProgramOf(p *interp.Program, typ uint32) ProgramRef { return progRef{p, typ} }

// The program registry: a prog array's user-space value is the 4-byte id
// that RegisterProgram returns (gobee's stand-in for a program fd), and a
// lookup returns that id, as the kernel's returns the program's id.
var progs struct {
	sync.Mutex
	next  uint32
	byID  map[uint32]ProgramRef
	ids   map[*interp.Program]uint32
	types map[*interp.Program]uint32
}

// RegisterProgram registers ref (once) and returns its id, which is what
// Update on a PROG_ARRAY takes as the value. Ids start at 1.
func RegisterProgram(ref ProgramRef) uint32 {
	progs.Lock()
	defer progs.Unlock()
	if progs.byID == nil {
		progs.byID = map[uint32]ProgramRef{}
		progs.ids = map[*interp.Program]uint32{}
		progs.types = map[*interp.Program]uint32{}
	}
	if id, ok := progs.ids[ref.Program()]; ok {
		return id
	}
	progs.next++
	id := progs.next
	progs.byID[id] = ref
	progs.ids[ref.Program()] = id
	progs.types[ref.Program()] = ref.Type()
	return id
}

// UnregisterProgram forgets the program with this id: its id no longer
// resolves for updates. Slots that hold it keep it until replaced or
// deleted, as the kernel's prog arrays hold a reference.
func UnregisterProgram(id uint32) {
	progs.Lock()
	defer progs.Unlock()
	if ref, ok := progs.byID[id]; ok {
		delete(progs.byID, id)
		delete(progs.ids, ref.Program())
		delete(progs.types, ref.Program())
	}
}

// ProgramByID returns the registered program with this id.
func ProgramByID(id uint32) (ProgramRef, bool) {
	progs.Lock()
	defer progs.Unlock()
	ref, ok := progs.byID[id]
	return ref, ok
}

func programType(p *interp.Program) (uint32, bool) {
	progs.Lock()
	defer progs.Unlock()
	t, ok := progs.types[p]
	return t, ok
}

// progArray is a PROG_ARRAY's state beyond its slots: the owner program
// type, fixed by the first program inserted (bpf_prog_map_compatible).
type progArray struct {
	*fdArrayCore
	owner    uint32
	hasOwner bool
}

func newProgArrayCore(o *object) (core, error) {
	pa := &progArray{}
	pa.fdArrayCore = newFdArray(o, pa.get)
	return pa, nil
}

// get is prog_fd_array_get_ptr: an unknown id is EBADF (a bad fd); a
// program whose type differs from the array's owner is EINVAL. Called
// with the core's mutex held.
func (pa *progArray) get(id uint32) (*fdEntry, error) {
	ref, ok := ProgramByID(id)
	if !ok {
		return nil, errorf(unix.EBADF, "no program with id %d", id)
	}
	if pa.hasOwner && ref.Type() != pa.owner {
		return nil, errorf(unix.EINVAL, "program type %d does not match the prog array's type %d", ref.Type(), pa.owner)
	}
	pa.owner, pa.hasOwner = ref.Type(), true
	return &fdEntry{id: id, prog: ref}, nil
}

// TailCall is bpf_tail_call's resolution, to use as interp.Options.TailCall:
// the program in slot index of the prog array whose handle is mapPtr, or
// nil (the run continues after the call) when the handle is not a prog
// array, the index is out of range, the slot is empty, or the program's
// type differs from the calling program's (when the caller is registered).
func TailCall(r *interp.Run, mapPtr, index uint64) *interp.Program {
	o, ok := lookupHandle(mapPtr)
	if !ok || o.spec.Type != ProgArray {
		return nil
	}
	// The kernel compares the index as a u32.
	e := o.core.(*progArray).entry(uint64(uint32(index)))
	if e == nil {
		return nil
	}
	if t, ok := programType(r.Program()); ok && t != e.prog.Type() {
		return nil
	}
	return e.prog.Program()
}
