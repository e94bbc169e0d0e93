package loader

import "strings"

// Program flags set by a section (BPF_F_* of BPF_PROG_LOAD).
const (
	FlagSleepable   = 1 << 4 // BPF_F_SLEEPABLE
	FlagXDPHasFrags = 1 << 5 // BPF_F_XDP_HAS_FRAGS
)

// SectionDef is one row of the SEC() name table, after libbpf's
// section_defs: a pattern, the program type and expected attach type it
// gives, and the load flags it implies.
//
// Patterns follow libbpf's sec_def_matches: "name" matches exactly "name";
// "name/" matches "name/<anything>"; "name+" matches "name" and
// "name/<anything>". For the last two the part after the slash is the
// attach target.
type SectionDef struct {
	Pattern string
	Type    ProgType
	// Attach is the expected attach type; meaningful when HasAttachType.
	Attach        AttachType
	HasAttachType bool
	Flags         uint32
}

func def(pattern string, t ProgType) SectionDef {
	return SectionDef{Pattern: pattern, Type: t}
}

func defA(pattern string, t ProgType, a AttachType) SectionDef {
	return SectionDef{Pattern: pattern, Type: t, Attach: a, HasAttachType: true}
}

func (d SectionDef) with(flags uint32) SectionDef {
	d.Flags |= flags
	return d
}

// SectionDefs is the table, in libbpf's order: the first matching row wins.
var SectionDefs = []SectionDef{
	def("socket", ProgSocketFilter),
	defA("sk_reuseport/migrate", ProgSKReuseport, AttachSKReuseportSelectOrMigrate),
	defA("sk_reuseport", ProgSKReuseport, AttachSKReuseportSelect),
	def("kprobe+", ProgKprobe),
	def("uprobe+", ProgKprobe),
	def("uprobe.s+", ProgKprobe).with(FlagSleepable),
	def("kretprobe+", ProgKprobe),
	def("uretprobe+", ProgKprobe),
	def("uretprobe.s+", ProgKprobe).with(FlagSleepable),
	defA("kprobe.multi+", ProgKprobe, AttachTraceKprobeMulti),
	defA("kretprobe.multi+", ProgKprobe, AttachTraceKprobeMulti),
	defA("kprobe.session+", ProgKprobe, AttachTraceKprobeSession),
	defA("uprobe.multi+", ProgKprobe, AttachTraceUprobeMulti),
	defA("uretprobe.multi+", ProgKprobe, AttachTraceUprobeMulti),
	defA("uprobe.session+", ProgKprobe, AttachTraceUprobeSession),
	defA("uprobe.multi.s+", ProgKprobe, AttachTraceUprobeMulti).with(FlagSleepable),
	defA("uretprobe.multi.s+", ProgKprobe, AttachTraceUprobeMulti).with(FlagSleepable),
	defA("uprobe.session.s+", ProgKprobe, AttachTraceUprobeSession).with(FlagSleepable),
	def("ksyscall+", ProgKprobe),
	def("kretsyscall+", ProgKprobe),
	def("usdt+", ProgKprobe),
	def("usdt.s+", ProgKprobe).with(FlagSleepable),
	defA("tc/ingress", ProgSchedCLS, AttachTCXIngress),
	defA("tc/egress", ProgSchedCLS, AttachTCXEgress),
	defA("tcx/ingress", ProgSchedCLS, AttachTCXIngress),
	defA("tcx/egress", ProgSchedCLS, AttachTCXEgress),
	def("tc", ProgSchedCLS),
	def("classifier", ProgSchedCLS),
	def("action", ProgSchedACT),
	defA("netkit/primary", ProgSchedCLS, AttachNetkitPrimary),
	defA("netkit/peer", ProgSchedCLS, AttachNetkitPeer),
	def("tracepoint+", ProgTracepoint),
	def("tp+", ProgTracepoint),
	def("raw_tracepoint+", ProgRawTracepoint),
	def("raw_tp+", ProgRawTracepoint),
	def("raw_tracepoint.w+", ProgRawTracepointWritable),
	def("raw_tp.w+", ProgRawTracepointWritable),
	defA("tp_btf+", ProgTracing, AttachTraceRawTP),
	defA("fentry+", ProgTracing, AttachTraceFentry),
	defA("fmod_ret+", ProgTracing, AttachModifyReturn),
	defA("fexit+", ProgTracing, AttachTraceFexit),
	defA("fentry.s+", ProgTracing, AttachTraceFentry).with(FlagSleepable),
	defA("fmod_ret.s+", ProgTracing, AttachModifyReturn).with(FlagSleepable),
	defA("fexit.s+", ProgTracing, AttachTraceFexit).with(FlagSleepable),
	def("freplace+", ProgExt),
	defA("lsm+", ProgLSM, AttachLSMMac),
	defA("lsm.s+", ProgLSM, AttachLSMMac).with(FlagSleepable),
	defA("lsm_cgroup+", ProgLSM, AttachLSMCgroup),
	defA("iter+", ProgTracing, AttachTraceIter),
	defA("iter.s+", ProgTracing, AttachTraceIter).with(FlagSleepable),
	def("syscall", ProgSyscall).with(FlagSleepable),
	defA("xdp.frags/devmap", ProgXDP, AttachXDPDevmap).with(FlagXDPHasFrags),
	defA("xdp/devmap", ProgXDP, AttachXDPDevmap),
	defA("xdp.frags/cpumap", ProgXDP, AttachXDPCpumap).with(FlagXDPHasFrags),
	defA("xdp/cpumap", ProgXDP, AttachXDPCpumap),
	defA("xdp.frags", ProgXDP, AttachXDP).with(FlagXDPHasFrags),
	defA("xdp", ProgXDP, AttachXDP),
	def("perf_event", ProgPerfEvent),
	def("lwt_in", ProgLWTIn),
	def("lwt_out", ProgLWTOut),
	def("lwt_xmit", ProgLWTXmit),
	def("lwt_seg6local", ProgLWTSeg6Local),
	defA("sockops", ProgSockOps, AttachCgroupSockOps),
	defA("sk_skb/stream_parser", ProgSKSKB, AttachSKSKBStreamParser),
	defA("sk_skb/stream_verdict", ProgSKSKB, AttachSKSKBStreamVerdict),
	defA("sk_skb/verdict", ProgSKSKB, AttachSKSKBVerdict),
	def("sk_skb", ProgSKSKB),
	defA("sk_msg", ProgSKMsg, AttachSKMsgVerdict),
	defA("lirc_mode2", ProgLircMode2, AttachLircMode2),
	defA("flow_dissector", ProgFlowDissector, AttachFlowDissector),
	defA("cgroup_skb/ingress", ProgCgroupSKB, AttachCgroupInetIngress),
	defA("cgroup_skb/egress", ProgCgroupSKB, AttachCgroupInetEgress),
	def("cgroup/skb", ProgCgroupSKB),
	defA("cgroup/sock_create", ProgCgroupSock, AttachCgroupInetSockCreate),
	defA("cgroup/sock_release", ProgCgroupSock, AttachCgroupInetSockRelease),
	defA("cgroup/sock", ProgCgroupSock, AttachCgroupInetSockCreate),
	defA("cgroup/post_bind4", ProgCgroupSock, AttachCgroupInet4PostBind),
	defA("cgroup/post_bind6", ProgCgroupSock, AttachCgroupInet6PostBind),
	defA("cgroup/bind4", ProgCgroupSockAddr, AttachCgroupInet4Bind),
	defA("cgroup/bind6", ProgCgroupSockAddr, AttachCgroupInet6Bind),
	defA("cgroup/connect4", ProgCgroupSockAddr, AttachCgroupInet4Connect),
	defA("cgroup/connect6", ProgCgroupSockAddr, AttachCgroupInet6Connect),
	defA("cgroup/connect_unix", ProgCgroupSockAddr, AttachCgroupUnixConnect),
	defA("cgroup/sendmsg4", ProgCgroupSockAddr, AttachCgroupUDP4Sendmsg),
	defA("cgroup/sendmsg6", ProgCgroupSockAddr, AttachCgroupUDP6Sendmsg),
	defA("cgroup/sendmsg_unix", ProgCgroupSockAddr, AttachCgroupUnixSendmsg),
	defA("cgroup/recvmsg4", ProgCgroupSockAddr, AttachCgroupUDP4Recvmsg),
	defA("cgroup/recvmsg6", ProgCgroupSockAddr, AttachCgroupUDP6Recvmsg),
	defA("cgroup/recvmsg_unix", ProgCgroupSockAddr, AttachCgroupUnixRecvmsg),
	defA("cgroup/getpeername4", ProgCgroupSockAddr, AttachCgroupInet4Getpeername),
	defA("cgroup/getpeername6", ProgCgroupSockAddr, AttachCgroupInet6Getpeername),
	defA("cgroup/getpeername_unix", ProgCgroupSockAddr, AttachCgroupUnixGetpeername),
	defA("cgroup/getsockname4", ProgCgroupSockAddr, AttachCgroupInet4Getsockname),
	defA("cgroup/getsockname6", ProgCgroupSockAddr, AttachCgroupInet6Getsockname),
	defA("cgroup/getsockname_unix", ProgCgroupSockAddr, AttachCgroupUnixGetsockname),
	defA("cgroup/sysctl", ProgCgroupSysctl, AttachCgroupSysctl),
	defA("cgroup/getsockopt", ProgCgroupSockopt, AttachCgroupGetsockopt),
	defA("cgroup/setsockopt", ProgCgroupSockopt, AttachCgroupSetsockopt),
	defA("cgroup/dev", ProgCgroupDevice, AttachCgroupDevice),
	def("struct_ops+", ProgStructOps),
	def("struct_ops.s+", ProgStructOps).with(FlagSleepable),
	defA("sk_lookup", ProgSKLookup, AttachSKLookup),
	defA("netfilter", ProgNetfilter, AttachNetfilter),
}

// match is libbpf's sec_def_matches, returning the attach target.
func (d SectionDef) match(sec string) (target string, ok bool) {
	p := d.Pattern
	switch {
	case strings.HasSuffix(p, "/"):
		rest, ok := strings.CutPrefix(sec, p)
		return rest, ok
	case strings.HasSuffix(p, "+"):
		base := p[:len(p)-1]
		if sec == base {
			return "", true
		}
		rest, ok := strings.CutPrefix(sec, base+"/")
		return rest, ok
	}
	return "", sec == p
}

// Section is the meaning of a SEC() name.
type Section struct {
	Def SectionDef
	// AttachTo is the attach target named after the slash (kprobe/<func>,
	// tracepoint/<category>/<name>, fentry/<func>, ...); struct_ops ignores
	// it, as libbpf does.
	AttachTo string
	// Optional is set by a leading '?' (libbpf: not loaded by default).
	Optional bool
}

// ClassifySection looks sec up in SectionDefs. ok is false for a name no
// row matches.
func ClassifySection(sec string) (s Section, ok bool) {
	name, opt := strings.CutPrefix(sec, "?")
	for _, d := range SectionDefs {
		target, ok := d.match(name)
		if !ok {
			continue
		}
		if d.Type == ProgStructOps {
			target = ""
		}
		return Section{Def: d, AttachTo: target, Optional: opt}, true
	}
	return Section{}, false
}
