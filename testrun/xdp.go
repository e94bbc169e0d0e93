package testrun

import (
	"fmt"
	"syscall"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/progtype"
)

// runXDP is bpf_prog_test_run_xdp without live frames.
func runXDP(prog *interp.Program, opts Options) (Result, error) {
	var res Result
	if opts.Attach == progtype.AttachXDPDevmap || opts.Attach == progtype.AttachXDPCpumap {
		return res, fail(syscall.EINVAL, "devmap and cpumap XDP programs cannot be test-run")
	}
	if opts.Flags&^FlagXDPLiveFrames != 0 {
		return res, fail(syscall.EINVAL, "flags %#x not allowed for XDP", opts.Flags)
	}
	if opts.Flags&FlagXDPLiveFrames != 0 {
		return res, fmt.Errorf("%w: BPF_F_TEST_XDP_LIVE_FRAMES", ErrUnsupported)
	}
	if opts.BatchSize != 0 {
		return res, fail(syscall.EINVAL, "batch_size needs BPF_F_TEST_XDP_LIVE_FRAMES")
	}
	ctx, err := ctxInit(&opts, progtype.XDPMDSize)
	if err != nil {
		return res, err
	}
	size := len(opts.DataIn)
	headroom := progtype.XDPPacketHeadroom
	linear := size
	var meta int
	if ctx != nil {
		data, dataEnd := le32(ctx, progtype.XDPData), le32(ctx, progtype.XDPDataEnd)
		switch {
		case le32(ctx, progtype.XDPDataMeta) != 0:
			return res, fail(syscall.EINVAL, "xdp_md.data_meta must be 0")
		case dataEnd > uint32(size):
			return res, fail(syscall.EINVAL, "xdp_md.data_end %d is beyond data_size_in %d", dataEnd, size)
		case data > dataEnd:
			return res, fail(syscall.EINVAL, "xdp_md.data %d is beyond data_end %d", data, dataEnd)
		case data%4 != 0 || data > xdpMaxMetaLen:
			return res, fail(syscall.EINVAL, "xdp_md.data %d is not a valid metadata length", data)
		}
		meta = int(data)
		headroom -= meta
		linear = int(dataEnd)
	}
	maxLinear := pageSize - headroom - sharedInfoSize
	linear = min(linear, maxLinear)
	if size-meta < ethHlen {
		return res, fail(syscall.EINVAL, "data_in of %d bytes (%d of metadata) is shorter than an Ethernet header", size, meta)
	}
	// The part of data_in beyond the linear area goes to fragments of a
	// page each, which direct packet access cannot reach.
	frags := opts.DataIn[linear:]
	if (len(frags)+pageSize-1)/pageSize > maxSKBFrags {
		return res, fail(syscall.ENOMEM, "data_in needs more than %d fragments", maxSKBFrags)
	}
	x := &progtype.XDPBuff{
		// The frame is frame_sz (a page) without the room of
		// skb_shared_info: its end is xdp_data_hard_end, the limit of
		// bpf_xdp_adjust_tail.
		Buf:  make([]byte, headroom+maxLinear),
		Meta: headroom, Data: headroom + meta, End: headroom + linear,
		Frags:          append([]byte(nil), frags...),
		IngressIfindex: loopbackIfindex,
	}
	copy(x.Buf[headroom:], opts.DataIn[:linear])
	if ctx != nil { // xdp_convert_md_to_buff
		ingress, rxq := le32(ctx, progtype.XDPIngressIfindex), le32(ctx, progtype.XDPRxQueueIndex)
		switch {
		case le32(ctx, progtype.XDPEgressIfindex) != 0:
			return res, fail(syscall.EINVAL, "xdp_md.egress_ifindex must be 0")
		case ingress == 0 && rxq != 0:
			return res, fail(syscall.EINVAL, "xdp_md.rx_queue_index needs ingress_ifindex")
		case ingress > loopbackIfindex:
			return res, fail(syscall.ENODEV, "no device with ifindex %d", ingress)
		case ingress == loopbackIfindex && rxq >= loopbackRxQueues:
			return res, fail(syscall.EINVAL, "rx queue %d does not exist", rxq)
		}
	}
	xc := progtype.NewXDPContext(opts.Attach, x)
	in := opts.Input
	in.Args = [5]uint64{xc.Addr()}
	in.Regions = append([]interp.Region{xc.Region(), {Mem: x.Buf, Writable: true}}, in.Regions...)
	in.Packet = nil
	in.Context = xdpRunContext{x, opts.Input.Context}
	ret, dur, err := repeatRuns(prog, &in, opts.Repeat, progtype.XDP, progtype.ReturnRange(progtype.XDP, opts.Attach))
	if err != nil {
		return res, err
	}
	res.Retval, res.Duration = ret, dur
	if ctx != nil { // xdp_convert_buff_to_md
		put32(ctx, progtype.XDPData, uint32(x.Data-x.Meta))
		put32(ctx, progtype.XDPDataEnd, uint32(x.End-x.Meta))
	}
	if err := finish(&res, append(x.Buf[x.Meta:x.End:x.End], x.Frags...), opts.DataSizeOut); err != nil {
		return res, err
	}
	res.CtxOut = ctx
	return res, nil
}

// xdpRunContext is the Input.Context of an XDP test run: packet helpers
// find the buffer through XDPBuff.
type xdpRunContext struct {
	buf  *progtype.XDPBuff
	user any
}

// XDPBuff returns the run's packet.
func (c xdpRunContext) XDPBuff() *progtype.XDPBuff { return c.buf }

// User returns the caller's Input.Context.
func (c xdpRunContext) User() any { return c.user }
