package objects

import (
	"fmt"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/kfuncs"
	"github.com/gobee-dev/gobee/loader"
	"github.com/gobee-dev/gobee/progtype"
)

// KfuncError is a program calling a kernel function (kfunc) that gobee
// does not implement, or that its program type may not call: the refusal
// at load time. The loader wraps it with the program and instruction.
type KfuncError struct {
	Name string
	Type progtype.Type
	// Unknown: gobee has no kfunc of this name (libbpf: the extern is
	// not found in the kernel's BTF).
	Unknown bool
}

func (e *KfuncError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("kernel function %s is not implemented by gobee (extern (func ksym) '%s': not found)", e.Name, e.Name)
	}
	return fmt.Sprintf("calling kernel function %s is not allowed (program type %v)", e.Name, e.Type)
}

// Unwrap returns EINVAL, the errno of BPF_PROG_LOAD (libbpf: ESRCH for
// an extern it cannot find; gobee reports both as EINVAL).
func (e *KfuncError) Unwrap() error { return unix.EINVAL }

// kfuncLinkOptions resolve a program's kfunc externs against gobee's
// kfunc table for program type t.
func kfuncLinkOptions(t progtype.Type) loader.LinkOptions {
	return loader.LinkOptions{Kfunc: func(name string) (int32, error) {
		k := kfuncs.ByName(name)
		if k == nil {
			return 0, &KfuncError{Name: name, Type: t, Unknown: true}
		}
		if !k.Allows(t) {
			return 0, &KfuncError{Name: name, Type: t}
		}
		return k.ID, nil
	}}
}

// AvailableKfuncs lists the kfuncs a program of type t can call under
// gobee, ordered by gobee's kfunc id.
func AvailableKfuncs(t progtype.Type) []*kfuncs.Kfunc { return kfuncs.ForType(t) }
