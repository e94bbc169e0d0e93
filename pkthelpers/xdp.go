package pkthelpers

import (
	"syscall"

	"github.com/gobee-dev/gobee/progtype"

	"github.com/gobee-dev/gobee/interp"
)

// xdpFrameSize is sizeof(struct xdp_frame): the start of the headroom that
// adjust_head and adjust_meta must leave alone.
const xdpFrameSize = 40

// xdpMaxMeta is the most metadata bpf_xdp_adjust_meta allows.
const xdpMaxMeta = 32

// The frame's hard start is Buf[0]; its hard end (xdp_data_hard_end, the
// frame minus the room of skb_shared_info) is len(Buf), as XDPBuff
// documents.

// xdpAdjustHead is bpf_xdp_adjust_head(xdp_md, delta).
func xdpAdjustHead(r *interp.Run, _, delta, _, _, _ uint64) (uint64, error) {
	x, err := xdpOf(r, "bpf_xdp_adjust_head")
	if err != nil {
		return 0, err
	}
	off := int(int32(delta))
	metaLen := x.Data - x.Meta
	data := x.Data + off
	if data < xdpFrameSize+metaLen || data > x.End-ethHlen {
		return errno(syscall.EINVAL), nil
	}
	if metaLen != 0 {
		copy(x.Buf[x.Meta+off:], x.Buf[x.Meta:x.Data])
	}
	x.Meta += off
	x.Data = data
	return 0, nil
}

// xdpAdjustMeta is bpf_xdp_adjust_meta(xdp_md, delta).
func xdpAdjustMeta(r *interp.Run, _, delta, _, _, _ uint64) (uint64, error) {
	x, err := xdpOf(r, "bpf_xdp_adjust_meta")
	if err != nil {
		return 0, err
	}
	meta := x.Meta + int(int32(delta))
	if meta < xdpFrameSize || meta > x.Data {
		return errno(syscall.EINVAL), nil
	}
	if n := x.Data - meta; n&3 != 0 || n > xdpMaxMeta {
		return errno(syscall.EACCES), nil
	}
	x.Meta = meta
	return 0, nil
}

// xdpAdjustTail is bpf_xdp_adjust_tail(xdp_md, delta).
func xdpAdjustTail(r *interp.Run, _, delta, _, _, _ uint64) (uint64, error) {
	x, err := xdpOf(r, "bpf_xdp_adjust_tail")
	if err != nil {
		return 0, err
	}
	off := int(int32(delta))
	if len(x.Frags) > 0 {
		return fragsAdjustTail(x, off), nil
	}
	end := x.End + off
	if end > len(x.Buf) || end < x.Data+ethHlen {
		return errno(syscall.EINVAL), nil
	}
	if off > 0 {
		clear(x.Buf[x.End:end])
	}
	x.End = end
	return 0, nil
}

// fragPage is the size of one fragment of a multi-buffer frame (the test
// run's rxq->frag_size): Frags is a run of pages, the last one partial.
const fragPage = 4096

// fragsAdjustTail is bpf_xdp_adjust_tail on a multi-buffer frame
// (bpf_xdp_frags_increase_tail / bpf_xdp_frags_shrink_tail): growth goes
// into the last fragment's tailroom, shrinking eats fragments from the end
// and reaches the linear part only once no fragment is left.
func fragsAdjustTail(x *progtype.XDPBuff, off int) uint64 {
	if off >= 0 {
		last := len(x.Frags) % fragPage
		if last == 0 {
			last = fragPage
		}
		if off > fragPage-last {
			return errno(syscall.EINVAL)
		}
		x.Frags = append(x.Frags, make([]byte, off)...)
		return 0
	}
	off = -off
	if off > x.End-x.Data+len(x.Frags)-ethHlen {
		return errno(syscall.EINVAL)
	}
	n := min(off, len(x.Frags))
	x.Frags = x.Frags[:len(x.Frags)-n]
	if len(x.Frags) == 0 {
		x.Frags = nil
		x.End -= off - n
	}
	return 0
}
