package progtype

import (
	"encoding/binary"
	"fmt"

	"github.com/gobee-dev/gobee/interp"
)

// SKBuff is the packet of a program whose context is struct __sk_buff
// (socket filter, tc, cgroup_skb, lwt, sk_skb, flow dissector): the
// user-space stand-in for the kernel's struct sk_buff with a linear
// buffer.
//
// Buf is the whole allocation: headroom, the linear data and tailroom.
// Data and Tail are offsets into Buf (skb->data and skb->tail), so the
// packet the program sees is Buf[Data:Tail]. Packet helpers that push or
// pull headers move Data; helpers that grow the packet beyond Buf replace
// Buf (and must interp.Run.Grant the new memory): a program may only keep
// packet pointers until such a helper runs, exactly as in the kernel.
type SKBuff struct {
	Buf        []byte
	Data, Tail int
	// Meta is the length of the metadata in front of Data (tc only).
	MetaLen int
	// MACHeader and NetworkHeader are offsets into Buf.
	MACHeader, NetworkHeader int

	// Fields the program can read (and some write) through __sk_buff.
	PktType        uint32
	Mark           uint32
	QueueMapping   uint16
	Protocol       uint16 // host order, e.g. 0x0800
	VlanPresent    bool
	VlanTCI        uint16
	VlanProto      uint16 // host order
	Priority       uint32
	IngressIfindex uint32
	Ifindex        uint32
	TCIndex        uint16
	CB             [20]byte
	Hash           uint32
	TCClassid      uint16
	NapiID         uint32
	Tstamp         uint64
	WireLen        uint32 // qdisc_skb_cb->pkt_len
	GSOSegs        uint32
	GSOSize        uint32
	TstampType     uint8
	Hwtstamp       uint64
	// Sock is the socket the skb belongs to (the fields cgroup_skb and
	// sk_skb programs read through family..local_port).
	Sock SockInfo

	// State that only packet helpers (package pkthelpers) read and
	// change: skb->sw_hash and skb->l4_hash (whether Hash is valid),
	// skb->ip_summed and skb->csum, skb->encapsulation, and the
	// transport header (an offset into Buf, valid if TransportSet).
	SWHash, L4Hash  bool
	IPSummed        uint8
	Csum            uint32
	Encapsulation   bool
	TransportHeader int
	TransportSet    bool
}

// SockInfo is what __sk_buff exposes of skb->sk.
type SockInfo struct {
	Family              uint32
	RemoteIP4, LocalIP4 [4]byte // network order
	RemoteIP6, LocalIP6 [16]byte
	RemotePort          uint16 // host order as stored in sk_dport's bytes
	LocalPort           uint32 // host order
	// None marks an skb without a socket; Cookie is the socket's cookie
	// once bpf_get_socket_cookie has handed one out.
	None   bool
	Cookie uint64
}

// Len returns skb->len (linear skbs only).
func (s *SKBuff) Len() int { return s.Tail - s.Data }

// Bytes returns the packet from skb->data to skb->tail.
func (s *SKBuff) Bytes() []byte { return s.Buf[s.Data:s.Tail] }

// access is what one program-type flavour may do with a field.
type access uint8

const (
	none access = iota
	read
	write // read and write
)

// skbFlavor groups the program types that share __sk_buff rules.
type skbFlavor int

const (
	flavSocketFilter skbFlavor = iota
	flavTC
	flavCGroupSKB
	flavLWT
	flavSKSKB
	flavFlowDissector
	numFlavors
)

func flavorOf(t Type) (skbFlavor, bool) {
	switch t {
	case SocketFilter:
		return flavSocketFilter, true
	case SchedCLS, SchedACT:
		return flavTC, true
	case CGroupSKB:
		return flavCGroupSKB, true
	case LWTIn, LWTOut, LWTXmit, LWTSeg6Local:
		return flavLWT, true
	case SKSKB:
		return flavSKSKB, true
	case FlowDissector:
		return flavFlowDissector, true
	}
	return 0, false
}

// sizeRule is the kernel's rule for the widths of one field's accesses
// (bpf_skb_is_valid_access).
type sizeRule uint8

const (
	narrow    sizeRule = iota // reads 1, 2, 4 bytes; writes 4
	exact4                    // 4 bytes only (packet pointers, IP addresses)
	exact8                    // 8 bytes only
	anyWidth                  // cb[]: any width, aligned
	exactByte                 // tstamp_type: 1 byte
)

type skbRule struct {
	size sizeRule
	// perm is the access per flavour: socket filter, tc, cgroup_skb,
	// lwt, sk_skb, flow dissector ('-' none, 'r' read, 'w' read+write).
	perm string
}

// skbRules is keyed by field name (struct __sk_buff), from the kernel's
// sk_filter_, tc_cls_act_, cg_skb_, lwt_, sk_skb_ and
// flow_dissector_is_valid_access.
var skbRules = map[string]skbRule{
	"len": {narrow, "rrrrr-"}, "pkt_type": {narrow, "rrrrr-"}, "mark": {narrow, "rwww--"},
	"queue_mapping": {narrow, "rwrrr-"}, "protocol": {narrow, "rrrrr-"}, "vlan_present": {narrow, "rrrrr-"},
	"vlan_tci": {narrow, "rrrrr-"}, "vlan_proto": {narrow, "rrrrr-"}, "priority": {narrow, "rwwww-"},
	"ingress_ifindex": {narrow, "rrrrr-"}, "ifindex": {narrow, "rrrrr-"}, "tc_index": {narrow, "rwrrw-"},
	"cb": {anyWidth, "wwwwr-"}, "hash": {narrow, "rrrrr-"}, "tc_classid": {narrow, "-w----"},
	"data": {exact4, "-rrrrr"}, "data_end": {exact4, "-rrrrr"}, "napi_id": {narrow, "rrrrr-"},
	"family": {narrow, "--r-r-"}, "remote_ip4": {exact4, "--r-r-"}, "local_ip4": {exact4, "--r-r-"},
	"remote_ip6[0]": {exact4, "--r-r-"}, "remote_ip6[1]": {exact4, "--r-r-"}, "remote_ip6[2]": {exact4, "--r-r-"}, "remote_ip6[3]": {exact4, "--r-r-"},
	"local_ip6[0]": {exact4, "--r-r-"}, "local_ip6[1]": {exact4, "--r-r-"}, "local_ip6[2]": {exact4, "--r-r-"}, "local_ip6[3]": {exact4, "--r-r-"},
	"remote_port": {narrow, "--r-r-"}, "local_port": {narrow, "--r-r-"},
	"data_meta": {exact4, "-r----"}, "flow_keys": {exact8, "-----r"}, "tstamp": {exact8, "-ww---"},
	"wire_len": {narrow, "-r----"}, "gso_segs": {narrow, "rrrrr-"}, "sk": {exact8, "rrrrr-"},
	"gso_size": {narrow, "rrrrr-"}, "tstamp_type": {exactByte, "-r----"}, "hwtstamp": {exact8, "-rr---"},
}

// skbTargetSize is the width of the kernel field each __sk_buff field is
// rewritten to load (the verifier's target_size).
var skbTargetSize = map[string]uint32{
	"len": 4, "pkt_type": 1, "mark": 4, "queue_mapping": 2, "protocol": 2, "vlan_present": 1,
	"vlan_tci": 2, "vlan_proto": 2, "priority": 4, "ingress_ifindex": 4, "ifindex": 4, "tc_index": 2,
	"hash": 4, "tc_classid": 2, "napi_id": 4, "family": 2, "remote_port": 2, "local_port": 2,
	"wire_len": 4, "gso_segs": 2, "gso_size": 2, "tstamp": 8, "hwtstamp": 8, "tstamp_type": 1,
}

// SKBAccess reports whether a program of type t may load (write=false)
// or store size bytes at offset off of its __sk_buff; the error names the
// field and the reason, like the verifier's "invalid bpf_context access".
func SKBAccess(t Type, off, size uint32, write bool) (Field, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: invalid bpf_context access off=%d size=%d (%s of %s: %s)",
			interp.ErrContextAccess, off, size, op(write), SKBuffContext.fieldName(off), why)
	}
	flav, ok := flavorOf(t)
	if !ok {
		return Field{}, bad(fmt.Sprintf("program type %v has no __sk_buff context", t))
	}
	if off >= SKBSize {
		return Field{}, bad("beyond the struct")
	}
	if size != 1 && size != 2 && size != 4 && size != 8 || off%size != 0 {
		return Field{}, bad("misaligned")
	}
	f, ok := SKBuffContext.FieldAt(off)
	if !ok {
		return Field{}, bad("padding")
	}
	rule := skbRules[f.Name]
	switch p := rule.perm[flav]; {
	case p == '-':
		return f, bad(fmt.Sprintf("not accessible to %v programs", t))
	case write && p != 'w':
		return f, bad(fmt.Sprintf("read-only for %v programs", t))
	}
	switch rule.size {
	case narrow:
		if write && size != 4 || !write && size > 4 {
			return f, bad("wrong width")
		}
	case exact4:
		if size != 4 {
			return f, bad("only 4-byte access")
		}
	case exact8:
		if size != 8 {
			return f, bad("only 8-byte access")
		}
	case anyWidth:
		if off+size > f.Off+f.Size {
			return f, bad("crosses the end of cb")
		}
	case exactByte:
		if size != 1 || off != f.Off {
			return f, bad("only 1-byte access")
		}
	}
	return f, nil
}

func op(write bool) string {
	if write {
		return "store"
	}
	return "load"
}

// SKBContext is the interp.ContextAccessor of a __sk_buff: it applies the
// rules of Type and reads and writes Skb.
type SKBContext struct {
	Type Type
	Skb  *SKBuff
	// Mem is the context memory whose address the program gets in r1
	// (SKBSize bytes); its bytes are never read, only its address.
	Mem []byte
}

// NewSKBContext returns the context of a program of type t over skb.
func NewSKBContext(t Type, skb *SKBuff) *SKBContext {
	return &SKBContext{Type: t, Skb: skb, Mem: make([]byte, SKBSize)}
}

// Region returns the context as an interp.Region.
func (c *SKBContext) Region() interp.Region {
	return interp.Region{Mem: c.Mem, Writable: true, Accessor: c}
}

// Addr returns the address the program gets in r1.
func (c *SKBContext) Addr() uint64 { return interp.Addr(c.Mem) }

func be16(v uint16) uint64 { return uint64(v>>8 | v<<8) }

// fieldValue returns the value a full-width load of f gives.
func (c *SKBContext) fieldValue(f Field) (uint64, error) {
	s := c.Skb
	base := interp.Addr(s.Buf)
	b2u := func(b []byte) uint64 { return uint64(binary.LittleEndian.Uint32(b)) }
	switch f.Off {
	case SKBLen:
		return uint64(s.Len()), nil
	case SKBPktType:
		return uint64(s.PktType), nil
	case SKBMark:
		return uint64(s.Mark), nil
	case SKBQueueMapping:
		return uint64(s.QueueMapping), nil
	case SKBProtocol:
		return be16(s.Protocol), nil
	case SKBVlanPresent:
		if s.VlanPresent {
			return 1, nil
		}
		return 0, nil
	case SKBVlanTCI:
		return uint64(s.VlanTCI), nil
	case SKBVlanProto:
		return be16(s.VlanProto), nil
	case SKBPriority:
		return uint64(s.Priority), nil
	case SKBIngressIfindex:
		return uint64(s.IngressIfindex), nil
	case SKBIfindex:
		return uint64(s.Ifindex), nil
	case SKBTCIndex:
		return uint64(s.TCIndex), nil
	case SKBHash:
		return uint64(s.Hash), nil
	case SKBTCClassid:
		return uint64(s.TCClassid), nil
	case SKBData:
		return base + uint64(s.Data), nil
	case SKBDataEnd:
		return base + uint64(s.Tail), nil
	case SKBDataMeta:
		return base + uint64(s.Data-s.MetaLen), nil
	case SKBNapiID:
		return uint64(s.NapiID), nil
	case SKBFamily:
		return uint64(s.Sock.Family), nil
	case SKBRemoteIP4:
		return b2u(s.Sock.RemoteIP4[:]), nil
	case SKBLocalIP4:
		return b2u(s.Sock.LocalIP4[:]), nil
	case SKBRemotePort:
		return be16(s.Sock.RemotePort) << 16, nil
	case SKBLocalPort:
		return uint64(s.Sock.LocalPort), nil
	case SKBTstamp:
		return s.Tstamp, nil
	case SKBWireLen:
		return uint64(s.WireLen), nil
	case SKBGSOSegs:
		return uint64(s.GSOSegs), nil
	case SKBGSOSize:
		return uint64(s.GSOSize), nil
	case SKBTstampType:
		return uint64(s.TstampType), nil
	case SKBHwtstamp:
		return s.Hwtstamp, nil
	}
	switch {
	case f.Off >= SKBRemoteIP6 && f.Off < SKBLocalIP6:
		return b2u(s.Sock.RemoteIP6[f.Off-SKBRemoteIP6:]), nil
	case f.Off >= SKBLocalIP6 && f.Off < SKBRemotePort:
		return b2u(s.Sock.LocalIP6[f.Off-SKBLocalIP6:]), nil
	}
	return 0, fmt.Errorf("%w: __sk_buff field %s is not modelled by gobee", interp.ErrContextAccess, f.Name)
}

// LoadContext implements interp.ContextAccessor.
func (c *SKBContext) LoadContext(_ *interp.Run, off, size uint32) (uint64, error) {
	f, err := SKBAccess(c.Type, off, size, false)
	if err != nil {
		return 0, err
	}
	if f.Off == SKBCB {
		return loadLE(c.Skb.CB[off-SKBCB:], size), nil
	}
	v, err := c.fieldValue(f)
	if err != nil || f.Pointer {
		return v, err
	}
	// The kernel rewrites a narrow load into a load of the whole kernel
	// field and shifts and masks only when the access is narrower than
	// that field: a 2-byte load of pkt_type (a 3-bit field) returns all
	// of it, whatever its offset.
	if size < skbTargetSize[f.Name] {
		return narrowValue(v, off-f.Off, size), nil
	}
	return v, nil
}

// StoreContext implements interp.ContextAccessor.
func (c *SKBContext) StoreContext(_ *interp.Run, off, size uint32, v uint64) error {
	f, err := SKBAccess(c.Type, off, size, true)
	if err != nil {
		return err
	}
	s := c.Skb
	switch f.Off {
	case SKBCB:
		storeLE(s.CB[off-SKBCB:], size, v)
	case SKBMark:
		s.Mark = uint32(v)
	case SKBPriority:
		s.Priority = uint32(v)
	case SKBTCIndex:
		s.TCIndex = uint16(v)
	case SKBTCClassid:
		s.TCClassid = uint16(v)
	case SKBQueueMapping:
		// The kernel ignores values that are NO_QUEUE_MAPPING or above.
		if v < 0xffff {
			s.QueueMapping = uint16(v)
		}
	case SKBTstamp:
		s.Tstamp = v
		s.TstampType = 0
	default:
		return fmt.Errorf("%w: store to __sk_buff field %s is not modelled by gobee", interp.ErrContextAccess, f.Name)
	}
	return nil
}

// narrowValue extracts a narrow load of size bytes at byte shift within a
// field whose full value is v (little-endian layout, as the kernel's
// narrow-load rewrite on little-endian hosts).
func narrowValue(v uint64, shift, size uint32) uint64 {
	v >>= 8 * shift
	if size < 8 {
		v &= 1<<(8*size) - 1
	}
	return v
}

func loadLE(b []byte, size uint32) uint64 {
	switch size {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	}
	return binary.LittleEndian.Uint64(b)
}

func storeLE(b []byte, size uint32, v uint64) {
	switch size {
	case 1:
		b[0] = byte(v)
	case 2:
		binary.LittleEndian.PutUint16(b, uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(b, uint32(v))
	default:
		binary.LittleEndian.PutUint64(b, v)
	}
}
