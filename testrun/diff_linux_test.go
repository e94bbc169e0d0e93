//go:build linux

package testrun

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/gobee-dev/gobee/internal/testutil"
	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/kernel"
	"github.com/gobee-dev/gobee/progtype"
)

// packets returns test packets: valid IPv4/IPv6/VLAN/ARP frames, 802.3
// frames, truncated and odd-length ones, and sizes at the limits.
func packets() map[string][]byte {
	mac := func(dst []byte, typ uint16, payload []byte) []byte {
		p := append(append([]byte{}, dst...), 0x02, 0, 0, 0, 0, 1)
		p = binary.BigEndian.AppendUint16(p, typ)
		return append(p, payload...)
	}
	ip4 := []byte{0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 192, 168, 1, 2,
		0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0}
	ip6 := make([]byte, 48)
	ip6[0] = 0x60
	for i := 8; i < 40; i++ {
		ip6[i] = byte(i * 7)
	}
	zero := []byte{0, 0, 0, 0, 0, 0}
	bcast := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	mcast := []byte{0x01, 0x00, 0x5e, 0, 0, 1}
	other := []byte{0x02, 0x42, 0xac, 0x11, 0, 2}
	ps := map[string][]byte{
		"ipv4":          mac(zero, 0x0800, ip4),
		"ipv4-bcast":    mac(bcast, 0x0800, ip4),
		"ipv4-mcast":    mac(mcast, 0x0800, ip4),
		"ipv4-other":    mac(other, 0x0800, ip4),
		"ipv4-trunc":    mac(zero, 0x0800, ip4[:19]),
		"ipv6":          mac(other, 0x86dd, ip6),
		"ipv6-trunc":    mac(other, 0x86dd, ip6[:39]),
		"vlan":          mac(other, 0x8100, append([]byte{0, 5, 0x08, 0}, ip4...)),
		"arp":           mac(bcast, 0x0806, make([]byte, 28)),
		"8023-ffff":     mac(other, 0x0040, []byte{0xff, 0xff, 1, 2, 3}),
		"8022":          mac(other, 0x0040, []byte{0xaa, 0xaa, 3}),
		"8022-1byte":    mac(other, 0x0040, []byte{0xff}),
		"eth-only":      mac(zero, 0x0800, nil),
		"eth+1":         mac(zero, 0x0800, []byte{0x45}),
		"short13":       make([]byte, 13),
		"empty":         nil,
		"odd-333":       mac(other, 0x0800, bytes.Repeat([]byte{0xa5}, 319)),
		"skb-max":       mac(other, 0x0800, make([]byte, 4096-64-320-14)),
		"skb-max+1":     mac(other, 0x0800, make([]byte, 4096-64-320-13)),
		"xdp-max":       mac(other, 0x0800, make([]byte, 4096-256-320-14)),
		"jumbo-8000":    mac(other, 0x0800, make([]byte, 8000)),
		"ipv4-options":  mac(zero, 0x0800, append([]byte{0x46, 0, 0, 44, 0, 1, 0, 0, 64, 17, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1, 0, 0}, make([]byte, 20)...)),
		"qinq":          mac(other, 0x88a8, append([]byte{0, 1, 0x81, 0, 0, 2, 0x86, 0xdd}, ip6...)),
		"ipv6-1byte-hi": mac(other, 0x86dd, append(ip6, 0xfe)),
	}
	for i := range 6 {
		ps[fmt.Sprintf("odd-%d", 15+2*i)] = mac(other, 0x0800, ip4[:1+2*i])
	}
	return ps
}

// counter counts compared runs.
type counter struct{ runs, errnos int }

// compare runs asm as typ under the kernel and under Run with each input.
// A program the kernel refuses is reported as an error for the caller.
func (c *counter) compare(t *testing.T, typ progtype.Type, name, asm string, inputs map[string]Options, ctxSize int) error {
	t.Helper()
	insns, err := isa.Assemble(asm)
	if err != nil {
		t.Fatalf("%s: assemble: %v", name, err)
	}
	kp, err := kernel.LoadProgram(ebpf.ProgramType(typ), insns, "GPL")
	if err != nil {
		return err
	}
	defer kp.Close()
	gp, err := interp.Load(insns, &interp.Options{})
	if err != nil {
		t.Fatalf("%s: interp load: %v", name, err)
	}
	for in, o := range inputs {
		kres, kerr := kernelRun(kp, o, len(o.DataIn)+512, ctxSize)
		gres, gerr := Run(gp, typ, o)
		where := fmt.Sprintf("%v/%s/%s", typ, name, in)
		if kerr != nil || gerr != nil {
			if errors.Is(gerr, ErrUnsupported) {
				continue
			}
			if errnoOf(kerr) != errnoOf(gerr) || kerr == nil || gerr == nil {
				t.Errorf("%s: kernel error %v, gobee error %v", where, kerr, gerr)
			}
			c.errnos++
			continue
		}
		c.runs++
		if kres.Retval != gres.Retval {
			t.Errorf("%s: retval kernel %#x, gobee %#x", where, kres.Retval, gres.Retval)
		}
		if !bytes.Equal(kres.DataOut, gres.DataOut) {
			t.Errorf("%s: data_out differs\nkernel %x\ngobee  %x", where, kres.DataOut, gres.DataOut)
		}
		if !bytes.Equal(kres.CtxOut, gres.CtxOut) {
			t.Errorf("%s: ctx_out differs\nkernel %x\ngobee  %x", where, kres.CtxOut, gres.CtxOut)
		}
	}
	return nil
}

func skbCtx(set map[int]uint64, size int) []byte {
	b := make([]byte, size)
	for off, v := range set {
		if off == progtype.SKBTstamp || off == progtype.SKBHwtstamp {
			binary.LittleEndian.PutUint64(b[off:], v)
		} else {
			binary.LittleEndian.PutUint32(b[off:], uint32(v))
		}
	}
	return b
}

func skbInputs() map[string]Options {
	in := map[string]Options{}
	for n, p := range packets() {
		in[n] = Options{DataIn: p}
		in[n+"/ctxout"] = Options{DataIn: p, CtxOut: true}
	}
	p := packets()["ipv4"]
	good := skbCtx(map[int]uint64{progtype.SKBMark: 7, progtype.SKBPriority: 9, progtype.SKBIngressIfindex: 3, progtype.SKBIfindex: 1,
		progtype.SKBCB: 0x11, progtype.SKBCB + 16: 0x55, progtype.SKBTstamp: 0x123456789, progtype.SKBWireLen: 100,
		progtype.SKBGSOSegs: 2, progtype.SKBGSOSize: 1400, progtype.SKBHwtstamp: 0xabcdef0123}, progtype.SKBSize)
	in["ctx-good"] = Options{DataIn: p, CtxIn: good}
	in["ctx-good-repeat"] = Options{DataIn: p, CtxIn: good, Repeat: 5}
	in["ctx-short"] = Options{DataIn: p, CtxIn: good[:100]}
	in["ctx-long-zero"] = Options{DataIn: p, CtxIn: append(append([]byte{}, good...), make([]byte, 64)...)}
	in["ctx-long-nonzero"] = Options{DataIn: p, CtxIn: append(append([]byte{}, good...), 1)}
	in["ctx-page+1"] = Options{DataIn: p, CtxIn: make([]byte, 4097)}
	for _, off := range []int{progtype.SKBLen, progtype.SKBPktType, progtype.SKBProtocol, progtype.SKBTCIndex, progtype.SKBHash,
		progtype.SKBTCClassid, progtype.SKBData, progtype.SKBFamily, progtype.SKBDataMeta, progtype.SKBSk, progtype.SKBTstampType} {
		in[fmt.Sprintf("ctx-bad-%d", off)] = Options{DataIn: p, CtxIn: skbCtx(map[int]uint64{off: 1}, progtype.SKBSize)}
	}
	in["ctx-ifindex-99"] = Options{DataIn: p, CtxIn: skbCtx(map[int]uint64{progtype.SKBIfindex: 99}, progtype.SKBSize)}
	in["ctx-wirelen-small"] = Options{DataIn: p, CtxIn: skbCtx(map[int]uint64{progtype.SKBWireLen: 10}, progtype.SKBSize)}
	in["ctx-wirelen-huge"] = Options{DataIn: p, CtxIn: skbCtx(map[int]uint64{progtype.SKBWireLen: 70000}, progtype.SKBSize)}
	in["ctx-gsosegs-huge"] = Options{DataIn: p, CtxIn: skbCtx(map[int]uint64{progtype.SKBGSOSegs: 70000}, progtype.SKBSize)}
	in["flags-bad"] = Options{DataIn: p, Flags: FlagXDPLiveFrames}
	in["cpu-bad"] = Options{DataIn: p, CPU: 1}
	in["dataout-small"] = Options{DataIn: p, DataSizeOut: 20}
	return in
}

func xdpInputs() map[string]Options {
	in := map[string]Options{}
	for n, p := range packets() {
		in[n] = Options{DataIn: p}
		in[n+"/ctxout"] = Options{DataIn: p, CtxOut: true}
	}
	p := packets()["ipv4"]
	md := func(data, end, meta, ingress, rxq, egress uint32) []byte {
		b := make([]byte, progtype.XDPMDSize)
		for i, v := range []uint32{data, end, meta, ingress, rxq, egress} {
			binary.LittleEndian.PutUint32(b[4*i:], v)
		}
		return b
	}
	n := uint32(len(p))
	in["md-plain"] = Options{DataIn: p, CtxIn: md(0, n, 0, 0, 0, 0)}
	in["md-meta8"] = Options{DataIn: p, CtxIn: md(8, n, 0, 0, 0, 0)}
	in["md-meta32"] = Options{DataIn: p, CtxIn: md(32, n, 0, 0, 0, 0)}
	in["md-meta36"] = Options{DataIn: p, CtxIn: md(36, n, 0, 0, 0, 0)}
	for _, m := range []uint32{40, 64, 128, 200, 204, 208, 212, 216, 220, 224, 228, 252, 256} {
		in[fmt.Sprintf("md-meta%d", m)] = Options{DataIn: packets()["odd-333"], CtxIn: md(m, 333, 0, 0, 0, 0)}
	}
	in["md-data-gt-end"] = Options{DataIn: p, CtxIn: md(12, 8, 0, 0, 0, 0)}
	in["md-meta3"] = Options{DataIn: p, CtxIn: md(3, n, 0, 0, 0, 0)}
	in["md-end-wrong"] = Options{DataIn: p, CtxIn: md(0, n-1, 0, 0, 0, 0)}
	in["md-datameta"] = Options{DataIn: p, CtxIn: md(0, n, 4, 0, 0, 0)}
	in["md-lo-q0"] = Options{DataIn: p, CtxIn: md(0, n, 0, 1, 0, 0)}
	in["md-lo-q1"] = Options{DataIn: p, CtxIn: md(0, n, 0, 1, 1, 0)}
	in["md-q-noif"] = Options{DataIn: p, CtxIn: md(0, n, 0, 0, 1, 0)}
	in["md-if99"] = Options{DataIn: p, CtxIn: md(0, n, 0, 99, 0, 0)}
	in["md-egress"] = Options{DataIn: p, CtxIn: md(0, n, 0, 0, 0, 1)}
	in["md-short"] = Options{DataIn: p, CtxIn: md(0, n, 0, 0, 0, 0)[:8]}
	in["md-repeat"] = Options{DataIn: p, CtxIn: md(8, n, 0, 1, 0, 0), Repeat: 3}
	in["flags-bad"] = Options{DataIn: p, Flags: FlagSKBChecksumComplete}
	in["batch-bad"] = Options{DataIn: p, BatchSize: 4}
	in["dataout-small"] = Options{DataIn: p, DataSizeOut: 20}
	return in
}

// fieldPrograms returns one program per readable field and width of typ.
func fieldPrograms(typ progtype.Type) map[string]string {
	progs := map[string]string{}
	widths := map[uint32]string{1: "u8", 2: "u16", 4: "u32", 8: "u64"}
	for _, f := range progtype.SKBuffContext.Fields {
		for off := f.Off; off < f.Off+f.Size; off++ {
			for _, size := range []uint32{1, 2, 4, 8} {
				if _, err := progtype.SKBAccess(typ, off, size, false); err != nil || f.Pointer {
					continue
				}
				body := fmt.Sprintf("r0 = *(%s *)(r1 + %d)\n", widths[size], off)
				progs[fmt.Sprintf("load-%d-%d", off, size)] = body + "exit\n"
				if size == 8 {
					progs[fmt.Sprintf("load-%d-%d-hi", off, size)] = body + "r0 >>= 32\nexit\n"
				}
			}
		}
	}
	return progs
}

const (
	skbPacketRead = `
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r0 = r3
r0 -= r2
r4 = r2
r4 += 20
if r4 > r3 goto +5
r5 = *(u8 *)(r2 + 13)
r0 <<= 8
r0 |= r5
r5 = *(u16 *)(r2 + 18)
r0 += r5
exit
`
	skbPacketWrite = `
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = r2
r4 += 16
r0 = 1
if r4 > r3 goto +4
r5 = *(u8 *)(r2 + 0)
*(u8 *)(r2 + 15) = r5
r5 = 0xa5
*(u8 *)(r2 + 3) = r5
exit
`
	skbWrites = `
r2 = 0x1122334455667788 ll
*(u32 *)(r1 + %d) = r2
r0 = *(u32 *)(r1 + %d)
exit
`
	cbNarrow = `
r2 = 0x1122334455667788 ll
*(u64 *)(r1 + 48) = r2
*(u8 *)(r1 + 57) = r2
*(u16 *)(r1 + 62) = r2
r0 = *(u32 *)(r1 + 52)
r3 = *(u16 *)(r1 + 56)
r0 += r3
exit
`
	cbCount = `
r2 = *(u32 *)(r1 + 48)
r2 += 1
*(u32 *)(r1 + 48) = r2
r0 = r2
exit
`
	tstampWrite = `
r2 = 0x0102030405060708 ll
*(u64 *)(r1 + 152) = r2
r0 = *(u64 *)(r1 + 152)
exit
`
	ldAbs = `
r6 = r1
r0 = *(u8 *)skb[0]
r7 = r0
r0 = *(u16 *)skb[2]
r7 += r0
r0 = *(u32 *)skb[12]
r7 += r0
r0 = r7
exit
`
	ldAbsBeyond = `
r6 = r1
r0 = *(u8 *)skb[60]
r0 += 1
exit
`
	ldInd = `
r6 = r1
r2 = 4
r0 = *(u16 *)skb[r2 + 2]
exit
`
	xdpFields = `
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = *(u32 *)(r1 + 8)
r0 = r3
r0 -= r2
r5 = r2
r5 -= r4
r5 <<= 16
r0 += r5
r5 = *(u32 *)(r1 + 12)
r5 <<= 24
r0 += r5
r5 = *(u32 *)(r1 + 16)
r5 <<= 28
r0 += r5
exit
`
	xdpPacket = `
r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r4 = r2
r4 += 34
r0 = 2
if r4 > r3 goto +6
r5 = *(u32 *)(r2 + 26)
r6 = *(u32 *)(r2 + 30)
*(u32 *)(r2 + 26) = r6
*(u32 *)(r2 + 30) = r5
r0 = *(u8 *)(r2 + 23)
r0 += 3
exit
`
	xdpMeta = `
r2 = *(u32 *)(r1 + 0)
r4 = *(u32 *)(r1 + 8)
r5 = r4
r5 += 4
r0 = 0
if r5 > r2 goto +3
r0 = *(u32 *)(r4 + 0)
r6 = 0x77
*(u8 *)(r4 + 0) = r6
exit
`
)

func TestDifferential(t *testing.T) {
	testutil.RequireKernel(t)
	var c counter
	skb := skbInputs()
	for _, typ := range []progtype.Type{progtype.SocketFilter, progtype.SchedCLS, progtype.SchedACT, progtype.CGroupSKB, progtype.LWTIn, progtype.LWTXmit} {
		progs := fieldPrograms(typ)
		progs["ret-0"] = "r0 = 0\nexit\n"
		progs["ret-big"] = "r0 = -7\nexit\n"
		progs["cb-narrow"] = cbNarrow
		progs["cb-count"] = cbCount
		if typ != progtype.SocketFilter {
			progs["pkt-read"] = skbPacketRead
		}
		if typ == progtype.SocketFilter {
			progs["ld-abs"] = ldAbs
			progs["ld-abs-beyond"] = ldAbsBeyond
			progs["ld-ind"] = ldInd
		}
		if typ == progtype.SchedCLS || typ == progtype.SchedACT || typ == progtype.LWTXmit {
			progs["pkt-write"] = skbPacketWrite
		}
		if typ == progtype.SchedCLS || typ == progtype.CGroupSKB {
			progs["tstamp"] = tstampWrite
		}
		for _, f := range []int{progtype.SKBMark, progtype.SKBPriority, progtype.SKBTCIndex, progtype.SKBTCClassid, progtype.SKBQueueMapping} {
			if _, err := progtype.SKBAccess(typ, uint32(f), 4, true); err == nil {
				progs[fmt.Sprintf("write-%d", f)] = fmt.Sprintf(skbWrites, f, f)
			}
		}
		for name, asm := range progs {
			if typ == progtype.CGroupSKB { // the verifier wants 0 or 1 back
				asm = "r9 = r1\n" + strings.ReplaceAll(asm, "exit\n", "*(u32 *)(r9 + 48) = r0\nr0 &= 1\nexit\n")
			}
			if err := c.compare(t, typ, name, asm, skb, progtype.SKBSize); err != nil {
				t.Errorf("%v/%s: kernel refused a program gobee accepts: %v", typ, name, firstLine(err))
			}
		}
	}
	xdp := xdpInputs()
	for name, asm := range map[string]string{"fields": xdpFields, "packet": xdpPacket, "meta": xdpMeta,
		"ret-pass": "r0 = 2\nexit\n", "ret-big": "r0 = 77\nexit\n"} {
		if err := c.compare(t, progtype.XDP, name, asm, xdp, progtype.XDPMDSize); err != nil {
			t.Errorf("xdp/%s: kernel refused: %v", name, firstLine(err))
		}
	}
	t.Logf("testrun: compared %d runs against the kernel (and %d validation errnos)", c.runs, c.errnos)
	fmt.Printf("testrun: compared %d runs against the kernel (and %d validation errnos)\n", c.runs, c.errnos)
}

func firstLine(err error) string {
	var ve *kernel.VerifierError
	if errors.As(err, &ve) {
		return ve.Reason()
	}
	return strings.SplitN(err.Error(), "\n", 2)[0]
}
