package loader

import (
	"testing"

	"github.com/cilium/ebpf"
)

// knownDifferences lists section names on which gobee's table (libbpf's)
// and cilium/ebpf v0.22.0 are expected to disagree, and why.
var knownDifferences = map[string]string{}

// TestSectionsAgainstCilium compares ClassifySection with cilium/ebpf's
// interpretation of every section of testdata/loader/sections.o, which
// holds one program per row of SectionDefs.
func TestSectionsAgainstCilium(t *testing.T) {
	cs, err := ebpf.LoadCollectionSpec("../testdata/loader/sections.o")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for name, p := range cs.Programs {
		s, ok := ClassifySection(p.SectionName)
		if !ok {
			t.Errorf("%s: section %q not in the table", name, p.SectionName)
			continue
		}
		covered[s.Def.Pattern] = true
		if why, ok := knownDifferences[p.SectionName]; ok {
			t.Logf("%s: known difference: %s", p.SectionName, why)
			continue
		}
		at := AttachNone
		if s.Def.HasAttachType {
			at = s.Def.Attach
		}
		if uint32(s.Def.Type) != uint32(p.Type) || uint32(at) != uint32(p.AttachType) || s.AttachTo != p.AttachTo {
			t.Errorf("%q: gobee %v/%v/%q, cilium %v(%d)/%v(%d)/%q", p.SectionName,
				s.Def.Type, at, s.AttachTo, p.Type, p.Type, p.AttachType, p.AttachType, p.AttachTo)
		}
		if s.Def.Flags != p.Flags {
			t.Errorf("%q: flags gobee %#x, cilium %#x", p.SectionName, s.Def.Flags, p.Flags)
		}
	}
	for _, d := range SectionDefs {
		if !covered[d.Pattern] {
			t.Errorf("row %q has no sample in sections.c", d.Pattern)
		}
	}
}

func TestClassifySection(t *testing.T) {
	for _, c := range []struct {
		sec    string
		ok     bool
		typ    ProgType
		target string
	}{
		{"xdp", true, ProgXDP, ""},
		{"xdp_foo", false, 0, ""}, // libbpf matches plain patterns exactly
		{"?kprobe/foo", true, ProgKprobe, "foo"},
		{"kprobe", true, ProgKprobe, ""},
		{"kprobex", false, 0, ""},
		{"tracepoint/a/b", true, ProgTracepoint, "a/b"},
		{"struct_ops/ignored", true, ProgStructOps, ""},
		{".text", false, 0, ""},
	} {
		s, ok := ClassifySection(c.sec)
		if ok != c.ok || ok && (s.Def.Type != c.typ || s.AttachTo != c.target) {
			t.Errorf("%q: got %v %v %q", c.sec, ok, s.Def.Type, s.AttachTo)
		}
	}
	if ProgNetfilter != 32 || AttachTraceUprobeSession != 57 || AttachXDP != 37 {
		t.Error("enum numbering drifted from include/uapi/linux/bpf.h")
	}
	if ProgXDP.String() != "xdp" || AttachTCXIngress.String() != "tcx_ingress" {
		t.Error("String")
	}
}
