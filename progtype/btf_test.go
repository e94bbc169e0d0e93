package progtype

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

type flatMember struct {
	off   uint32 // bytes
	size  uint32
	shape string
}

// flatten lists the members of s by name, descending into anonymous
// structs and unions as C does.
func flatten(t *testing.T, members []btf.Member, base uint32, out map[string]flatMember) {
	t.Helper()
	for _, mb := range members {
		off := base + uint32(mb.Offset)/8
		if mb.Name == "" {
			switch u := btf.UnderlyingType(mb.Type).(type) {
			case *btf.Struct:
				flatten(t, u.Members, off, out)
			case *btf.Union:
				flatten(t, u.Members, off, out)
			}
			continue
		}
		size, err := btf.Sizeof(mb.Type)
		if err != nil {
			t.Fatalf("%s: %v", mb.Name, err)
		}
		out[mb.Name] = flatMember{off: off, size: uint32(size), shape: shape(mb.Type)}
	}
}

// shape describes a type up to typedef names: kind, size, signedness,
// element shapes, pointee names.
func shape(t btf.Type) string {
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Int:
		return fmt.Sprintf("int%d/%v", u.Size*8, u.Encoding&btf.Signed != 0)
	case *btf.Pointer:
		switch p := btf.UnderlyingType(u.Target).(type) {
		case *btf.Void:
			return "ptr(void)"
		default:
			return "ptr(" + p.TypeName() + ")"
		}
	case *btf.Array:
		return fmt.Sprintf("[%d]%s", u.Nelems, shape(u.Type))
	case *btf.Enum:
		return fmt.Sprintf("enum%d", u.Size*8)
	case *btf.Struct:
		return "struct " + u.Name
	case *btf.Union:
		return "union " + u.Name
	}
	return fmt.Sprintf("%T", t)
}

func gobeeStructs(t *testing.T) (*btf.Spec, []*btf.Struct, []*btf.Enum) {
	spec, err := ContextBTF()
	if err != nil {
		t.Fatal(err)
	}
	var ss []*btf.Struct
	var es []*btf.Enum
	for typ := range spec.All() {
		switch v := typ.(type) {
		case *btf.Struct:
			if v.Name != "" {
				ss = append(ss, v)
			}
		case *btf.Enum:
			es = append(es, v)
		}
	}
	if len(ss) < 12 || len(es) < 3 {
		t.Fatalf("context BTF has %d structs, %d enums", len(ss), len(es))
	}
	return spec, ss, es
}

// narrow are context.go fields that cover a whole word where the uapi
// member is narrower (a __be16 port followed by padding, x86 cs/ss).
var btfNarrow = map[string]bool{"bpf_sock.dst_port": true, "bpf_sk_lookup.remote_port": true, "pt_regs.cs": true, "pt_regs.ss": true}

func TestContextBTFMatchesLayouts(t *testing.T) {
	spec, _, _ := gobeeStructs(t)
	for _, c := range []*Context{&SKBuffContext, &XDPMDContext, &PtRegsContext, &PerfEventContext, &BPFSockContext,
		&CGroupDevContext, &SKMsgContext, &SockAddrContext, &SysctlContext, &SockoptContext, &SKLookupContext,
		&SKReuseportContext} {
		var s *btf.Struct
		if err := spec.TypeByName(c.Name, &s); err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if s.Size != c.Size {
			t.Errorf("%s: BTF size %d, context.go %d", c.Name, s.Size, c.Size)
		}
		flat := map[string]flatMember{}
		flatten(t, s.Members, 0, flat)
		for _, f := range c.Fields {
			name, idx := f.Name, -1
			if i := strings.IndexByte(name, '['); i > 0 {
				fmt.Sscanf(name[i:], "[%d]", &idx)
				name = name[:i]
			}
			fm, ok := flat[name]
			if !ok {
				t.Errorf("%s.%s: not in BTF", c.Name, name)
				continue
			}
			off, size := fm.off, fm.size
			if idx >= 0 {
				size /= 4
				off += uint32(idx) * size
			}
			if off != f.Off || (size != f.Size && !(btfNarrow[c.Name+"."+name] && size < f.Size)) {
				t.Errorf("%s.%s: BTF at %d size %d, context.go at %d size %d", c.Name, f.Name, off, size, f.Off, f.Size)
			}
		}
	}
}

func TestContextBTFMatchesKernel(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("no kernel BTF")
	}
	kspec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Skip(err)
	}
	_, ss, es := gobeeStructs(t)
	members := 0
	for _, s := range ss {
		var ks *btf.Struct
		if err := kspec.TypeByName(s.Name, &ks); err != nil {
			t.Errorf("struct %s: not in the kernel's BTF: %v", s.Name, err)
			continue
		}
		if ks.Size != s.Size {
			t.Errorf("struct %s: size %d, kernel %d", s.Name, s.Size, ks.Size)
		}
		mine, theirs := map[string]flatMember{}, map[string]flatMember{}
		flatten(t, s.Members, 0, mine)
		flatten(t, ks.Members, 0, theirs)
		for name, fm := range mine {
			km, ok := theirs[name]
			if !ok {
				t.Errorf("%s.%s: not in the kernel's struct", s.Name, name)
			} else if km != fm {
				t.Errorf("%s.%s: gobee %+v, kernel %+v", s.Name, name, fm, km)
			}
			members++
		}
	}
	for _, e := range es {
		var ke *btf.Enum
		if err := kspec.TypeByName(e.Name, &ke); errors.Is(err, btf.ErrNotFound) {
			t.Errorf("enum %s: not in the kernel's BTF", e.Name)
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		kv := map[string]uint64{}
		for _, v := range ke.Values {
			kv[v.Name] = v.Value
		}
		for _, v := range e.Values {
			if got, ok := kv[v.Name]; !ok || got != v.Value {
				t.Errorf("enum %s: %s = %d, kernel %d (present %v)", e.Name, v.Name, v.Value, got, ok)
			}
			members++
		}
	}
	t.Logf("progtype: compared %d context BTF members and enum values with the kernel's BTF", members)
}
