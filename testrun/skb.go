package testrun

import (
	"encoding/binary"
	"syscall"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/pkthelpers"
	"github.com/gobee-dev/gobee/progtype"
)

// Ethernet and address-family constants.
const (
	ethP8023Min   = 0x0600
	ethP8023      = 0x0001
	ethP8022      = 0x0004
	ethPIP        = 0x0800
	ethPIPv6      = 0x86dd
	afInet        = 2
	afInet6       = 10
	ipv4HeaderLen = 20
	ipv6HeaderLen = 40
)

// Packet types (skb->pkt_type).
const (
	packetHost      = 0
	packetBroadcast = 1
	packetMulticast = 2
	packetOtherhost = 3
)

// loopbackAddr and loopbackBroadcast are the loopback device's addresses
// that eth_type_trans compares the destination with.
var (
	loopbackAddr      [6]byte
	loopbackBroadcast [6]byte
)

// SKBRunContext is the Input.Context of an skb test run: packet helpers
// find the buffer through SKBuff.
type SKBRunContext interface {
	SKBuff() *progtype.SKBuff
}

type skbRunContext struct {
	skb  *progtype.SKBuff
	user any
	in   *interp.Input
}

func (c skbRunContext) SKBuff() *progtype.SKBuff { return c.skb }
func (c skbRunContext) User() any                { return c.user }

// SetPacket moves what ld_abs/ld_ind read to p: packet helpers call it
// after they change the skb's data.
func (c skbRunContext) SetPacket(p []byte) { c.in.Packet = p }

// allowedSKBCtx are the __sk_buff ranges ctx_in may set
// (convert___skb_to_skb); everything else must be zero.
var allowedSKBCtx = [][2]int{
	{progtype.SKBMark, progtype.SKBMark + 4},
	{progtype.SKBPriority, progtype.SKBIfindex + 4},
	{progtype.SKBCB, progtype.SKBCB + 20},
	{progtype.SKBTstamp, progtype.SKBGSOSegs + 4},
	{progtype.SKBGSOSize, progtype.SKBGSOSize + 4},
	{progtype.SKBHwtstamp, progtype.SKBHwtstamp + 8},
}

// runSKB is bpf_prog_test_run_skb.
func runSKB(prog *interp.Program, typ progtype.Type, opts Options) (Result, error) {
	var res Result
	if opts.Flags&^FlagSKBChecksumComplete != 0 || opts.CPU != 0 || opts.BatchSize != 0 {
		return res, fail(syscall.EINVAL, "flags %#x, cpu %d, batch_size %d not allowed for skb programs", opts.Flags, opts.CPU, opts.BatchSize)
	}
	size := len(opts.DataIn)
	if err := testInit(size, netSKBPad, sharedInfoSize); err != nil {
		return res, err
	}
	ctx, err := ctxInit(&opts, progtype.SKBSize)
	if err != nil {
		return res, err
	}
	isL2 := typ == progtype.SchedCLS || typ == progtype.SchedACT

	skb := &progtype.SKBuff{
		Buf:  make([]byte, netSKBPad+alignUp(size, skbDataAlign)),
		Data: netSKBPad, Tail: netSKBPad + size,
	}
	copy(skb.Buf[netSKBPad:], opts.DataIn)
	if ctx != nil {
		if ifx := le32(ctx, progtype.SKBIfindex); ifx > loopbackIfindex {
			return res, fail(syscall.ENODEV, "no device with ifindex %d", ifx)
		}
	}
	ethTypeTrans(skb)
	skb.NetworkHeader = skb.Data
	if err := setSock(skb); err != nil {
		return res, err
	}
	if isL2 {
		skb.Data -= ethHlen
	}
	// convert___skb_to_skb; it only runs with a ctx_in, so only then is an
	// skb that is empty after the Ethernet header refused.
	if ctx != nil {
		if skb.Len() == 0 {
			return res, fail(syscall.EINVAL, "the packet is empty after the Ethernet header")
		}
		skb.WireLen = uint32(skb.Len())
		prev := 0
		for _, r := range allowedSKBCtx {
			if !isZero(ctx[prev:r[0]]) {
				return res, fail(syscall.EINVAL, "ctx_in sets __sk_buff bytes %d..%d, which test runs do not accept", prev, r[0])
			}
			prev = r[1]
		}
		if !isZero(ctx[prev:]) {
			return res, fail(syscall.EINVAL, "ctx_in sets __sk_buff bytes %d..%d, which test runs do not accept", prev, progtype.SKBSize)
		}
		skb.Mark = le32(ctx, progtype.SKBMark)
		skb.Priority = le32(ctx, progtype.SKBPriority)
		skb.IngressIfindex = le32(ctx, progtype.SKBIngressIfindex)
		skb.Tstamp = le64(ctx, progtype.SKBTstamp)
		copy(skb.CB[:], ctx[progtype.SKBCB:])
		if w := le32(ctx, progtype.SKBWireLen); w != 0 {
			if w < uint32(skb.Len()) || w > gsoLegacyMaxSize {
				return res, fail(syscall.EINVAL, "wire_len %d out of range", w)
			}
			skb.WireLen = w
		}
		if segs := le32(ctx, progtype.SKBGSOSegs); segs > gsoMaxSegs {
			return res, fail(syscall.EINVAL, "gso_segs %d out of range", segs)
		}
		skb.GSOSegs = le32(ctx, progtype.SKBGSOSegs)
		skb.GSOSize = le32(ctx, progtype.SKBGSOSize)
		skb.Hwtstamp = le64(ctx, progtype.SKBHwtstamp)
	}

	csumComplete := opts.Flags&FlagSKBChecksumComplete != 0
	if csumComplete {
		skb.Csum = pkthelpers.Checksum(skb.Buf[skb.NetworkHeader:skb.Tail], 0)
		skb.IPSummed = pkthelpers.ChecksumComplete
	}

	sc := progtype.NewSKBContext(typ, skb)
	in := opts.Input
	in.Args = [5]uint64{sc.Addr()}
	in.Regions = append([]interp.Region{sc.Region(), {Mem: skb.Buf, Writable: true}}, in.Regions...)
	in.Packet = skb.Buf[skb.Data:skb.Tail]
	in.Context = skbRunContext{skb, opts.Input.Context, &in}
	ret, dur, err := repeatRuns(prog, &in, opts.Repeat, typ, progtype.ReturnRange(typ, opts.Attach))
	if err != nil {
		return res, err
	}
	res.Retval, res.Duration = ret, dur
	if csumComplete && skb.NetworkHeader <= skb.Tail {
		// The program's helpers must have kept skb->csum right.
		sum := pkthelpers.Checksum(skb.Buf[skb.NetworkHeader:skb.Tail], 0)
		if pkthelpers.Fold(skb.Csum) != pkthelpers.Fold(sum) {
			return res, fail(syscall.EBADMSG, "skb->csum does not match the packet after the run")
		}
	}
	if !isL2 {
		// The Ethernet header comes back as zeros.
		if skb.Data < ethHlen {
			grown := make([]byte, len(skb.Buf)+ethHlen)
			copy(grown[ethHlen:], skb.Buf)
			skb.Buf, skb.Data, skb.Tail = grown, skb.Data+ethHlen, skb.Tail+ethHlen
		}
		skb.Data -= ethHlen
		clear(skb.Buf[skb.Data : skb.Data+ethHlen])
	}
	if ctx != nil { // convert_skb_to___skb
		put32(ctx, progtype.SKBMark, skb.Mark)
		put32(ctx, progtype.SKBPriority, skb.Priority)
		put32(ctx, progtype.SKBIngressIfindex, skb.IngressIfindex)
		put32(ctx, progtype.SKBIfindex, skb.Ifindex)
		put64(ctx, progtype.SKBTstamp, skb.Tstamp)
		copy(ctx[progtype.SKBCB:progtype.SKBCB+20], skb.CB[:])
		put32(ctx, progtype.SKBWireLen, skb.WireLen)
		put32(ctx, progtype.SKBGSOSegs, skb.GSOSegs)
		put64(ctx, progtype.SKBHwtstamp, skb.Hwtstamp)
	}
	if err := finish(&res, skb.Bytes(), opts.DataSizeOut); err != nil {
		return res, err
	}
	res.CtxOut = ctx
	return res, nil
}

// ethTypeTrans is eth_type_trans on the loopback device: it sets the
// device, the packet type and the protocol, and pulls the Ethernet header.
func ethTypeTrans(skb *progtype.SKBuff) {
	skb.Ifindex = loopbackIfindex
	skb.MACHeader = skb.Data
	eth := skb.Buf[skb.Data : skb.Data+ethHlen]
	skb.Data += ethHlen
	var dst [6]byte
	copy(dst[:], eth)
	switch {
	case dst == loopbackAddr:
		skb.PktType = packetHost
	case dst[0]&1 != 0 && dst == loopbackBroadcast:
		skb.PktType = packetBroadcast
	case dst[0]&1 != 0:
		skb.PktType = packetMulticast
	default:
		skb.PktType = packetOtherhost
	}
	proto := binary.BigEndian.Uint16(eth[12:])
	switch {
	case proto >= ethP8023Min:
		skb.Protocol = proto
	case skb.Len() >= 2 && skb.Buf[skb.Data] == 0xff && skb.Buf[skb.Data+1] == 0xff:
		skb.Protocol = ethP8023
	default:
		skb.Protocol = ethP8022
	}
}

// setSock fills the test run's dummy socket from the network header; like
// the kernel it refuses IP packets too short for their network header.
func setSock(skb *progtype.SKBuff) error {
	p := skb.Bytes()
	switch skb.Protocol {
	case ethPIP:
		skb.Sock.Family = afInet
		if len(p) < ipv4HeaderLen {
			return fail(syscall.EINVAL, "IPv4 packet with %d bytes after the Ethernet header, less than an IPv4 header", len(p))
		}
		copy(skb.Sock.LocalIP4[:], p[12:16])
		copy(skb.Sock.RemoteIP4[:], p[16:20])
	case ethPIPv6:
		skb.Sock.Family = afInet6
		if len(p) < ipv6HeaderLen {
			return fail(syscall.EINVAL, "IPv6 packet with %d bytes after the Ethernet header, less than an IPv6 header", len(p))
		}
		copy(skb.Sock.LocalIP6[:], p[8:24])
		copy(skb.Sock.RemoteIP6[:], p[24:40])
	}
	return nil
}
