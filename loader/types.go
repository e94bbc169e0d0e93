package loader

import "fmt"

// ProgType is the kernel's enum bpf_prog_type (include/uapi/linux/bpf.h).
type ProgType uint32

// Program types, numbered as in the kernel.
const (
	ProgUnspec ProgType = iota
	ProgSocketFilter
	ProgKprobe
	ProgSchedCLS
	ProgSchedACT
	ProgTracepoint
	ProgXDP
	ProgPerfEvent
	ProgCgroupSKB
	ProgCgroupSock
	ProgLWTIn
	ProgLWTOut
	ProgLWTXmit
	ProgSockOps
	ProgSKSKB
	ProgCgroupDevice
	ProgSKMsg
	ProgRawTracepoint
	ProgCgroupSockAddr
	ProgLWTSeg6Local
	ProgLircMode2
	ProgSKReuseport
	ProgFlowDissector
	ProgCgroupSysctl
	ProgRawTracepointWritable
	ProgCgroupSockopt
	ProgTracing
	ProgStructOps
	ProgExt
	ProgLSM
	ProgSKLookup
	ProgSyscall
	ProgNetfilter
	maxProgType
)

var progTypeNames = [...]string{
	"unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint",
	"xdp", "perf_event", "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out",
	"lwt_xmit", "sock_ops", "sk_skb", "cgroup_device", "sk_msg",
	"raw_tracepoint", "cgroup_sock_addr", "lwt_seg6local", "lirc_mode2",
	"sk_reuseport", "flow_dissector", "cgroup_sysctl",
	"raw_tracepoint_writable", "cgroup_sockopt", "tracing", "struct_ops",
	"ext", "lsm", "sk_lookup", "syscall", "netfilter",
}

// String returns the name bpftool uses (BPF_PROG_TYPE_ lowercased).
func (t ProgType) String() string {
	if t < maxProgType {
		return progTypeNames[t]
	}
	return fmt.Sprintf("prog_type(%d)", uint32(t))
}

// AttachType is the kernel's enum bpf_attach_type. Its zero value is
// BPF_CGROUP_INET_INGRESS; as in libbpf, a section whose program needs no
// expected attach type has AttachNone, which is the same number, and
// SectionDef.HasAttachType tells the two apart.
type AttachType uint32

// Attach types, numbered as in the kernel.
const (
	AttachCgroupInetIngress AttachType = iota
	AttachCgroupInetEgress
	AttachCgroupInetSockCreate
	AttachCgroupSockOps
	AttachSKSKBStreamParser
	AttachSKSKBStreamVerdict
	AttachCgroupDevice
	AttachSKMsgVerdict
	AttachCgroupInet4Bind
	AttachCgroupInet6Bind
	AttachCgroupInet4Connect
	AttachCgroupInet6Connect
	AttachCgroupInet4PostBind
	AttachCgroupInet6PostBind
	AttachCgroupUDP4Sendmsg
	AttachCgroupUDP6Sendmsg
	AttachLircMode2
	AttachFlowDissector
	AttachCgroupSysctl
	AttachCgroupUDP4Recvmsg
	AttachCgroupUDP6Recvmsg
	AttachCgroupGetsockopt
	AttachCgroupSetsockopt
	AttachTraceRawTP
	AttachTraceFentry
	AttachTraceFexit
	AttachModifyReturn
	AttachLSMMac
	AttachTraceIter
	AttachCgroupInet4Getpeername
	AttachCgroupInet6Getpeername
	AttachCgroupInet4Getsockname
	AttachCgroupInet6Getsockname
	AttachXDPDevmap
	AttachCgroupInetSockRelease
	AttachXDPCpumap
	AttachSKLookup
	AttachXDP
	AttachSKSKBVerdict
	AttachSKReuseportSelect
	AttachSKReuseportSelectOrMigrate
	AttachPerfEvent
	AttachTraceKprobeMulti
	AttachLSMCgroup
	AttachStructOps
	AttachNetfilter
	AttachTCXIngress
	AttachTCXEgress
	AttachTraceUprobeMulti
	AttachCgroupUnixConnect
	AttachCgroupUnixSendmsg
	AttachCgroupUnixRecvmsg
	AttachCgroupUnixGetpeername
	AttachCgroupUnixGetsockname
	AttachNetkitPrimary
	AttachNetkitPeer
	AttachTraceKprobeSession
	AttachTraceUprobeSession
	maxAttachType

	// AttachNone is what a program without an expected attach type carries.
	AttachNone = AttachCgroupInetIngress
)

var attachTypeNames = [...]string{
	"cgroup_inet_ingress", "cgroup_inet_egress", "cgroup_inet_sock_create",
	"cgroup_sock_ops", "sk_skb_stream_parser", "sk_skb_stream_verdict",
	"cgroup_device", "sk_msg_verdict", "cgroup_inet4_bind", "cgroup_inet6_bind",
	"cgroup_inet4_connect", "cgroup_inet6_connect", "cgroup_inet4_post_bind",
	"cgroup_inet6_post_bind", "cgroup_udp4_sendmsg", "cgroup_udp6_sendmsg",
	"lirc_mode2", "flow_dissector", "cgroup_sysctl", "cgroup_udp4_recvmsg",
	"cgroup_udp6_recvmsg", "cgroup_getsockopt", "cgroup_setsockopt",
	"trace_raw_tp", "trace_fentry", "trace_fexit", "modify_return", "lsm_mac",
	"trace_iter", "cgroup_inet4_getpeername", "cgroup_inet6_getpeername",
	"cgroup_inet4_getsockname", "cgroup_inet6_getsockname", "xdp_devmap",
	"cgroup_inet_sock_release", "xdp_cpumap", "sk_lookup", "xdp",
	"sk_skb_verdict", "sk_reuseport_select", "sk_reuseport_select_or_migrate",
	"perf_event", "trace_kprobe_multi", "lsm_cgroup", "struct_ops",
	"netfilter", "tcx_ingress", "tcx_egress", "trace_uprobe_multi",
	"cgroup_unix_connect", "cgroup_unix_sendmsg", "cgroup_unix_recvmsg",
	"cgroup_unix_getpeername", "cgroup_unix_getsockname", "netkit_primary",
	"netkit_peer", "trace_kprobe_session", "trace_uprobe_session",
}

// String returns the name bpftool uses (BPF_ lowercased).
func (t AttachType) String() string {
	if t < maxAttachType {
		return attachTypeNames[t]
	}
	return fmt.Sprintf("attach_type(%d)", uint32(t))
}
