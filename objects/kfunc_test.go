package objects

import (
	"errors"
	"strings"
	"testing"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/loader"
	"github.com/gobee-dev/gobee/progtype"
)

func kfuncSpec(t *testing.T, prog string) *ProgramSpec {
	t.Helper()
	cs, err := LoadCollectionSpec("../testdata/kfuncs/kfuncs.o")
	if err != nil {
		t.Fatal(err)
	}
	ps := cs.Programs[prog]
	if ps == nil {
		t.Fatalf("no program %s", prog)
	}
	cp := *ps
	cp.Externs = append([]loader.Extern(nil), ps.Externs...)
	return &cp
}

func TestKfuncRefusals(t *testing.T) {
	// bpf_dynptr_from_skb is in the skb set, not allowed for XDP.
	ps := kfuncSpec(t, "tc_dynptr")
	ps.Type = kfuncXDPType(t)
	_, err := NewProgram(ps)
	var ke *KfuncError
	if !errors.As(err, &ke) || !errors.Is(err, unix.EINVAL) || ke.Unknown ||
		!strings.Contains(err.Error(), "calling kernel function bpf_dynptr_from_skb is not allowed") ||
		!strings.Contains(err.Error(), "instruction ") {
		t.Fatalf("want not-allowed error, got %v", err)
	}

	ps = kfuncSpec(t, "xdp_iter_sum")
	ps.Externs[0].Name = "bpf_no_such_kfunc"
	_, err = NewProgram(ps)
	if !errors.As(err, &ke) || !ke.Unknown || !strings.Contains(err.Error(), "bpf_no_such_kfunc") {
		t.Fatalf("want unknown-kfunc error, got %v", err)
	}

	ps = kfuncSpec(t, "xdp_iter_sum")
	ps.Externs = append(ps.Externs, loader.Extern{Index: 0, Name: "bpf_prog_active", Kind: "ksym"})
	_, err = NewProgram(ps)
	if !errors.Is(err, loader.ErrKsymVar) || !strings.Contains(err.Error(), "bpf_prog_active") {
		t.Fatalf("want ksym variable error, got %v", err)
	}

	// Plain Link still refuses kfunc externs.
	if _, err := loader.Link(kfuncSpec(t, "xdp_iter_sum"), nil); !errors.Is(err, loader.ErrExtern) {
		t.Fatalf("Link: want ErrExtern, got %v", err)
	}
}

func kfuncXDPType(t *testing.T) ProgramType {
	t.Helper()
	ps := kfuncSpec(t, "xdp_iter_sum")
	if ProgTypeOf(ps.Type) != progtype.XDP {
		t.Fatalf("xdp_iter_sum has type %v", ps.Type)
	}
	return ps.Type
}

func TestKfuncProgramsRun(t *testing.T) {
	cs, err := LoadCollectionSpec("../testdata/kfuncs/kfuncs.o")
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewRegistry(WithPinRoot(t.TempDir())).NewCollection(cs)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pkt := make([]byte, 64)
	for i := range pkt {
		pkt[i] = byte(i * 7)
	}
	// Expected values as Linux 6.18 returns them for this packet.
	want := map[string]uint32{"xdp_iter_sum": 3, "xdp_repeat": 2, "xdp_dynptr": 2, "tc_iter_rcu": 2, "tc_dynptr": 0}
	for name, ret := range want {
		got, _, err := c.Programs[name].Test(pkt)
		if err != nil || got != ret {
			t.Errorf("%s: got %d, %v; want %d", name, got, err, ret)
		}
	}
	if len(AvailableKfuncs(progtype.SchedCLS)) == len(AvailableKfuncs(progtype.XDP)) {
		// Both have the common set; each has one more constructor.
		for _, k := range AvailableKfuncs(progtype.XDP) {
			if k.Name == "bpf_dynptr_from_skb" {
				t.Error("XDP may not call bpf_dynptr_from_skb")
			}
		}
	}
}
