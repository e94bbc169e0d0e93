package loader

import (
	"errors"
	"fmt"

	"github.com/gobee-dev/gobee/isa"
)

// LinkOptions configure LinkWithOptions.
type LinkOptions struct {
	// Kfunc resolves a kfunc extern (`extern ... __ksym` function) by
	// name to the id the call gets in its imm (interp.Options.Kfuncs),
	// or refuses it; the error is reported with the program and
	// instruction. If nil, kfunc externs are refused with ErrExtern.
	Kfunc func(name string) (int32, error)
}

// ErrKsymVar is a __ksym variable extern (`extern const void
// bpf_prog_active __ksym;`, typed or typeless): the address of a kernel
// variable, which gobee, having no kernel, cannot give.
var ErrKsymVar = errors.New("ksym variables (kernel symbol addresses) are not available under gobee")

// resolveExterns rewrites the kfunc calls of insns (a copy of
// spec.Instructions) to the ids opts.Kfunc gives, with off = 0 (no module
// BTF), as libbpf does with vmlinux BTF ids.
func resolveExterns(spec *ProgramSpec, insns isa.Instructions, opts LinkOptions) error {
	slots := spec.Instructions.SlotIndex()
	for _, e := range spec.Externs {
		at := e.Index
		if e.Index >= 0 && e.Index < len(slots) {
			at = slots[e.Index]
		}
		switch {
		case e.Kind == "ksym":
			return fmt.Errorf("program %s: instruction %d: extern %q: %w", spec.Name, at, e.Name, ErrKsymVar)
		case e.Kind != "kfunc" || opts.Kfunc == nil:
			return fmt.Errorf("program %s: instruction %d: %s %q: %w", spec.Name, at, e.Kind, e.Name, ErrExtern)
		}
		if e.Index < 0 || e.Index >= len(insns) || !insns[e.Index].IsKfuncCall() {
			return fmt.Errorf("program %s: instruction %d: kfunc %q: not a kfunc call", spec.Name, at, e.Name)
		}
		id, err := opts.Kfunc(e.Name)
		if err != nil {
			return fmt.Errorf("program %s: instruction %d: %w", spec.Name, at, err)
		}
		insns[e.Index].Imm = int64(id)
		insns[e.Index].Off = 0
	}
	return nil
}
