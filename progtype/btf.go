package progtype

import (
	"fmt"
	"sync"

	"github.com/cilium/ebpf/btf"
)

// ContextBTF returns gobee's own BTF for its context structs (struct
// __sk_buff, xdp_md, bpf_sock, bpf_sock_addr, bpf_sk_lookup, sk_msg_md,
// sk_reuseport_md, bpf_sysctl, bpf_sockopt, bpf_cgroup_dev_ctx,
// bpf_flow_keys, pt_regs and bpf_perf_event_data for x86-64) and the uapi
// enums programs return (xdp_action, sk_action, bpf_ret_code).
//
// Members, offsets, sizes and unions are those of the uapi headers (the
// __bpf_md_ptr unions included), with the same integer typedefs (__u32,
// __be16, ...) as the kernel's BTF, so CO-RE relocations against these
// types resolve without a kernel. struct bpf_sock_ops is left out: gobee
// does not model its fields yet.
//
// The returned Spec is shared and must not be modified.
func ContextBTF() (*btf.Spec, error) {
	ctxBTFOnce.Do(func() {
		b, err := btf.NewBuilder(nil, nil)
		if err != nil {
			ctxBTFErr = err
			return
		}
		for _, t := range contextBTFTypes() {
			if _, err := b.Add(t); err != nil {
				ctxBTFErr = fmt.Errorf("context BTF: %s: %w", t.TypeName(), err)
				return
			}
		}
		ctxBTF, ctxBTFErr = b.Spec()
	})
	return ctxBTF, ctxBTFErr
}

var (
	ctxBTFOnce sync.Once
	ctxBTF     *btf.Spec
	ctxBTFErr  error
)

// m is a member at a byte offset.
func m(name string, off uint32, t btf.Type) btf.Member {
	return btf.Member{Name: name, Offset: btf.Bits(off * 8), Type: t}
}

func strct(name string, size uint32, ms ...btf.Member) *btf.Struct {
	return &btf.Struct{Name: name, Size: size, Members: ms}
}

// contextBTFTypes builds the types ContextBTF encodes.
func contextBTFTypes() []btf.Type {
	u8 := &btf.Int{Name: "unsigned char", Size: 1}
	u16 := &btf.Int{Name: "unsigned short", Size: 2}
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	s32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	u64 := &btf.Int{Name: "unsigned long long", Size: 8}
	ulong := &btf.Int{Name: "long unsigned int", Size: 8}
	td := func(name string, t btf.Type) *btf.Typedef { return &btf.Typedef{Name: name, Type: t} }
	tU8, tU16, tU32, tS32, tU64 := td("__u8", u8), td("__u16", u16), td("__u32", u32), td("__s32", s32), td("__u64", u64)
	be16, be32 := td("__be16", tU16), td("__be32", tU32)
	arr := func(t btf.Type, n uint32) *btf.Array { return &btf.Array{Index: u32, Type: t, Nelems: n} }
	ptr := func(t btf.Type) *btf.Pointer { return &btf.Pointer{Target: t} }
	void := &btf.Void{}
	// __bpf_md_ptr(type, name): union { type name; __u64 :64; } aligned(8).
	mdPtr := func(name string, t btf.Type) *btf.Union {
		return &btf.Union{Size: 8, Members: []btf.Member{{Name: name, Type: ptr(t)}}}
	}

	bpfSock := strct("bpf_sock", 80,
		m("bound_dev_if", 0, tU32), m("family", 4, tU32), m("type", 8, tU32), m("protocol", 12, tU32),
		m("mark", 16, tU32), m("priority", 20, tU32), m("src_ip4", 24, tU32), m("src_ip6", 28, arr(tU32, 4)),
		m("src_port", 44, tU32), m("dst_port", 48, be16), m("dst_ip4", 52, tU32), m("dst_ip6", 56, arr(tU32, 4)),
		m("state", 72, tU32), m("rx_queue_mapping", 76, tS32))

	flowKeys := strct("bpf_flow_keys", 56,
		m("nhoff", 0, tU16), m("thoff", 2, tU16), m("addr_proto", 4, tU16), m("is_frag", 6, tU8),
		m("is_first_frag", 7, tU8), m("is_encap", 8, tU8), m("ip_proto", 9, tU8), m("n_proto", 10, be16),
		m("sport", 12, be16), m("dport", 14, be16),
		m("", 16, &btf.Union{Size: 32, Members: []btf.Member{
			m("", 0, strct("", 8, m("ipv4_src", 0, be32), m("ipv4_dst", 4, be32))),
			m("", 0, strct("", 32, m("ipv6_src", 0, arr(tU32, 4)), m("ipv6_dst", 16, arr(tU32, 4)))),
		}}),
		m("flags", 48, tU32), m("flow_label", 52, be32))

	skb := strct("__sk_buff", SKBSize,
		m("len", 0, tU32), m("pkt_type", 4, tU32), m("mark", 8, tU32), m("queue_mapping", 12, tU32),
		m("protocol", 16, tU32), m("vlan_present", 20, tU32), m("vlan_tci", 24, tU32), m("vlan_proto", 28, tU32),
		m("priority", 32, tU32), m("ingress_ifindex", 36, tU32), m("ifindex", 40, tU32), m("tc_index", 44, tU32),
		m("cb", 48, arr(tU32, 5)), m("hash", 68, tU32), m("tc_classid", 72, tU32), m("data", 76, tU32),
		m("data_end", 80, tU32), m("napi_id", 84, tU32), m("family", 88, tU32), m("remote_ip4", 92, tU32),
		m("local_ip4", 96, tU32), m("remote_ip6", 100, arr(tU32, 4)), m("local_ip6", 116, arr(tU32, 4)),
		m("remote_port", 132, tU32), m("local_port", 136, tU32), m("data_meta", 140, tU32),
		m("", 144, mdPtr("flow_keys", flowKeys)), m("tstamp", 152, tU64), m("wire_len", 160, tU32),
		m("gso_segs", 164, tU32), m("", 168, mdPtr("sk", bpfSock)), m("gso_size", 176, tU32),
		m("tstamp_type", 180, tU8), m("hwtstamp", 184, tU64))

	xdpMD := strct("xdp_md", XDPMDSize,
		m("data", 0, tU32), m("data_end", 4, tU32), m("data_meta", 8, tU32),
		m("ingress_ifindex", 12, tU32), m("rx_queue_index", 16, tU32), m("egress_ifindex", 20, tU32))

	sockAddr := strct("bpf_sock_addr", 72,
		m("user_family", 0, tU32), m("user_ip4", 4, tU32), m("user_ip6", 8, arr(tU32, 4)), m("user_port", 24, tU32),
		m("family", 28, tU32), m("type", 32, tU32), m("protocol", 36, tU32), m("msg_src_ip4", 40, tU32),
		m("msg_src_ip6", 44, arr(tU32, 4)), m("", 64, mdPtr("sk", bpfSock)))

	skLookup := strct("bpf_sk_lookup", 72,
		m("", 0, &btf.Union{Size: 8, Members: []btf.Member{m("", 0, mdPtr("sk", bpfSock)), m("cookie", 0, tU64)}}),
		m("family", 8, tU32), m("protocol", 12, tU32), m("remote_ip4", 16, tU32), m("remote_ip6", 20, arr(tU32, 4)),
		m("remote_port", 36, be16), m("local_ip4", 40, tU32), m("local_ip6", 44, arr(tU32, 4)),
		m("local_port", 60, tU32), m("ingress_ifindex", 64, tU32))

	skMsg := strct("sk_msg_md", 80,
		m("", 0, mdPtr("data", void)), m("", 8, mdPtr("data_end", void)),
		m("family", 16, tU32), m("remote_ip4", 20, tU32), m("local_ip4", 24, tU32),
		m("remote_ip6", 28, arr(tU32, 4)), m("local_ip6", 44, arr(tU32, 4)),
		m("remote_port", 60, tU32), m("local_port", 64, tU32), m("size", 68, tU32), m("", 72, mdPtr("sk", bpfSock)))

	reuseport := strct("sk_reuseport_md", 56,
		m("", 0, mdPtr("data", void)), m("", 8, mdPtr("data_end", void)),
		m("len", 16, tU32), m("eth_protocol", 20, tU32), m("ip_protocol", 24, tU32), m("bind_inany", 28, tU32),
		m("hash", 32, tU32), m("", 40, mdPtr("sk", bpfSock)), m("", 48, mdPtr("migrating_sk", bpfSock)))

	sysctl := strct("bpf_sysctl", 8, m("write", 0, tU32), m("file_pos", 4, tU32))

	sockopt := strct("bpf_sockopt", 40,
		m("", 0, mdPtr("sk", bpfSock)), m("", 8, mdPtr("optval", void)), m("", 16, mdPtr("optval_end", void)),
		m("level", 24, tS32), m("optname", 28, tS32), m("optlen", 32, tS32), m("retval", 36, tS32))

	devCtx := strct("bpf_cgroup_dev_ctx", 12, m("access_type", 0, tU32), m("major", 4, tU32), m("minor", 8, tU32))

	// x86-64 struct pt_regs as the kernel's BTF has it: cs and ss share a
	// word with their FRED views (csx, ssx).
	var regs []btf.Member
	for i, n := range []string{"r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8",
		"ax", "cx", "dx", "si", "di", "orig_ax", "ip"} {
		regs = append(regs, m(n, uint32(8*i), ulong))
	}
	regs = append(regs,
		m("", 136, &btf.Union{Size: 8, Members: []btf.Member{m("cs", 0, td("u16", u16)), m("csx", 0, td("u64", u64))}}),
		m("flags", 144, ulong), m("sp", 152, ulong),
		m("", 160, &btf.Union{Size: 8, Members: []btf.Member{m("ss", 0, td("u16", u16)), m("ssx", 0, td("u64", u64))}}))
	ptRegs := strct("pt_regs", 168, regs...)
	perfEvent := strct("bpf_perf_event_data", 184,
		m("regs", 0, td("bpf_user_pt_regs_t", ptRegs)), m("sample_period", 168, tU64), m("addr", 176, tU64))

	enum := func(name string, vals ...any) *btf.Enum {
		e := &btf.Enum{Name: name, Size: 4}
		for i := 0; i < len(vals); i += 2 {
			e.Values = append(e.Values, btf.EnumValue{Name: vals[i].(string), Value: uint64(vals[i+1].(int))})
		}
		return e
	}
	xdpAction := enum("xdp_action", "XDP_ABORTED", 0, "XDP_DROP", 1, "XDP_PASS", 2, "XDP_TX", 3, "XDP_REDIRECT", 4)
	skAction := enum("sk_action", "SK_DROP", 0, "SK_PASS", 1)
	retCode := enum("bpf_ret_code", "BPF_OK", 0, "BPF_DROP", 2, "BPF_REDIRECT", 7, "BPF_LWT_REROUTE", 128,
		"BPF_FLOW_DISSECTOR_CONTINUE", 129)

	return []btf.Type{skb, xdpMD, bpfSock, flowKeys, sockAddr, skLookup, skMsg, reuseport, sysctl, sockopt,
		devCtx, ptRegs, perfEvent, xdpAction, skAction, retCode}
}
