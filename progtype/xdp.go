package progtype

import (
	"fmt"

	"github.com/gobee-dev/gobee/interp"
)

// XDPPacketHeadroom is XDP_PACKET_HEADROOM.
const XDPPacketHeadroom = 256

// XDPBuff is the packet of an XDP program: the user-space stand-in for
// the kernel's struct xdp_buff.
//
// Buf is the whole frame: headroom, packet, tailroom (the part of the
// frame that skb_shared_info would use is not included). Meta, Data and
// End are offsets into Buf: the metadata is Buf[Meta:Data] and the packet
// Buf[Data:End]. bpf_xdp_adjust_head/tail/meta move them within Buf and
// never reallocate it, so the packet region granted to a run stays valid.
type XDPBuff struct {
	Buf             []byte
	Meta, Data, End int
	// Frags is the part of a multi-buffer frame beyond the linear area
	// (the kernel's page fragments), reachable only through helpers.
	Frags []byte
	// IngressIfindex and RxQueueIndex are what xdp_md reads through the
	// rx queue; EgressIfindex is only readable by devmap programs.
	IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

// Bytes returns the linear packet from data to data_end.
func (x *XDPBuff) Bytes() []byte { return x.Buf[x.Data:x.End] }

// XDPAccess reports whether an XDP program with the given expected attach
// type may load (write=false) or store size bytes at offset off of its
// xdp_md (the kernel's xdp_is_valid_access: 4-byte reads only, no writes,
// egress_ifindex only for devmap programs).
func XDPAccess(attach AttachType, off, size uint32, write bool) (Field, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: invalid bpf_context access off=%d size=%d (%s of xdp_md.%s: %s)",
			interp.ErrContextAccess, off, size, op(write), XDPMDContext.fieldName(off), why)
	}
	f, ok := XDPMDContext.FieldAt(off)
	switch {
	case !ok:
		return f, bad("beyond the struct")
	case off == XDPEgressIfindex && attach != AttachXDPDevmap:
		return f, bad("only devmap programs may read it")
	case write:
		return f, bad("xdp_md is read-only")
	case size != 4 || off%4 != 0:
		return f, bad("only 4-byte access")
	}
	return f, nil
}

// XDPContext is the interp.ContextAccessor of an xdp_md.
type XDPContext struct {
	Attach AttachType
	Buf    *XDPBuff
	// Mem is the context memory whose address the program gets in r1.
	Mem []byte
}

// NewXDPContext returns the context of an XDP program over x.
func NewXDPContext(attach AttachType, x *XDPBuff) *XDPContext {
	return &XDPContext{Attach: attach, Buf: x, Mem: make([]byte, XDPMDSize)}
}

// Region returns the context as an interp.Region.
func (c *XDPContext) Region() interp.Region {
	return interp.Region{Mem: c.Mem, Accessor: c}
}

// Addr returns the address the program gets in r1.
func (c *XDPContext) Addr() uint64 { return interp.Addr(c.Mem) }

// LoadContext implements interp.ContextAccessor.
func (c *XDPContext) LoadContext(_ *interp.Run, off, size uint32) (uint64, error) {
	if _, err := XDPAccess(c.Attach, off, size, false); err != nil {
		return 0, err
	}
	x := c.Buf
	base := interp.Addr(x.Buf)
	switch off {
	case XDPData:
		return base + uint64(x.Data), nil
	case XDPDataEnd:
		return base + uint64(x.End), nil
	case XDPDataMeta:
		return base + uint64(x.Meta), nil
	case XDPIngressIfindex:
		return uint64(x.IngressIfindex), nil
	case XDPRxQueueIndex:
		return uint64(x.RxQueueIndex), nil
	}
	return uint64(x.EgressIfindex), nil
}

// StoreContext implements interp.ContextAccessor.
func (c *XDPContext) StoreContext(_ *interp.Run, off, size uint32, _ uint64) error {
	_, err := XDPAccess(c.Attach, off, size, true)
	return err
}
