package progtype

import (
	"fmt"

	"github.com/gobee-dev/gobee/interp"
)

// Context rules of the program types whose hook exists only inside a
// kernel (kprobe, tracepoint, perf_event, the cgroup socket, device,
// sysctl and sockopt hooks, sock_ops, sk_msg, sk_reuseport, lirc_mode2).
// Each XxxAccess function is the kernel's xxx_is_valid_access together
// with what its convert_ctx_access can rewrite: it reports whether a
// program may load (write=false) or store size bytes at offset off of
// its context. The kernel cannot BPF_PROG_TEST_RUN these types; gobee can
// (package testrun), over the accessor KernelCtx.

// Context sizes and limits.
const (
	PtRegsSize         = 168 // sizeof(struct pt_regs), x86-64
	PerfEventDataSize  = 184 // sizeof(struct bpf_perf_event_data)
	PerfSamplePeriod   = 168
	PerfAddr           = 176
	PerfMaxTraceSize   = 8192 // PERF_MAX_TRACE_SIZE: the end of a tracepoint record's readable bytes
	TracepointHdrSize  = 8    // the common header, which programs may not read
	BPFSockSize        = 80   // sizeof(struct bpf_sock)
	SockAddrSize       = 72   // sizeof(struct bpf_sock_addr)
	CGroupDevCtxSize   = 12   // sizeof(struct bpf_cgroup_dev_ctx)
	SysctlCtxSize      = 8    // sizeof(struct bpf_sysctl)
	SockoptCtxSize     = 40   // sizeof(struct bpf_sockopt)
	SKMsgMDSize        = 80   // sizeof(struct sk_msg_md)
	SKReuseportMDSize  = 56   // sizeof(struct sk_reuseport_md)
	LircMode2CtxSize   = 4    // the u32 sample
	SockOpsSize        = 224  // sizeof(struct bpf_sock_ops)
	sockAddrUserIP6    = 8
	sockAddrMsgSrcIP6  = 44
	sockAddrUserIP4    = 4
	sockAddrMsgSrcIP4  = 40
	sockAddrUserPort   = 24
	sockAddrSk         = 64
	sockoptRetval      = 36
	skReuseportEthProt = 20
)

// Offsets of fields the test runs fill in.
const (
	BPFSockDstPort       = 48
	SockAddrUserPort     = sockAddrUserPort
	SockAddrSk           = sockAddrSk
	SockAddrFamily       = 28
	SockAddrType         = 32
	SockAddrProtocol     = 36
	SockoptSk            = 0
	SockoptOptval        = 8
	SockoptOptvalEnd     = 16
	SockoptOptlen        = 32
	SKMsgData            = 0
	SKMsgDataEnd         = 8
	SKMsgFamily          = 16
	SKMsgSize            = 68
	SKMsgSk              = 72
	SKReuseportData      = 0
	SKReuseportDataEnd   = 8
	SKReuseportLen       = 16
	SKReuseportEthProto  = skReuseportEthProt
	SKReuseportIPProto   = 24
	SKReuseportBindInany = 28
	SKReuseportSk        = 40
	SKReuseportMigrating = 48
	SockOpsFamily        = 20
	SockOpsReply         = 4
	SockOpsSkTxhash      = 164
	SockOpsSk            = 184
	SockOpsSkbData       = 192
	SockOpsSkbDataEnd    = 200
	SockOpsSkbLen        = 208
	SockOpsSkbTCPFlags   = 212
	SockOpsSkbHwtstamp   = 216
)

func init() {
	// struct bpf_sock_ops (uapi/linux/bpf.h).
	f := u32s("op", "args[0]/reply", "args[1]", "args[2]", "args[3]", "family", "remote_ip4", "local_ip4",
		"remote_ip6[0]", "remote_ip6[1]", "remote_ip6[2]", "remote_ip6[3]",
		"local_ip6[0]", "local_ip6[1]", "local_ip6[2]", "local_ip6[3]",
		"remote_port", "local_port", "is_fullsock", "snd_cwnd", "srtt_us", "bpf_sock_ops_cb_flags", "state",
		"rtt_min", "snd_ssthresh", "rcv_nxt", "snd_nxt", "snd_una", "mss_cache", "ecn_flags", "rate_delivered",
		"rate_interval_us", "packets_out", "retrans_out", "total_retrans", "segs_in", "data_segs_in", "segs_out",
		"data_segs_out", "lost_out", "sacked_out", "sk_txhash")
	f = append(f, Field{"bytes_received", 168, 8, false}, Field{"bytes_acked", 176, 8, false},
		Field{"sk", SockOpsSk, 8, true}, Field{"skb_data", SockOpsSkbData, 8, true}, Field{"skb_data_end", SockOpsSkbDataEnd, 8, true},
		Field{"skb_len", SockOpsSkbLen, 4, false}, Field{"skb_tcp_flags", SockOpsSkbTCPFlags, 4, false},
		Field{"skb_hwtstamp", SockOpsSkbHwtstamp, 8, false})
	SockOpsContext.Size, SockOpsContext.Fields = SockOpsSize, f
}

// narrowOK is bpf_ctx_narrow_access_ok.
func narrowOK(size, def uint32) bool { return size <= def && size&(size-1) == 0 }

// basicChecks rejects accesses beyond the struct and misaligned ones.
func basicChecks(name string, structSize, off, size uint32, write bool) error {
	switch {
	case off >= structSize:
		return ctxErr(name, off, size, write, "beyond the struct")
	case !validSize(size) || off%size != 0:
		return ctxErr(name, off, size, write, "misaligned")
	}
	return nil
}

// KprobeAccess is kprobe_prog_is_valid_access: aligned loads of any width
// within struct pt_regs, no stores.
func KprobeAccess(off, size uint32, write bool) error {
	if err := basicChecks("pt_regs", PtRegsSize, off, size, write); err != nil {
		return err
	}
	if write {
		return ctxErr("pt_regs", off, size, write, "pt_regs is read-only")
	}
	return nil
}

// TracepointAccess is tp_prog_is_valid_access: aligned loads of any width
// from byte 8 (after the common header) up to PERF_MAX_TRACE_SIZE, no
// stores.
func TracepointAccess(off, size uint32, write bool) error {
	if err := basicChecks("tracepoint record", PerfMaxTraceSize, off, size, write); err != nil {
		return err
	}
	switch {
	case off < TracepointHdrSize:
		return ctxErr("tracepoint record", off, size, write, "the common header is not readable")
	case write:
		return ctxErr("tracepoint record", off, size, write, "the record is read-only")
	}
	return nil
}

// PerfEventAccess is pe_prog_is_valid_access: read-only; regs only as
// whole u64s, sample_period and addr also narrow.
func PerfEventAccess(off, size uint32, write bool) error {
	const n = "bpf_perf_event_data"
	if err := basicChecks(n, PerfEventDataSize, off, size, write); err != nil {
		return err
	}
	if write {
		return ctxErr(n, off, size, write, "read-only")
	}
	if off < PerfSamplePeriod && size != 8 {
		return ctxErr(n, off, size, write, "regs are read as whole u64s")
	}
	return nil
}

// SockAccess is sock_filter_is_valid_access (cgroup_sock programs' struct
// bpf_sock): 4-byte accesses only; bound_dev_if, mark and priority are
// writable by sock_create and sock_release programs and not readable by
// the post_bind ones; src_ip4 only for post_bind4, src_ip6 only for
// post_bind6, src_port only for post_bind programs.
func SockAccess(attach AttachType, off, size uint32, write bool) error {
	const n = "bpf_sock"
	if err := basicChecks(n, BPFSockSize, off, size, write); err != nil {
		return err
	}
	createRelease := attach == AttachCGroupInetSockCreate || attach == AttachCGroupInetSockRelease
	switch {
	case off == 0 || off == 16 || off == 20: // bound_dev_if, mark, priority
		if !createRelease {
			return ctxErr(n, off, size, write, "only sock_create and sock_release programs may access it")
		}
	case off >= 24 && off < 28: // src_ip4
		if attach != AttachCGroupInet4PostBind {
			return ctxErr(n, off, size, write, "only post_bind4 programs may read it")
		}
	case off >= 28 && off < 44: // src_ip6
		if attach != AttachCGroupInet6PostBind {
			return ctxErr(n, off, size, write, "only post_bind6 programs may read it")
		}
	case off >= 44 && off < 48: // src_port
		if attach != AttachCGroupInet4PostBind && attach != AttachCGroupInet6PostBind {
			return ctxErr(n, off, size, write, "only post_bind programs may read it")
		}
	}
	if write && !(createRelease && (off == 0 || off == 16 || off == 20)) {
		return ctxErr(n, off, size, write, "read-only")
	}
	return bpfSockAccess(off, size, write)
}

// bpfSockAccess is bpf_sock_is_valid_access: family, type, protocol,
// the addresses, src_port, state and rx_queue_mapping allow narrow
// loads; dst_port is a 2-byte field (narrow within it, or 4 bytes
// whole); everything else is a u32.
func bpfSockAccess(off, size uint32, write bool) error {
	const n = "bpf_sock"
	switch {
	case off == 4 || off == 8 || off == 12 || off == 44 || off == 72 || off == 76, // family, type, protocol, src_port, state, rx_queue_mapping
		off >= 24 && off < 44, off >= 52 && off < 72: // src_ip4, src_ip6, dst_ip4, dst_ip6
		if !narrowOK(size, 4) {
			return ctxErr(n, off, size, write, "wrong width")
		}
		return nil
	case off == BPFSockDstPort && size == 4:
		return nil
	case off >= BPFSockDstPort && off < BPFSockDstPort+2:
		if !narrowOK(size, 2) {
			return ctxErr(n, off, size, write, "wrong width")
		}
		return nil
	}
	if size != 4 {
		return ctxErr(n, off, size, write, "only 4-byte access")
	}
	return nil
}

func wideOK(off, size, fieldOff, fieldSize uint32) bool {
	return size == 8 && off >= fieldOff && off+size <= fieldOff+fieldSize && off%8 == 0
}

// SockAddrAccess is sock_addr_is_valid_access: user_ip4 only for the
// IPv4 attach types, user_ip6 only for the IPv6 ones, msg_src_ip4/6 only
// for udp4/udp6 sendmsg; those and user_port are readable (narrow loads
// too, 8-byte loads within the IPv6 arrays) and writable (4 bytes, or 8
// within the IPv6 arrays); user_family, family, type and protocol are
// read-only u32s; sk is a read-only socket pointer.
func SockAddrAccess(attach AttachType, off, size uint32, write bool) error {
	const n = "bpf_sock_addr"
	if err := basicChecks(n, SockAddrSize, off, size, write); err != nil {
		return err
	}
	only := func(ok bool, which string) error {
		if !ok {
			return ctxErr(n, off, size, write, "only "+which+" programs may access it")
		}
		return nil
	}
	var err error
	switch {
	case off >= sockAddrUserIP4 && off < sockAddrUserIP4+4:
		switch attach {
		case AttachCGroupInet4Bind, AttachCGroupInet4Connect, AttachCGroupInet4Getpeername, AttachCGroupInet4Getsockname,
			AttachCGroupUDP4Sendmsg, AttachCGroupUDP4Recvmsg:
		default:
			err = only(false, "IPv4")
		}
	case off >= sockAddrUserIP6 && off < sockAddrUserIP6+16:
		switch attach {
		case AttachCGroupInet6Bind, AttachCGroupInet6Connect, AttachCGroupInet6Getpeername, AttachCGroupInet6Getsockname,
			AttachCGroupUDP6Sendmsg, AttachCGroupUDP6Recvmsg:
		default:
			err = only(false, "IPv6")
		}
	case off >= sockAddrMsgSrcIP4 && off < sockAddrMsgSrcIP4+4:
		err = only(attach == AttachCGroupUDP4Sendmsg, "udp4 sendmsg")
	case off >= sockAddrMsgSrcIP6 && off < sockAddrMsgSrcIP6+16:
		err = only(attach == AttachCGroupUDP6Sendmsg, "udp6 sendmsg")
	}
	if err != nil {
		return err
	}
	switch {
	case off >= sockAddrUserIP4 && off < sockAddrUserIP6+16+4, // user_ip4, user_ip6, user_port
		off >= sockAddrMsgSrcIP4 && off < sockAddrMsgSrcIP6+16:
		if wideOK(off, size, sockAddrUserIP6, 16) || wideOK(off, size, sockAddrMsgSrcIP6, 16) {
			return nil
		}
		if !write && !narrowOK(size, 4) || write && size != 4 {
			return ctxErr(n, off, size, write, "wrong width")
		}
		return nil
	case off < 4 || off >= 28 && off < 40: // user_family, family, type, protocol
		if write {
			return ctxErr(n, off, size, write, "read-only")
		}
		if size != 4 {
			return ctxErr(n, off, size, write, "only 4-byte access")
		}
		return nil
	case off == sockAddrSk:
		if write {
			return ctxErr(n, off, size, write, "read-only")
		}
		if size != 8 {
			return ctxErr(n, off, size, write, "only 8-byte access")
		}
		return nil
	}
	return ctxErr(n, off, size, write, "no such field")
}

// SockOpsAccess is sock_ops_is_valid_access: stores only of reply and
// sk_txhash (4 bytes); loads of u32 fields as 4 bytes (skb_tcp_flags
// also narrow), of bytes_received, bytes_acked, skb_hwtstamp and the sk,
// skb_data and skb_data_end pointers as 8 bytes.
func SockOpsAccess(off, size uint32, write bool) error {
	const n = "bpf_sock_ops"
	if err := basicChecks(n, SockOpsSize, off, size, write); err != nil {
		return err
	}
	if write {
		if off != SockOpsReply && off != SockOpsSkTxhash {
			return ctxErr(n, off, size, write, "only reply and sk_txhash are writable")
		}
		if size != 4 {
			return ctxErr(n, off, size, write, "only 4-byte access")
		}
		return nil
	}
	switch {
	case off >= 168 && off < SockOpsSkbLen, off >= SockOpsSkbHwtstamp:
		if size != 8 {
			return ctxErr(n, off, size, write, "only 8-byte access")
		}
	case off == SockOpsSkbTCPFlags:
		if !narrowOK(size, 4) {
			return ctxErr(n, off, size, write, "wrong width")
		}
	default:
		if size != 4 {
			return ctxErr(n, off, size, write, "only 4-byte access")
		}
	}
	return nil
}

// SKMsgAccess is sk_msg_is_valid_access: read-only; data, data_end and sk
// as 8-byte pointers, the other fields as u32s.
func SKMsgAccess(off, size uint32, write bool) error {
	const n = "sk_msg_md"
	if err := basicChecks(n, SKMsgMDSize, off, size, write); err != nil {
		return err
	}
	if write {
		return ctxErr(n, off, size, write, "read-only")
	}
	switch {
	case off == SKMsgData || off == SKMsgDataEnd || off == SKMsgSk:
		if size != 8 {
			return ctxErr(n, off, size, write, "only 8-byte access")
		}
	case off >= SKMsgFamily && off < SKMsgSize+4:
		if size != 4 {
			return ctxErr(n, off, size, write, "only 4-byte access")
		}
	default:
		return ctxErr(n, off, size, write, "no such field")
	}
	return nil
}

// CGroupDevAccess is cgroup_dev_is_valid_access: read-only;
// access_type also narrow, major and minor as u32s.
func CGroupDevAccess(off, size uint32, write bool) error {
	const n = "bpf_cgroup_dev_ctx"
	switch {
	case write:
		return ctxErr(n, off, size, write, "read-only")
	case off+size > CGroupDevCtxSize:
		return ctxErr(n, off, size, write, "beyond the struct")
	case !validSize(size) || off%size != 0:
		return ctxErr(n, off, size, write, "misaligned")
	case off < 4:
		if !narrowOK(size, 4) {
			return ctxErr(n, off, size, write, "wrong width")
		}
	case size != 4:
		return ctxErr(n, off, size, write, "only 4-byte access")
	}
	return nil
}

// SysctlAccess is sysctl_is_valid_access: write is read-only (narrow
// loads allowed), file_pos readable (narrow) and writable (4 bytes).
func SysctlAccess(off, size uint32, write bool) error {
	const n = "bpf_sysctl"
	switch {
	case off+size > SysctlCtxSize || !validSize(size) || off%size != 0:
		return ctxErr(n, off, size, write, "beyond the struct or misaligned")
	case off < 4 && write:
		return ctxErr(n, off, size, write, "write is read-only")
	case !write && !narrowOK(size, 4), write && size != 4:
		return ctxErr(n, off, size, write, "wrong width")
	}
	return nil
}

// SockoptAccess is cg_sockopt_is_valid_access plus what
// cg_sockopt_convert_ctx_access can rewrite: sk, optval and optval_end
// are read as 8-byte pointers; level, optname and optlen as u32s, retval
// only by getsockopt programs; stores of optlen, of retval (getsockopt)
// and of level and optname (setsockopt).
func SockoptAccess(attach AttachType, off, size uint32, write bool) error {
	const n = "bpf_sockopt"
	if err := basicChecks(n, SockoptCtxSize, off, size, write); err != nil {
		return err
	}
	get, set := attach == AttachCGroupGetsockopt, attach == AttachCGroupSetsockopt
	switch {
	case off == SockoptSk || off == SockoptOptval || off == SockoptOptvalEnd:
		if write || size != 8 {
			return ctxErr(n, off, size, write, "a read-only 8-byte pointer")
		}
	case off == sockoptRetval:
		if size != 4 || !get {
			return ctxErr(n, off, size, write, "only getsockopt programs may access it, as a u32")
		}
	case off == 24 || off == 28: // level, optname
		if size != 4 || write && !set {
			return ctxErr(n, off, size, write, "a u32 only setsockopt programs may write")
		}
	case off == SockoptOptlen:
		if size != 4 {
			return ctxErr(n, off, size, write, "only 4-byte access")
		}
	default:
		return ctxErr(n, off, size, write, "no such field")
	}
	return nil
}

// SKReuseportAccess is sk_reuseport_is_valid_access: read-only; data,
// data_end, sk and migrating_sk as 8-byte pointers, hash as a u32,
// len, ip_protocol and bind_inany also narrow, eth_protocol narrow down
// to 2 bytes.
func SKReuseportAccess(off, size uint32, write bool) error {
	const n = "sk_reuseport_md"
	if err := basicChecks(n, SKReuseportMDSize, off, size, write); err != nil {
		return err
	}
	if write {
		return ctxErr(n, off, size, write, "read-only")
	}
	switch {
	case off == SKReuseportData || off == SKReuseportDataEnd || off == SKReuseportSk || off == SKReuseportMigrating:
		if size != 8 {
			return ctxErr(n, off, size, write, "only 8-byte access")
		}
	case off == 32: // hash
		if size != 4 {
			return ctxErr(n, off, size, write, "only 4-byte access")
		}
	case off >= skReuseportEthProt && off < skReuseportEthProt+4 && size < 2:
		return ctxErr(n, off, size, write, "eth_protocol is at least 2 bytes")
	case off >= SKReuseportLen && off < 32:
		if !narrowOK(size, 4) {
			return ctxErr(n, off, size, write, "wrong width")
		}
	default:
		return ctxErr(n, off, size, write, "no such field")
	}
	return nil
}

// LircMode2Access is lirc_mode2_is_valid_access: one u32 load at 0.
func LircMode2Access(off, size uint32, write bool) error {
	if write || off != 0 || size != 4 {
		return ctxErr("lirc_mode2 sample", off, size, write, "only a 4-byte load of the sample")
	}
	return nil
}

// KernelCtx is the interp.ContextAccessor of the contexts of the
// kernel-only types: Rule checks each access; loads of the offsets in
// Ptrs return those addresses (the pointer fields the kernel rewrites);
// everything else reads and writes Mem in the host's byte order. A store
// at an offset in StoreMask keeps only the masked bits (a u32 context
// field backed by a narrower kernel field, e.g. bpf_sock_addr.user_port).
type KernelCtx struct {
	Mem       []byte
	Rule      func(off, size uint32, write bool) error
	Ptrs      map[uint32]uint64
	StoreMask map[uint32]uint64
}

// Region returns the context as an interp.Region.
func (c *KernelCtx) Region() interp.Region {
	return interp.Region{Mem: c.Mem, Writable: true, Accessor: c}
}

// Addr returns the address the program gets in r1.
func (c *KernelCtx) Addr() uint64 { return interp.Addr(c.Mem) }

func (c *KernelCtx) check(off, size uint32, write bool) error {
	if err := c.Rule(off, size, write); err != nil {
		return err
	}
	if uint64(off)+uint64(size) > uint64(len(c.Mem)) {
		return fmt.Errorf("%w: context access off=%d size=%d beyond the %d bytes given", interp.ErrOutOfBounds, off, size, len(c.Mem))
	}
	return nil
}

// LoadContext implements interp.ContextAccessor.
func (c *KernelCtx) LoadContext(_ *interp.Run, off, size uint32) (uint64, error) {
	if err := c.check(off, size, false); err != nil {
		return 0, err
	}
	if p, ok := c.Ptrs[off]; ok {
		return p, nil
	}
	return loadLE(c.Mem[off:], size), nil
}

// StoreContext implements interp.ContextAccessor.
func (c *KernelCtx) StoreContext(_ *interp.Run, off, size uint32, v uint64) error {
	if err := c.check(off, size, true); err != nil {
		return err
	}
	if m, ok := c.StoreMask[off]; ok {
		v &= m
	}
	storeLE(c.Mem[off:], size, v)
	return nil
}

// skVerdictUnchecked is the return contract of sk_msg and sk_reuseport
// programs: SK_PASS or SK_DROP, but the verifier does not check the
// range (any other value is taken as SK_DROP).
var skVerdictUnchecked = Return{Names: map[int64]string{0: "SK_DROP", 1: "SK_PASS"},
	Meaning: "SK_PASS or SK_DROP; the verifier does not check the value, anything but SK_PASS drops"}

// ReturnRange is the return contract of a program of type t with the
// expected attach type attach: t's Return, narrowed the way the
// verifier's check_return_code narrows it per attach type
// (cgroup_sock_addr: bind programs may return 0..3, recvmsg,
// getpeername and getsockname programs only 1).
func ReturnRange(t Type, attach AttachType) Return {
	info := Lookup(t)
	if info == nil {
		return Return{}
	}
	r := info.Return
	if t == CGroupSKB && attach != AttachCGroupInetEgress {
		// check_return_code: 2 and 3 (congestion notification) only for
		// programs loaded for egress.
		r.Max = 1
	}
	if t == CGroupSockAddr {
		switch attach {
		case AttachCGroupInet4Bind, AttachCGroupInet6Bind:
			r.Min, r.Max = 0, 3
			r.Meaning = "bit 0 allows the bind, bit 1 skips the CAP_NET_BIND_SERVICE check"
		case AttachCGroupUDP4Recvmsg, AttachCGroupUDP6Recvmsg, AttachCGroupInet4Getpeername, AttachCGroupInet6Getpeername,
			AttachCGroupInet4Getsockname, AttachCGroupInet6Getsockname, AttachCGroupUnixRecvmsg,
			AttachCGroupUnixGetpeername, AttachCGroupUnixGetsockname:
			r.Min, r.Max = 1, 1
			r.Meaning = "must be 1: these hooks cannot reject"
		}
	}
	return r
}
