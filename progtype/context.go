package progtype

import "fmt"

// Field is one field of a context struct as the uapi header lays it out.
type Field struct {
	Name      string
	Off, Size uint32
	// Pointer marks fields the kernel rewrites into pointers (data,
	// data_end, data_meta, sk, flow_keys).
	Pointer bool
}

// Context is a context struct.
type Context struct {
	Name   string
	Size   uint32
	Fields []Field
}

// FieldAt returns the field that contains offset off, if any.
func (c *Context) FieldAt(off uint32) (Field, bool) {
	for _, f := range c.Fields {
		if off >= f.Off && off < f.Off+f.Size {
			return f, true
		}
	}
	return Field{}, false
}

// fieldName names the field at off for error messages ("cb[2]").
func (c *Context) fieldName(off uint32) string {
	f, ok := c.FieldAt(off)
	if !ok {
		return fmt.Sprintf("%s+%d", c.Name, off)
	}
	if f.Size > 8 && f.Name == "cb" {
		return fmt.Sprintf("cb[%d]", (off-f.Off)/4)
	}
	return f.Name
}

func u32s(names ...string) []Field {
	out := make([]Field, len(names))
	for i, n := range names {
		out[i] = Field{Name: n, Off: uint32(4 * i), Size: 4}
	}
	return out
}

// Offsets of struct __sk_buff fields.
const (
	SKBLen            = 0
	SKBPktType        = 4
	SKBMark           = 8
	SKBQueueMapping   = 12
	SKBProtocol       = 16
	SKBVlanPresent    = 20
	SKBVlanTCI        = 24
	SKBVlanProto      = 28
	SKBPriority       = 32
	SKBIngressIfindex = 36
	SKBIfindex        = 40
	SKBTCIndex        = 44
	SKBCB             = 48
	SKBHash           = 68
	SKBTCClassid      = 72
	SKBData           = 76
	SKBDataEnd        = 80
	SKBNapiID         = 84
	SKBFamily         = 88
	SKBRemoteIP4      = 92
	SKBLocalIP4       = 96
	SKBRemoteIP6      = 100
	SKBLocalIP6       = 116
	SKBRemotePort     = 132
	SKBLocalPort      = 136
	SKBDataMeta       = 140
	SKBFlowKeys       = 144
	SKBTstamp         = 152
	SKBWireLen        = 160
	SKBGSOSegs        = 164
	SKBSk             = 168
	SKBGSOSize        = 176
	SKBTstampType     = 180
	SKBHwtstamp       = 184
	// SKBSize is sizeof(struct __sk_buff).
	SKBSize = 192
)

// Offsets of struct xdp_md fields.
const (
	XDPData           = 0
	XDPDataEnd        = 4
	XDPDataMeta       = 8
	XDPIngressIfindex = 12
	XDPRxQueueIndex   = 16
	XDPEgressIfindex  = 20
	// XDPMDSize is sizeof(struct xdp_md).
	XDPMDSize = 24
)

// Context structs.
var (
	SKBuffContext = Context{Name: "__sk_buff", Size: SKBSize, Fields: []Field{
		{"len", 0, 4, false}, {"pkt_type", 4, 4, false}, {"mark", 8, 4, false}, {"queue_mapping", 12, 4, false},
		{"protocol", 16, 4, false}, {"vlan_present", 20, 4, false}, {"vlan_tci", 24, 4, false}, {"vlan_proto", 28, 4, false},
		{"priority", 32, 4, false}, {"ingress_ifindex", 36, 4, false}, {"ifindex", 40, 4, false}, {"tc_index", 44, 4, false},
		{"cb", 48, 20, false}, {"hash", 68, 4, false}, {"tc_classid", 72, 4, false},
		{"data", 76, 4, true}, {"data_end", 80, 4, true}, {"napi_id", 84, 4, false},
		{"family", 88, 4, false}, {"remote_ip4", 92, 4, false}, {"local_ip4", 96, 4, false},
		{"remote_ip6[0]", 100, 4, false}, {"remote_ip6[1]", 104, 4, false}, {"remote_ip6[2]", 108, 4, false}, {"remote_ip6[3]", 112, 4, false},
		{"local_ip6[0]", 116, 4, false}, {"local_ip6[1]", 120, 4, false}, {"local_ip6[2]", 124, 4, false}, {"local_ip6[3]", 128, 4, false},
		{"remote_port", 132, 4, false}, {"local_port", 136, 4, false},
		{"data_meta", 140, 4, true}, {"flow_keys", 144, 8, true}, {"tstamp", 152, 8, false},
		{"wire_len", 160, 4, false}, {"gso_segs", 164, 4, false}, {"sk", 168, 8, true}, {"gso_size", 176, 4, false},
		{"tstamp_type", 180, 1, false}, {"hwtstamp", 184, 8, false},
	}}
	XDPMDContext = Context{Name: "xdp_md", Size: XDPMDSize, Fields: []Field{
		{"data", 0, 4, true}, {"data_end", 4, 4, true}, {"data_meta", 8, 4, true},
		{"ingress_ifindex", 12, 4, false}, {"rx_queue_index", 16, 4, false}, {"egress_ifindex", 20, 4, false},
	}}
	PtRegsContext = Context{Name: "pt_regs", Size: 168, Fields: u64s("r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10",
		"r9", "r8", "ax", "cx", "dx", "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss")}
	PerfEventContext = Context{Name: "bpf_perf_event_data", Size: 184,
		Fields: append(u64s("regs"), Field{"sample_period", 168, 8, false}, Field{"addr", 176, 8, false})}
	BPFSockContext = Context{Name: "bpf_sock", Size: 80, Fields: append(u32s("bound_dev_if", "family", "type", "protocol", "mark", "priority", "src_ip4"),
		Field{"src_ip6", 28, 16, false}, Field{"src_port", 44, 4, false}, Field{"dst_port", 48, 4, false},
		Field{"dst_ip4", 52, 4, false}, Field{"dst_ip6", 56, 16, false}, Field{"state", 72, 4, false}, Field{"rx_queue_mapping", 76, 4, false})}
	CGroupDevContext = Context{Name: "bpf_cgroup_dev_ctx", Size: 12, Fields: u32s("access_type", "major", "minor")}
	SKMsgContext     = Context{Name: "sk_msg_md", Size: 80, Fields: []Field{{"data", 0, 8, true}, {"data_end", 8, 8, true},
		{"family", 16, 4, false}, {"remote_ip4", 20, 4, false}, {"local_ip4", 24, 4, false}, {"remote_ip6", 28, 16, false},
		{"local_ip6", 44, 16, false}, {"remote_port", 60, 4, false}, {"local_port", 64, 4, false}, {"size", 68, 4, false}, {"sk", 72, 8, true}}}
	SockAddrContext = Context{Name: "bpf_sock_addr", Size: 72, Fields: []Field{{"user_family", 0, 4, false}, {"user_ip4", 4, 4, false},
		{"user_ip6", 8, 16, false}, {"user_port", 24, 4, false}, {"family", 28, 4, false}, {"type", 32, 4, false}, {"protocol", 36, 4, false},
		{"msg_src_ip4", 40, 4, false}, {"msg_src_ip6", 44, 16, false}, {"sk", 64, 8, true}}}
	SysctlContext  = Context{Name: "bpf_sysctl", Size: 8, Fields: u32s("write", "file_pos")}
	SockoptContext = Context{Name: "bpf_sockopt", Size: 40, Fields: []Field{{"sk", 0, 8, true}, {"optval", 8, 8, true}, {"optval_end", 16, 8, true},
		{"level", 24, 4, false}, {"optname", 28, 4, false}, {"optlen", 32, 4, false}, {"retval", 36, 4, false}}}
	SKLookupContext = Context{Name: "bpf_sk_lookup", Size: 72, Fields: []Field{{"sk", 0, 8, true}, {"family", 8, 4, false}, {"protocol", 12, 4, false},
		{"remote_ip4", 16, 4, false}, {"remote_ip6", 20, 16, false}, {"remote_port", 36, 4, false}, {"local_ip4", 40, 4, false},
		{"local_ip6", 44, 16, false}, {"local_port", 60, 4, false}, {"ingress_ifindex", 64, 4, false}}}
	SKReuseportContext = Context{Name: "sk_reuseport_md", Size: 56, Fields: []Field{{"data", 0, 8, true}, {"data_end", 8, 8, true},
		{"len", 16, 4, false}, {"eth_protocol", 20, 4, false}, {"ip_protocol", 24, 4, false}, {"bind_inany", 28, 4, false},
		{"hash", 32, 4, false}, {"sk", 40, 8, true}, {"migrating_sk", 48, 8, true}}}
	// SockOpsContext's field list is not modelled yet.
	SockOpsContext = Context{Name: "bpf_sock_ops"}
)

func u64s(names ...string) []Field {
	out := make([]Field, len(names))
	for i, n := range names {
		out[i] = Field{Name: n, Off: uint32(8 * i), Size: 8}
	}
	if len(names) == 1 { // a nested struct: pt_regs inside perf_event_data
		out[0].Size = 168
	}
	return out
}
