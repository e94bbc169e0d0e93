package pkthelpers

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/progtype"
)

func TestChecksum(t *testing.T) {
	// An IPv4 header whose checksum field is right sums to 0xffff.
	hdr := []byte{0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7}
	if got := csumFold(csumPartial(hdr, 0)); got != 0 {
		t.Fatalf("fold of a valid header = %#x, want 0", got)
	}
	// csum_replace2 keeps it valid when a field changes.
	old := binary.LittleEndian.Uint16(hdr[8:])
	hdr[8] = 0x3f // TTL 64 -> 63
	csumReplace2(hdr[10:12], old, binary.LittleEndian.Uint16(hdr[8:]))
	if got := csumFold(csumPartial(hdr, 0)); got != 0 {
		t.Fatalf("after csum_replace2: fold = %#x, want 0", got)
	}
	oldAddr := binary.LittleEndian.Uint32(hdr[12:])
	copy(hdr[12:], []byte{10, 1, 2, 3})
	csumReplace4(hdr[10:12], oldAddr, binary.LittleEndian.Uint32(hdr[12:]))
	if got := csumFold(csumPartial(hdr, 0)); got != 0 {
		t.Fatalf("after csum_replace4: fold = %#x, want 0", got)
	}
	if csumPartial(nil, 0) != 0 || csumPartial(make([]byte, 9), 0) != 0 {
		t.Fatal("the sum of zeros must be 0")
	}
	if got := csumPartial([]byte{0xff, 0xff, 0xff, 0xff}, 0); got != 0xffffffff {
		t.Fatalf("csum_partial(ffffffff) = %#x", got)
	}
}

// runCtx is a run context with both kinds of packet and a redirect log.
type runCtx struct {
	skb  *progtype.SKBuff
	xdp  *progtype.XDPBuff
	last Redirect
}

func (c *runCtx) SKBuff() *progtype.SKBuff   { return c.skb }
func (c *runCtx) XDPBuff() *progtype.XDPBuff { return c.xdp }
func (c *runCtx) SetRedirect(r Redirect)     { c.last = r }

func newSKB(rng *rand.Rand, n int) *progtype.SKBuff {
	s := &progtype.SKBuff{Buf: make([]byte, 64+n+rng.IntN(64)), Data: 64, Tail: 64 + n}
	for i := range s.Buf {
		s.Buf[i] = byte(rng.Uint32())
	}
	s.MACHeader = s.Data
	s.NetworkHeader = min(s.Data+14, s.Tail)
	protos := []uint16{0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, uint16(rng.Uint32())}
	s.Protocol = protos[rng.IntN(len(protos))]
	switch rng.IntN(6) {
	case 0: // an L3 view
		s.Data = s.NetworkHeader
	case 1: // odd header offsets
		s.NetworkHeader = s.Data + rng.IntN(n+1)
		s.MACHeader = s.Data - rng.IntN(20)
	}
	s.VlanPresent = rng.IntN(3) == 0
	s.PktType = uint32(rng.IntN(5))
	s.IPSummed = uint8(rng.IntN(4))
	s.GSOSize = uint32(rng.IntN(2) * 1400)
	return s
}

func newXDP(rng *rand.Rand, n int) *progtype.XDPBuff {
	head := 256 - 4*rng.IntN(9)
	x := &progtype.XDPBuff{Buf: make([]byte, 3776)}
	x.Meta, x.Data, x.End = head, 256, min(256+n, 3776)
	if rng.IntN(5) == 0 {
		x.Frags = make([]byte, rng.IntN(9000))
	}
	return x
}

// TestNoPanics calls every helper of several program types with random
// arguments (random scalars and pointers into the run's memory, both in
// range and not) on random, sometimes inconsistent, packets: a helper may
// fail the run with an error but never panic.
func TestNoPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	scratch := make([]byte, 1024)
	env := &Env{}
	dev := Register(&StaticMap{Kind: DevMap, Entries: map[uint32]any{1: 1}})
	defer Unregister(dev)
	for _, typ := range []progtype.Type{progtype.SchedCLS, progtype.XDP, progtype.SocketFilter, progtype.LWTXmit, progtype.CGroupSKB, progtype.SKSKB} {
		for _, h := range List(typ, env) {
			prog, err := interp.Load(isa.Instructions{
				{Op: isa.OpcodeCall, Imm: int64(h.ID)},
				{Op: isa.OpcodeExit},
			}, &interp.Options{Helpers: Table(typ, env)})
			if err != nil {
				t.Fatalf("%s: %v", h.Name, err)
			}
			for i := range 3000 {
				c := &runCtx{skb: newSKB(rng, rng.IntN(200)), xdp: newXDP(rng, 14+rng.IntN(300))}
				var args [5]uint64
				for k := range args {
					switch rng.IntN(6) {
					case 0:
						args[k] = interp.Addr(scratch) + uint64(rng.IntN(1100))
					case 1:
						args[k] = uint64(rng.IntN(600))
					case 2:
						args[k] = uint64(int64(rng.IntN(8000) - 4000))
					case 3:
						args[k] = dev
					case 4:
						args[k] = uint64(rng.IntN(16)) << 56
					default:
						args[k] = rng.Uint64()
					}
				}
				in := &interp.Input{Args: args, Context: c, Regions: []interp.Region{{Mem: scratch, Writable: true}}}
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Fatalf("%v/%s run %d args %#x: panic: %v", typ, h.Name, i, args, p)
						}
					}()
					prog.Run(in) //nolint:errcheck // errors are fine, panics are not
				}()
			}
		}
	}
}

func TestRedirectMap(t *testing.T) {
	env := &Env{}
	dev := Register(&StaticMap{Kind: DevMap, Entries: map[uint32]any{1: "lo"}})
	xsk := Register(&StaticMap{Kind: XSKMap})
	defer Unregister(dev)
	defer Unregister(xsk)
	c := &runCtx{}
	prog, err := interp.Load(isa.Instructions{{Op: isa.OpcodeCall, Imm: IDRedirectMap}, {Op: isa.OpcodeExit}},
		&interp.Options{Helpers: Table(progtype.XDP, env)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		m, key, flags uint64
		want          uint64
	}{
		{dev, 1, 0, xdpActRedirect},
		{dev, 1 | 1<<32, 0, xdpActRedirect}, // the key is a u32
		{dev, 2, 0, 0},
		{dev, 2, 2, 2},                       // fallback action XDP_PASS
		{dev, 2, 3, 3},                       // XDP_TX
		{dev, 2, 4, 0},                       // unknown flag: XDP_ABORTED
		{dev, 2, FBroadcast, xdpActRedirect}, // broadcast needs no entry
		{dev, 2, FBroadcast | FExcludeIngress | 1, xdpActRedirect},
		{xsk, 0, FBroadcast, 0}, // only devmaps broadcast
		{xsk, 0, 1, 1},
	} {
		got, err := prog.Run(&interp.Input{Args: [5]uint64{tc.m, tc.key, tc.flags}, Context: c})
		if err != nil || got != tc.want {
			t.Errorf("redirect_map(%#x, %#x) = %d, %v; want %d", tc.key, tc.flags, got, err, tc.want)
		}
	}
	if c.last.Index != 2 || c.last.Flags != FBroadcast|FExcludeIngress|1 {
		t.Errorf("recorded redirect %+v", c.last)
	}
	if _, err := prog.Run(&interp.Input{Args: [5]uint64{dev, 1, 0}, Context: c}); err != nil || c.last.Target != "lo" {
		t.Errorf("recorded redirect %+v, %v", c.last, err)
	}
}

func TestTableRespectsProgramType(t *testing.T) {
	xdp := Table(progtype.XDP, nil)
	if _, ok := xdp[IDSkbLoadBytes]; ok {
		t.Error("XDP programs cannot call bpf_skb_load_bytes")
	}
	if _, ok := xdp[IDXdpAdjustHead]; !ok {
		t.Error("XDP programs call bpf_xdp_adjust_head")
	}
	tc := Table(progtype.SchedCLS, nil)
	for _, id := range []int32{9, 10, 11, 18, 19, 23, 26, 28, 31, 32, 34, 38, 39, 40, 43, 46, 48, 50, 68} {
		if _, ok := tc[id]; !ok {
			t.Errorf("tc programs call helper %d", id)
		}
	}
	if _, ok := tc[IDXdpAdjustHead]; ok {
		t.Error("tc programs cannot call bpf_xdp_adjust_head")
	}
}

// FuzzHelpers drives every skb and XDP helper with arguments and packets
// taken from the fuzzer's bytes; run with -fuzz=FuzzHelpers.
func FuzzHelpers(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0, 0x45, 0, 0, 20}, uint64(14), uint64(4), uint64(0), uint8(0))
	f.Add(make([]byte, 60), uint64(1<<31), uint64(0xfff), uint64(1<<56|2), uint8(3))
	scratch := make([]byte, 600)
	var progs []*interp.Program
	for _, typ := range []progtype.Type{progtype.SchedCLS, progtype.XDP} {
		for _, h := range List(typ, nil) {
			p, err := interp.Load(isa.Instructions{{Op: isa.OpcodeCall, Imm: int64(h.ID)}, {Op: isa.OpcodeExit}},
				&interp.Options{Helpers: Table(typ, nil)})
			if err != nil {
				f.Fatal(err)
			}
			progs = append(progs, p)
		}
	}
	f.Fuzz(func(t *testing.T, pkt []byte, a, b, c uint64, sel uint8) {
		rng := rand.New(rand.NewPCG(a, b))
		s := newSKB(rng, min(len(pkt), 400))
		copy(s.Buf[s.Data:s.Tail], pkt)
		x := newXDP(rng, min(len(pkt), 400))
		copy(x.Buf[x.Data:x.End], pkt)
		ctx := &runCtx{skb: s, xdp: x}
		ptr := interp.Addr(scratch) + uint64(sel)
		p := progs[int(sel)%len(progs)]
		for _, args := range [][5]uint64{{ptr, a, b, c, uint64(sel)}, {ptr, a, ptr, b, c}, {ptr, uint64(uint32(a)), ptr, uint64(sel), b}} {
			p.Run(&interp.Input{Args: args, Context: ctx, Regions: []interp.Region{{Mem: scratch, Writable: true}}}) //nolint:errcheck
		}
	})
}
