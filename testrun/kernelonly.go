package testrun

import (
	"syscall"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/progtype"
)

// Test runs of the program types whose hook exists only inside a kernel.
//
// This is a gobee extension: the kernel has no test_run operation for
// kprobe, tracepoint, perf_event, cgroup_sock, cgroup_sock_addr,
// sock_ops, sk_skb, sk_msg, cgroup_device, cgroup_sysctl,
// cgroup_sockopt, sk_reuseport, lirc_mode2 and lwt_seg6local programs
// and answers BPF_PROG_TEST_RUN with ENOTSUPP (524). gobee runs them
// over a context the caller gives, with the kernel verifier's access
// rules for it (progtype's XxxAccess functions, compared with the
// verifier in kernelonly_access_linux_test.go):
//
//   - ctx_in is the context struct (struct pt_regs, struct
//     bpf_perf_event_data, struct bpf_sock, ...), exactly its size; its
//     fields are what the program reads. Without ctx_in the context is
//     zeroed. A ctx_in of another size is EINVAL, naming the size.
//     Pointer fields (sk, data, data_end, optval, ...) must be 0 in
//     ctx_in: gobee points them at the packet (data_in) or at a
//     read-only struct bpf_sock of its own.
//   - A tracepoint's ctx_in is the raw record: its first 8 bytes are the
//     common header (which programs may not read), then the fields; it
//     is at most PERF_MAX_TRACE_SIZE bytes and at least as long as the
//     program reads.
//   - ctx_out (when ctx_in or Options.CtxOut is given) is the struct
//     after the last run, pointer fields zeroed.
//   - data_in is the packet of sk_msg (the message; data_out is it
//     after the run), sk_reuseport (read-only), sock_ops (optional, the
//     skb_data..skb_data_end bytes, read-only) and cgroup_sockopt (the
//     optval buffer; data_out is it after the run). The other types
//     refuse a data_in with EINVAL. sk_skb and lwt_seg6local programs
//     run as the kernel's skb test runs do (a __sk_buff over data_in).
//   - retval is the program's return value as is; flags, cpu and
//     batch_size must be 0.
type kernelOnlyRun struct {
	size   int
	rule   func(off, size uint32, write bool) error
	packet bool // takes data_in
	// ptrs are the offsets of pointer fields that must be 0 in ctx_in.
	ptrs []uint32
}

// GobeeTestRunnable reports whether Run can test-run typ although the
// kernel cannot (a gobee extension): progtype's GobeeTestRun flag.
func GobeeTestRunnable(typ progtype.Type) bool {
	info := progtype.Lookup(typ)
	return info != nil && info.GobeeTestRun
}

func hasAttach(typ progtype.Type, a progtype.AttachType) bool {
	for _, t := range progtype.Lookup(typ).AttachTypes {
		if t == a {
			return true
		}
	}
	return false
}

// runKernelOnly test-runs the types of GobeeTestRunnable.
func runKernelOnly(prog *interp.Program, typ progtype.Type, opts Options) (Result, error) {
	var res Result
	if typ == progtype.SKSKB || typ == progtype.LWTSeg6Local {
		return runSKB(prog, typ, opts)
	}
	if opts.Flags != 0 || opts.CPU != 0 || opts.BatchSize != 0 {
		return res, fail(syscall.EINVAL, "flags %#x, cpu %d, batch_size %d not allowed for %v programs", opts.Flags, opts.CPU, opts.BatchSize, typ)
	}
	attach := opts.Attach
	withAttach := func(f func(progtype.AttachType, uint32, uint32, bool) error) func(off, size uint32, write bool) error {
		return func(off, size uint32, write bool) error { return f(attach, off, size, write) }
	}
	var k kernelOnlyRun
	switch typ {
	case progtype.Kprobe:
		k = kernelOnlyRun{size: progtype.PtRegsSize, rule: progtype.KprobeAccess}
	case progtype.Tracepoint:
		return runTracepoint(prog, opts)
	case progtype.PerfEvent:
		k = kernelOnlyRun{size: progtype.PerfEventDataSize, rule: progtype.PerfEventAccess}
	case progtype.CGroupSock:
		if attach == 0 { // bpf_prog_load_fixup_attach_type
			attach = progtype.AttachCGroupInetSockCreate
		}
		k = kernelOnlyRun{size: progtype.BPFSockSize, rule: withAttach(progtype.SockAccess)}
	case progtype.CGroupSockAddr:
		k = kernelOnlyRun{size: progtype.SockAddrSize, rule: withAttach(progtype.SockAddrAccess), ptrs: []uint32{progtype.SockAddrSk}}
	case progtype.SockOps:
		k = kernelOnlyRun{size: progtype.SockOpsSize, rule: progtype.SockOpsAccess, packet: true,
			ptrs: []uint32{progtype.SockOpsSk, progtype.SockOpsSkbData, progtype.SockOpsSkbDataEnd}}
	case progtype.SKMsg:
		k = kernelOnlyRun{size: progtype.SKMsgMDSize, rule: progtype.SKMsgAccess, packet: true,
			ptrs: []uint32{progtype.SKMsgData, progtype.SKMsgDataEnd, progtype.SKMsgSk}}
	case progtype.CGroupDevice:
		k = kernelOnlyRun{size: progtype.CGroupDevCtxSize, rule: progtype.CGroupDevAccess}
	case progtype.CGroupSysctl:
		k = kernelOnlyRun{size: progtype.SysctlCtxSize, rule: progtype.SysctlAccess}
	case progtype.CGroupSockopt:
		k = kernelOnlyRun{size: progtype.SockoptCtxSize, rule: withAttach(progtype.SockoptAccess), packet: true,
			ptrs: []uint32{progtype.SockoptSk, progtype.SockoptOptval, progtype.SockoptOptvalEnd}}
	case progtype.SKReuseport:
		k = kernelOnlyRun{size: progtype.SKReuseportMDSize, rule: progtype.SKReuseportAccess, packet: true,
			ptrs: []uint32{progtype.SKReuseportData, progtype.SKReuseportDataEnd, progtype.SKReuseportSk, progtype.SKReuseportMigrating}}
	case progtype.LircMode2:
		k = kernelOnlyRun{size: progtype.LircMode2CtxSize, rule: progtype.LircMode2Access}
	default:
		return res, fail(ENOTSUPP, "program type %v cannot be test-run", typ)
	}
	// cgroup_sock_addr and cgroup_sockopt programs need their expected
	// attach type (their context rules depend on it); the others load
	// with none (0) or one of theirs.
	needAttach := typ == progtype.CGroupSockAddr || typ == progtype.CGroupSockopt
	if (attach != 0 || needAttach) && !hasAttach(typ, attach) {
		return res, fail(syscall.EINVAL, "expected attach type %v is not one of %v programs", attach, typ)
	}
	if !k.packet && len(opts.DataIn) != 0 || opts.DataSizeOut != 0 && typ != progtype.SKMsg && typ != progtype.CGroupSockopt {
		return res, fail(syscall.EINVAL, "%v programs take no data_in or data_out", typ)
	}
	if len(opts.DataIn) > pageSize {
		return res, fail(syscall.EINVAL, "data_in of %d bytes is longer than %d", len(opts.DataIn), pageSize)
	}
	ctx := make([]byte, k.size)
	if opts.CtxIn != nil {
		if len(opts.CtxIn) != k.size {
			return res, fail(syscall.EINVAL, "ctx_in of %d bytes: %s is %d bytes", len(opts.CtxIn), progtype.Lookup(typ).ContextName, k.size)
		}
		copy(ctx, opts.CtxIn)
	}
	for _, off := range k.ptrs {
		if le64(ctx, int(off)) != 0 {
			return res, fail(syscall.EINVAL, "ctx_in sets the pointer field at offset %d of %s, which must be 0", off, progtype.Lookup(typ).ContextName)
		}
	}
	kc := &progtype.KernelCtx{Mem: ctx, Rule: k.rule, Ptrs: map[uint32]uint64{}}
	// The struct bpf_sock that sk fields point to: read-only, with the
	// family (and for sock_addr the type and protocol) of the context.
	sock := make([]byte, progtype.BPFSockSize)
	pkt := append([]byte(nil), opts.DataIn...)
	pktWritable := false
	in := opts.Input
	switch typ {
	case progtype.CGroupSock:
		if !isZero(ctx[progtype.BPFSockDstPort+2 : progtype.BPFSockDstPort+4]) {
			return res, fail(syscall.EINVAL, "bpf_sock: the padding after dst_port must be 0")
		}
	case progtype.CGroupSockAddr:
		if le32(ctx, progtype.SockAddrUserPort) > 0xffff {
			return res, fail(syscall.EINVAL, "bpf_sock_addr: user_port %#x is wider than 16 bits", le32(ctx, progtype.SockAddrUserPort))
		}
		put32(sock, 4, le32(ctx, progtype.SockAddrFamily))
		put32(sock, 8, le32(ctx, progtype.SockAddrType))
		put32(sock, 12, le32(ctx, progtype.SockAddrProtocol))
		kc.Ptrs[progtype.SockAddrSk] = interp.Addr(sock)
		kc.StoreMask = map[uint32]uint64{progtype.SockAddrUserPort: 0xffff}
	case progtype.SockOps:
		put32(ctx, progtype.SockOpsSkbLen, uint32(len(pkt)))
		kc.Ptrs[progtype.SockOpsSk] = 0 // PTR_TO_SOCKET_OR_NULL: no full socket
		kc.Ptrs[progtype.SockOpsSkbData] = interp.Addr(pkt)
		kc.Ptrs[progtype.SockOpsSkbDataEnd] = interp.Addr(pkt) + uint64(len(pkt))
	case progtype.SKMsg:
		put32(ctx, progtype.SKMsgSize, uint32(len(pkt)))
		put32(sock, 4, le32(ctx, progtype.SKMsgFamily))
		kc.Ptrs[progtype.SKMsgData] = interp.Addr(pkt)
		kc.Ptrs[progtype.SKMsgDataEnd] = interp.Addr(pkt) + uint64(len(pkt))
		kc.Ptrs[progtype.SKMsgSk] = interp.Addr(sock)
		pktWritable = true
	case progtype.CGroupSockopt:
		if n := int32(le32(ctx, progtype.SockoptOptlen)); n < 0 || int(n) > len(pkt) {
			return res, fail(syscall.EINVAL, "bpf_sockopt: optlen %d is outside 0..%d (the data_in optval buffer)", n, len(pkt))
		}
		kc.Ptrs[progtype.SockoptSk] = interp.Addr(sock)
		kc.Ptrs[progtype.SockoptOptval] = interp.Addr(pkt)
		kc.Ptrs[progtype.SockoptOptvalEnd] = interp.Addr(pkt) + uint64(len(pkt))
		pktWritable = true
	case progtype.SKReuseport:
		switch {
		case le32(ctx, progtype.SKReuseportEthProto) > 0xffff:
			return res, fail(syscall.EINVAL, "sk_reuseport_md: eth_protocol is wider than 16 bits")
		case le32(ctx, progtype.SKReuseportIPProto) > 0xff, le32(ctx, progtype.SKReuseportBindInany) > 0xff:
			return res, fail(syscall.EINVAL, "sk_reuseport_md: ip_protocol and bind_inany are 8 bits")
		}
		put32(ctx, progtype.SKReuseportLen, uint32(len(pkt)))
		kc.Ptrs[progtype.SKReuseportData] = interp.Addr(pkt)
		kc.Ptrs[progtype.SKReuseportDataEnd] = interp.Addr(pkt) + uint64(len(pkt))
		kc.Ptrs[progtype.SKReuseportSk] = interp.Addr(sock)
		kc.Ptrs[progtype.SKReuseportMigrating] = 0 // no socket is migrating
	}
	in.Args = [5]uint64{kc.Addr()}
	regions := []interp.Region{kc.Region(), {Mem: sock}}
	if len(pkt) > 0 {
		regions = append(regions, interp.Region{Mem: pkt, Writable: pktWritable})
		in.Packet = pkt
	} else {
		in.Packet = nil
	}
	in.Regions = append(regions, in.Regions...)
	ret, dur, err := repeatRuns(prog, &in, opts.Repeat, typ, progtype.ReturnRange(typ, attach))
	if err != nil {
		return res, err
	}
	res.Retval, res.Duration = ret, dur
	if typ == progtype.CGroupSockopt {
		// __cgroup_bpf_run_filter_{get,set}sockopt: an optlen beyond the
		// buffer is EFAULT.
		if n := int32(le32(ctx, progtype.SockoptOptlen)); n > int32(len(pkt)) || n < -1 {
			return res, fail(syscall.EFAULT, "bpf_sockopt: the program set optlen %d, outside -1..%d", n, len(pkt))
		}
	}
	if typ == progtype.SKMsg || typ == progtype.CGroupSockopt {
		if err := finish(&res, pkt, opts.DataSizeOut); err != nil {
			return res, err
		}
	}
	if opts.CtxIn != nil || opts.CtxOut {
		for _, off := range k.ptrs {
			put64(ctx, int(off), 0)
		}
		res.CtxOut = ctx
	}
	return res, nil
}

// runTracepoint runs a tracepoint program over the raw record in ctx_in.
func runTracepoint(prog *interp.Program, opts Options) (Result, error) {
	var res Result
	if len(opts.DataIn) != 0 || opts.DataSizeOut != 0 {
		return res, fail(syscall.EINVAL, "tracepoint programs take no data_in or data_out")
	}
	n := uint32(len(opts.CtxIn))
	lo := max(opts.CtxAccessEnd, progtype.TracepointHdrSize)
	if n < lo || n > progtype.PerfMaxTraceSize {
		return res, fail(syscall.EINVAL, "ctx_in of %d bytes: a tracepoint record here is %d..%d bytes (the 8-byte common header, then what the program reads)", n, lo, progtype.PerfMaxTraceSize)
	}
	mc := &progtype.MemContext{Mem: append([]byte(nil), opts.CtxIn...), Rule: progtype.TracepointAccess}
	in := opts.Input
	in.Args = [5]uint64{mc.Addr()}
	in.Regions = append([]interp.Region{mc.Region()}, in.Regions...)
	in.Packet = nil
	ret, dur, err := repeatRuns(prog, &in, opts.Repeat, progtype.Tracepoint, progtype.ReturnRange(progtype.Tracepoint, 0))
	if err != nil {
		return res, err
	}
	res.Retval, res.Duration = ret, dur
	if opts.CtxIn != nil || opts.CtxOut {
		res.CtxOut = mc.Mem
	}
	return res, nil
}
