// Package progtype describes the kernel's eBPF program types: for each
// type its context struct and the rules for every field, the helpers it
// may call, what its return value means, its attach types and whether the
// kernel can BPF_PROG_TEST_RUN it. Everything is a table indexed by the
// kernel's own numbering (enum bpf_prog_type, enum bpf_attach_type), so
// the loader and the CLI can map to it directly.
//
// It also holds the run-time side of the kernel's convert_ctx_access: the
// packet buffers XDPBuff and SKBuff, whose context accessors
// (interp.ContextAccessor) apply the kernel's per-type field rules.
package progtype

import "fmt"

// Type is a program type, numbered as the kernel's enum bpf_prog_type.
type Type uint32

// Program types.
const (
	Unspec Type = iota
	SocketFilter
	Kprobe
	SchedCLS
	SchedACT
	Tracepoint
	XDP
	PerfEvent
	CGroupSKB
	CGroupSock
	LWTIn
	LWTOut
	LWTXmit
	SockOps
	SKSKB
	CGroupDevice
	SKMsg
	RawTracepoint
	CGroupSockAddr
	LWTSeg6Local
	LircMode2
	SKReuseport
	FlowDissector
	CGroupSysctl
	RawTracepointWritable
	CGroupSockopt
	Tracing
	StructOps
	Ext
	LSM
	SKLookup
	Syscall
	Netfilter
	numTypes
)

// AttachType is an attach type, numbered as the kernel's enum
// bpf_attach_type.
type AttachType uint32

// Attach types.
const (
	AttachCGroupInetIngress AttachType = iota
	AttachCGroupInetEgress
	AttachCGroupInetSockCreate
	AttachCGroupSockOps
	AttachSKSKBStreamParser
	AttachSKSKBStreamVerdict
	AttachCGroupDevice
	AttachSKMsgVerdict
	AttachCGroupInet4Bind
	AttachCGroupInet6Bind
	AttachCGroupInet4Connect
	AttachCGroupInet6Connect
	AttachCGroupInet4PostBind
	AttachCGroupInet6PostBind
	AttachCGroupUDP4Sendmsg
	AttachCGroupUDP6Sendmsg
	AttachLircMode2
	AttachFlowDissector
	AttachCGroupSysctl
	AttachCGroupUDP4Recvmsg
	AttachCGroupUDP6Recvmsg
	AttachCGroupGetsockopt
	AttachCGroupSetsockopt
	AttachTraceRawTP
	AttachTraceFentry
	AttachTraceFexit
	AttachModifyReturn
	AttachLSMMac
	AttachTraceIter
	AttachCGroupInet4Getpeername
	AttachCGroupInet6Getpeername
	AttachCGroupInet4Getsockname
	AttachCGroupInet6Getsockname
	AttachXDPDevmap
	AttachCGroupInetSockRelease
	AttachXDPCpumap
	AttachSKLookup
	AttachXDP
	AttachSKSKBVerdict
	AttachSKReuseportSelect
	AttachSKReuseportSelectOrMigrate
	AttachPerfEvent
	AttachTraceKprobeMulti
	AttachLSMCGroup
	AttachStructOps
	AttachNetfilter
	AttachTCXIngress
	AttachTCXEgress
	AttachTraceUprobeMulti
	AttachCGroupUnixConnect
	AttachCGroupUnixSendmsg
	AttachCGroupUnixRecvmsg
	AttachCGroupUnixGetpeername
	AttachCGroupUnixGetsockname
	AttachNetkitPrimary
	AttachNetkitPeer
	AttachTraceKprobeSession
	AttachTraceUprobeSession
	numAttachTypes
)

var attachNames = [numAttachTypes]string{
	"cgroup_inet_ingress", "cgroup_inet_egress", "cgroup_inet_sock_create", "cgroup_sock_ops",
	"sk_skb_stream_parser", "sk_skb_stream_verdict", "cgroup_device", "sk_msg_verdict",
	"cgroup_inet4_bind", "cgroup_inet6_bind", "cgroup_inet4_connect", "cgroup_inet6_connect",
	"cgroup_inet4_post_bind", "cgroup_inet6_post_bind", "cgroup_udp4_sendmsg", "cgroup_udp6_sendmsg",
	"lirc_mode2", "flow_dissector", "cgroup_sysctl", "cgroup_udp4_recvmsg", "cgroup_udp6_recvmsg",
	"cgroup_getsockopt", "cgroup_setsockopt", "trace_raw_tp", "trace_fentry", "trace_fexit",
	"modify_return", "lsm_mac", "trace_iter", "cgroup_inet4_getpeername", "cgroup_inet6_getpeername",
	"cgroup_inet4_getsockname", "cgroup_inet6_getsockname", "xdp_devmap", "cgroup_inet_sock_release",
	"xdp_cpumap", "sk_lookup", "xdp", "sk_skb_verdict", "sk_reuseport_select",
	"sk_reuseport_select_or_migrate", "perf_event", "trace_kprobe_multi", "lsm_cgroup", "struct_ops",
	"netfilter", "tcx_ingress", "tcx_egress", "trace_uprobe_multi", "cgroup_unix_connect",
	"cgroup_unix_sendmsg", "cgroup_unix_recvmsg", "cgroup_unix_getpeername", "cgroup_unix_getsockname",
	"netkit_primary", "netkit_peer", "trace_kprobe_session", "trace_uprobe_session",
}

// String returns the attach type's name as bpftool prints it.
func (a AttachType) String() string {
	if a < numAttachTypes {
		return attachNames[a]
	}
	return fmt.Sprintf("attach_type(%d)", uint32(a))
}

// Return describes what a program's return value means.
type Return struct {
	// Min and Max bound the values the kernel accepts (the verifier's
	// return-range check); Checked is false where any value is allowed.
	Checked  bool
	Min, Max int64
	// Names names well-known values (XDP_PASS, TC_ACT_OK, ...).
	Names map[int64]string
	// Meaning says in words what the value means.
	Meaning string
}

// Info describes one program type.
type Info struct {
	Type Type
	// Name is the type's name as bpftool prints it ("xdp", "sched_cls").
	Name string
	// Context is the context struct (nil for types whose context is a
	// plain pointer or array: tracing "void *", tracepoint "__u64").
	Context *Context
	// ContextName is the C type of the context argument.
	ContextName string
	// Return is the return-value contract.
	Return Return
	// AttachTypes are the attach types a program of this type may use as
	// its expected attach type; empty when the type takes none.
	AttachTypes []AttachType
	// TestRun reports whether the kernel can BPF_PROG_TEST_RUN the type.
	TestRun bool
	// GobeeTestRun reports that gobee test-runs the type although the
	// kernel cannot (it answers ENOTSUPP): a gobee extension for types
	// whose hook exists only inside a kernel (package testrun,
	// kernelonly.go, with a ctx_in of the context struct).
	GobeeTestRun bool
	// KernelOnly reports that the type's hook exists only inside a kernel
	// (gobee can load, verify and test-run it but not attach it to
	// anything of its own).
	KernelOnly bool
	// Helpers is the set of helper ids (enum bpf_func_id) the type may
	// call, for a GPL program loaded with full privileges.
	Helpers HelperSet
}

// HelperSet is a set of helper ids.
type HelperSet map[int32]bool

// Has reports whether id is in the set.
func (s HelperSet) Has(id int32) bool { return s[id] }

// String returns the type's name as bpftool prints it.
func (t Type) String() string {
	if i := Lookup(t); i != nil {
		return i.Name
	}
	return fmt.Sprintf("prog_type(%d)", uint32(t))
}

// Lookup returns the description of t, or nil for an unknown type.
func Lookup(t Type) *Info {
	if t == Unspec || t >= numTypes {
		return nil
	}
	return &infos[t]
}

// All returns every known program type in kernel order.
func All() []*Info {
	out := make([]*Info, 0, numTypes-1)
	for t := SocketFilter; t < numTypes; t++ {
		out = append(out, &infos[t])
	}
	return out
}

// ByName returns the type bpftool calls name.
func ByName(name string) (Type, bool) {
	for t := SocketFilter; t < numTypes; t++ {
		if infos[t].Name == name {
			return t, true
		}
	}
	return Unspec, false
}

// Return-value tables.
var (
	xdpReturn = Return{Checked: false, Min: 0, Max: 4,
		Names:   map[int64]string{0: "XDP_ABORTED", 1: "XDP_DROP", 2: "XDP_PASS", 3: "XDP_TX", 4: "XDP_REDIRECT"},
		Meaning: "XDP action; values above XDP_REDIRECT are treated as XDP_ABORTED by drivers"}
	tcReturn = Return{
		Names: map[int64]string{-1: "TC_ACT_UNSPEC", 0: "TC_ACT_OK", 1: "TC_ACT_RECLASSIFY", 2: "TC_ACT_SHOT",
			3: "TC_ACT_PIPE", 4: "TC_ACT_STOLEN", 5: "TC_ACT_QUEUED", 6: "TC_ACT_REPEAT", 7: "TC_ACT_REDIRECT", 8: "TC_ACT_TRAP"},
		Meaning: "tc action (TC_ACT_*); for sched_cls without direct-action the class id"}
	sockFilterReturn = Return{Meaning: "number of bytes of the packet to keep; 0 drops it"}
	cgroupVerdict    = Return{Checked: true, Min: 0, Max: 1, Names: map[int64]string{0: "reject", 1: "allow"},
		Meaning: "0 rejects, 1 allows"}
	cgroupSKBReturn = Return{Checked: true, Min: 0, Max: 3,
		Names:   map[int64]string{0: "drop", 1: "allow", 2: "drop+cn", 3: "allow+cn"},
		Meaning: "bit 0 allows the packet, bit 1 asks for congestion notification (egress only)"}
	lwtReturn = Return{Names: map[int64]string{0: "BPF_OK", 2: "BPF_DROP", 7: "BPF_REDIRECT", 0x7fffffff: "BPF_LWT_REROUTE"},
		Meaning: "BPF_OK continues, BPF_DROP drops, BPF_REDIRECT redirects, BPF_LWT_REROUTE reroutes"}
	skSKBReturn = Return{Names: map[int64]string{0: "SK_DROP", 1: "SK_PASS"},
		Meaning: "verdict programs: SK_PASS or SK_DROP; stream parser: message length"}
	skPassDrop = Return{Checked: true, Min: 0, Max: 1, Names: map[int64]string{0: "SK_DROP", 1: "SK_PASS"},
		Meaning: "SK_PASS or SK_DROP"}
	flowReturn = Return{Names: map[int64]string{0: "BPF_OK", 2: "BPF_DROP", 129: "BPF_FLOW_DISSECTOR_CONTINUE"},
		Meaning: "BPF_OK when dissection succeeded (flow_keys filled), BPF_DROP when it failed, BPF_FLOW_DISSECTOR_CONTINUE to fall back to the kernel's dissector"}
	anyReturn   = Return{Meaning: "ignored or passed back to the caller as is"}
	traceReturn = Return{Meaning: "kprobe/tracepoint/perf_event: 1 lets the event go to the perf buffer, 0 filters it"}
	lsmReturn   = Return{Checked: true, Min: -4095, Max: 0, Meaning: "0 allows, a negative errno denies"}
	nfReturn    = Return{Checked: true, Min: 0, Max: 1, Names: map[int64]string{0: "NF_DROP", 1: "NF_ACCEPT"},
		Meaning: "netfilter verdict"}
	sysctlReturn = cgroupVerdict
)

func attach(a ...AttachType) []AttachType { return a }

// infos is indexed by Type. Helpers are filled in by init from the
// helper tables.
var infos = [numTypes]Info{
	SocketFilter: {Name: "socket_filter", ContextName: "struct __sk_buff", Context: &SKBuffContext, Return: sockFilterReturn, TestRun: true},
	Kprobe:       {Name: "kprobe", ContextName: "struct pt_regs", Context: &PtRegsContext, Return: traceReturn, AttachTypes: attach(AttachTraceKprobeMulti, AttachTraceUprobeMulti, AttachTraceKprobeSession, AttachTraceUprobeSession), KernelOnly: true, GobeeTestRun: true},
	SchedCLS:     {Name: "sched_cls", ContextName: "struct __sk_buff", Context: &SKBuffContext, Return: tcReturn, AttachTypes: attach(AttachTCXIngress, AttachTCXEgress, AttachNetkitPrimary, AttachNetkitPeer), TestRun: true},
	SchedACT:     {Name: "sched_act", ContextName: "struct __sk_buff", Context: &SKBuffContext, Return: tcReturn, TestRun: true},
	Tracepoint:   {Name: "tracepoint", ContextName: "__u64", Return: traceReturn, KernelOnly: true, GobeeTestRun: true},
	XDP:          {Name: "xdp", ContextName: "struct xdp_md", Context: &XDPMDContext, Return: xdpReturn, AttachTypes: attach(AttachXDP, AttachXDPDevmap, AttachXDPCpumap), TestRun: true},
	PerfEvent:    {Name: "perf_event", ContextName: "struct bpf_perf_event_data", Context: &PerfEventContext, Return: traceReturn, AttachTypes: attach(AttachPerfEvent), KernelOnly: true, GobeeTestRun: true},
	CGroupSKB:    {Name: "cgroup_skb", ContextName: "struct __sk_buff", Context: &SKBuffContext, Return: cgroupSKBReturn, AttachTypes: attach(AttachCGroupInetIngress, AttachCGroupInetEgress), TestRun: true, KernelOnly: true},
	CGroupSock: {Name: "cgroup_sock", ContextName: "struct bpf_sock", Context: &BPFSockContext, Return: cgroupVerdict,
		AttachTypes: attach(AttachCGroupInetSockCreate, AttachCGroupInetSockRelease, AttachCGroupInet4PostBind, AttachCGroupInet6PostBind), KernelOnly: true, GobeeTestRun: true},
	LWTIn:   {Name: "lwt_in", ContextName: "struct __sk_buff", Context: &SKBuffContext, Return: lwtReturn, TestRun: true, KernelOnly: true},
	LWTOut:  {Name: "lwt_out", ContextName: "struct __sk_buff", Context: &SKBuffContext, Return: lwtReturn, TestRun: true, KernelOnly: true},
	LWTXmit: {Name: "lwt_xmit", ContextName: "struct __sk_buff", Context: &SKBuffContext, Return: lwtReturn, TestRun: true, KernelOnly: true},
	SockOps: {Name: "sock_ops", ContextName: "struct bpf_sock_ops", Context: &SockOpsContext, Return: Return{Checked: true, Min: 0, Max: 1, Meaning: "1 on success; the reply goes in ctx->reply"},
		AttachTypes: attach(AttachCGroupSockOps), KernelOnly: true, GobeeTestRun: true},
	SKSKB: {Name: "sk_skb", ContextName: "struct __sk_buff", Context: &SKBuffContext, Return: skSKBReturn,
		AttachTypes: attach(AttachSKSKBStreamParser, AttachSKSKBStreamVerdict, AttachSKSKBVerdict), KernelOnly: true, GobeeTestRun: true},
	CGroupDevice:  {Name: "cgroup_device", ContextName: "struct bpf_cgroup_dev_ctx", Context: &CGroupDevContext, Return: cgroupVerdict, AttachTypes: attach(AttachCGroupDevice), KernelOnly: true, GobeeTestRun: true},
	SKMsg:         {Name: "sk_msg", ContextName: "struct sk_msg_md", Context: &SKMsgContext, Return: skVerdictUnchecked, AttachTypes: attach(AttachSKMsgVerdict), KernelOnly: true, GobeeTestRun: true},
	RawTracepoint: {Name: "raw_tracepoint", ContextName: "struct bpf_raw_tracepoint_args", Return: anyReturn, TestRun: true, KernelOnly: true},
	CGroupSockAddr: {Name: "cgroup_sock_addr", ContextName: "struct bpf_sock_addr", Context: &SockAddrContext, Return: cgroupVerdict,
		AttachTypes: attach(AttachCGroupInet4Bind, AttachCGroupInet6Bind, AttachCGroupInet4Connect, AttachCGroupInet6Connect,
			AttachCGroupUDP4Sendmsg, AttachCGroupUDP6Sendmsg, AttachCGroupUDP4Recvmsg, AttachCGroupUDP6Recvmsg,
			AttachCGroupInet4Getpeername, AttachCGroupInet6Getpeername, AttachCGroupInet4Getsockname, AttachCGroupInet6Getsockname,
			AttachCGroupUnixConnect, AttachCGroupUnixSendmsg, AttachCGroupUnixRecvmsg, AttachCGroupUnixGetpeername, AttachCGroupUnixGetsockname),
		KernelOnly: true, GobeeTestRun: true},
	LWTSeg6Local:          {Name: "lwt_seg6local", ContextName: "struct __sk_buff", Context: &SKBuffContext, Return: lwtReturn, TestRun: false, KernelOnly: true, GobeeTestRun: true},
	LircMode2:             {Name: "lirc_mode2", ContextName: "__u32", Return: anyReturn, AttachTypes: attach(AttachLircMode2), KernelOnly: true, GobeeTestRun: true},
	SKReuseport:           {Name: "sk_reuseport", ContextName: "struct sk_reuseport_md", Context: &SKReuseportContext, Return: skVerdictUnchecked, AttachTypes: attach(AttachSKReuseportSelect, AttachSKReuseportSelectOrMigrate), KernelOnly: true, GobeeTestRun: true},
	FlowDissector:         {Name: "flow_dissector", ContextName: "struct __sk_buff", Context: &SKBuffContext, Return: flowReturn, AttachTypes: attach(AttachFlowDissector), TestRun: true},
	CGroupSysctl:          {Name: "cgroup_sysctl", ContextName: "struct bpf_sysctl", Context: &SysctlContext, Return: sysctlReturn, AttachTypes: attach(AttachCGroupSysctl), KernelOnly: true, GobeeTestRun: true},
	RawTracepointWritable: {Name: "raw_tracepoint_writable", ContextName: "struct bpf_raw_tracepoint_args", Return: anyReturn, KernelOnly: true},
	CGroupSockopt: {Name: "cgroup_sockopt", ContextName: "struct bpf_sockopt", Context: &SockoptContext, Return: cgroupVerdict,
		AttachTypes: attach(AttachCGroupGetsockopt, AttachCGroupSetsockopt), KernelOnly: true, GobeeTestRun: true},
	Tracing: {Name: "tracing", ContextName: "void *", Return: anyReturn,
		AttachTypes: attach(AttachTraceRawTP, AttachTraceFentry, AttachTraceFexit, AttachModifyReturn, AttachTraceIter), TestRun: true, KernelOnly: true},
	StructOps: {Name: "struct_ops", ContextName: "void *", Return: anyReturn, AttachTypes: attach(AttachStructOps), KernelOnly: true},
	Ext:       {Name: "ext", ContextName: "void *", Return: anyReturn, KernelOnly: true},
	LSM:       {Name: "lsm", ContextName: "void *", Return: lsmReturn, AttachTypes: attach(AttachLSMMac, AttachLSMCGroup), KernelOnly: true},
	SKLookup:  {Name: "sk_lookup", ContextName: "struct bpf_sk_lookup", Context: &SKLookupContext, Return: skPassDrop, AttachTypes: attach(AttachSKLookup), TestRun: true, KernelOnly: true},
	Syscall:   {Name: "syscall", ContextName: "void *", Return: anyReturn, TestRun: true},
	Netfilter: {Name: "netfilter", ContextName: "struct bpf_nf_ctx", Return: nfReturn, AttachTypes: attach(AttachNetfilter), TestRun: true, KernelOnly: true},
}

func init() {
	for t := SocketFilter; t < numTypes; t++ {
		infos[t].Type = t
		infos[t].Helpers = helperSet(t)
	}
}

// helperSet builds the helper set of t from the probed tables.
func helperSet(t Type) HelperSet {
	ids, ok := typeHelpers[t]
	if !ok {
		ids = baseHelpers
	}
	s := make(HelperSet, len(ids))
	for _, id := range ids {
		s[id] = true
	}
	return s
}

// HelpersProbed reports whether t's helper set was measured on a kernel
// (false: only the base set is known, because the type cannot be loaded
// without an attach target).
func HelpersProbed(t Type) bool {
	for _, u := range unprobedTypes {
		if u == t {
			return false
		}
	}
	return Lookup(t) != nil
}
