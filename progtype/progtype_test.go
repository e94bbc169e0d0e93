package progtype

import (
	"errors"
	"testing"

	"github.com/gobee-dev/gobee/interp"
)

func TestTable(t *testing.T) {
	all := All()
	if len(all) != 32 {
		t.Fatalf("%d program types, want 32", len(all))
	}
	for i, info := range all {
		if info.Type != Type(i+1) || info.Name == "" || info.ContextName == "" {
			t.Errorf("entry %d: %+v", i+1, info)
		}
		if got, ok := ByName(info.Name); !ok || got != info.Type {
			t.Errorf("ByName(%q) = %v, %v", info.Name, got, ok)
		}
		for _, id := range baseHelpers {
			if !info.Helpers.Has(id) {
				t.Errorf("%v lacks base helper %d", info.Type, id)
			}
		}
		if c := info.Context; c != nil {
			var end uint32
			for _, f := range c.Fields {
				if f.Off < end {
					t.Errorf("%s.%s overlaps the previous field", c.Name, f.Name)
				}
				end = f.Off + f.Size
			}
			if end > c.Size {
				t.Errorf("%s: fields end at %d beyond size %d", c.Name, end, c.Size)
			}
		}
	}
	if XDP.String() != "xdp" || SchedCLS.String() != "sched_cls" || Netfilter != 32 || AttachXDP != 37 || AttachTraceUprobeSession != 57 {
		t.Error("numbering or names differ from the kernel's")
	}
	if !Lookup(XDP).Helpers.Has(44) || Lookup(XDP).Helpers.Has(26) || !Lookup(SchedCLS).Helpers.Has(26) {
		t.Error("XDP must allow xdp_adjust_head (44) but not skb_load_bytes (26); tc must allow skb_load_bytes")
	}
	if HelpersProbed(Tracing) || !HelpersProbed(XDP) {
		t.Error("HelpersProbed")
	}
	if Lookup(Unspec) != nil || Lookup(numTypes) != nil {
		t.Error("Lookup of an unknown type")
	}
}

func TestSKBAccessRules(t *testing.T) {
	for _, c := range []struct {
		typ       Type
		off, size uint32
		write, ok bool
	}{
		{SocketFilter, SKBLen, 4, false, true},
		{SocketFilter, SKBLen + 1, 1, false, true},
		{SocketFilter, SKBLen, 8, false, false},
		{SocketFilter, SKBMark, 4, true, false},
		{SocketFilter, SKBCB + 3, 1, true, true},
		{SocketFilter, SKBData, 4, false, false},
		{SchedCLS, SKBData, 4, false, true},
		{SchedCLS, SKBData, 2, false, false},
		{SchedCLS, SKBTCClassid, 4, true, true},
		{CGroupSKB, SKBTCClassid, 4, false, false},
		{CGroupSKB, SKBFamily, 4, false, true},
		{SchedCLS, SKBFamily, 4, false, false},
		{SchedCLS, SKBTstampType, 1, false, true},
		{SchedCLS, SKBTstampType + 1, 1, false, false},
		{SchedCLS, SKBCB + 16, 8, true, false},
		{FlowDissector, SKBFlowKeys, 8, false, true},
		{FlowDissector, SKBLen, 4, false, false},
		{SchedCLS, SKBSize, 4, false, false},
		{XDP, 0, 4, false, false},
	} {
		_, err := SKBAccess(c.typ, c.off, c.size, c.write)
		if (err == nil) != c.ok {
			t.Errorf("SKBAccess(%v, %d, %d, %v) = %v, want ok=%v", c.typ, c.off, c.size, c.write, err, c.ok)
		}
		if err != nil && !errors.Is(err, interp.ErrContextAccess) {
			t.Errorf("error %v does not wrap ErrContextAccess", err)
		}
	}
}

func TestNarrowLoads(t *testing.T) {
	skb := &SKBuff{Buf: make([]byte, 64), Data: 8, Tail: 40, PktType: 3, Protocol: 0x0800, Mark: 0x11223344}
	c := NewSKBContext(SchedCLS, skb)
	for _, x := range []struct {
		off, size uint32
		want      uint64
	}{
		{SKBPktType + 1, 1, 3}, // the kernel loads the whole 3-bit field
		{SKBProtocol, 2, 0x0008},
		{SKBProtocol + 2, 1, 0},
		{SKBMark + 1, 1, 0x33},
		{SKBMark + 2, 2, 0x1122},
		{SKBLen, 4, 32},
		{SKBData, 4, interp.Addr(skb.Buf) + 8},
	} {
		got, err := c.LoadContext(nil, x.off, x.size)
		if err != nil || got != x.want {
			t.Errorf("load %d/%d = %#x, %v; want %#x", x.off, x.size, got, err, x.want)
		}
	}
	x := &XDPBuff{Buf: make([]byte, 300), Meta: 256, Data: 256, End: 290}
	xc := NewXDPContext(AttachXDP, x)
	if v, err := xc.LoadContext(nil, XDPDataEnd, 4); err != nil || v != interp.Addr(x.Buf)+290 {
		t.Errorf("xdp data_end = %#x, %v", v, err)
	}
	if _, err := xc.LoadContext(nil, XDPEgressIfindex, 4); err == nil {
		t.Error("egress_ifindex readable outside devmap programs")
	}
	if err := xc.StoreContext(nil, XDPData, 4, 0); err == nil {
		t.Error("xdp_md store accepted")
	}
}
