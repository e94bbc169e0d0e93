package testrun

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/gobee-dev/gobee/progtype"
)

func ctxWith(size int, set map[int]uint64, widths map[int]int) []byte {
	b := make([]byte, size)
	for off, v := range set {
		if widths[off] == 8 {
			binary.LittleEndian.PutUint64(b[off:], v)
		} else {
			binary.LittleEndian.PutUint32(b[off:], uint32(v))
		}
	}
	return b
}

// TestKernelOnlyRuns runs each kernel-only program type over a ctx_in
// (and data_in) and checks retval, ctx_out and data_out.
func TestKernelOnlyRuns(t *testing.T) {
	pkt := []byte("hello, gobee packet")
	for _, c := range []struct {
		name    string
		typ     progtype.Type
		attach  progtype.AttachType
		asm     string
		ctx     []byte
		data    []byte
		retval  uint32
		ctxOut  func([]byte) bool
		dataOut []byte
	}{
		// kprobe: rdi (offset 112) plus a narrow load of rsi's second byte.
		{name: "kprobe", typ: progtype.Kprobe, asm: "r0 = *(u64 *)(r1 + 112)\nr2 = *(u8 *)(r1 + 105)\nr0 += r2\nexit\n",
			ctx: ctxWith(progtype.PtRegsSize, map[int]uint64{112: 40, 104: 0x0200}, nil), retval: 42},
		{name: "tracepoint", typ: progtype.Tracepoint, asm: "r0 = *(u32 *)(r1 + 12)\nexit\n",
			ctx: append(make([]byte, 12), 7, 0, 0, 0), retval: 7},
		{name: "perf_event", typ: progtype.PerfEvent, asm: "r0 = *(u64 *)(r1 + 168)\nr2 = *(u16 *)(r1 + 176)\nr0 += r2\nexit\n",
			ctx: ctxWith(progtype.PerfEventDataSize, map[int]uint64{168: 1000, 176: 0x10005}, map[int]int{168: 8, 176: 8}), retval: 1005},
		// sock_create: read family, set mark.
		{name: "cgroup_sock", typ: progtype.CGroupSock, attach: progtype.AttachCGroupInetSockCreate,
			asm: "r0 = *(u32 *)(r1 + 4)\nr2 = 77\n*(u32 *)(r1 + 16) = r2\nr0 -= 1\nexit\n",
			ctx: ctxWith(progtype.BPFSockSize, map[int]uint64{4: 2}, nil), retval: 1,
			ctxOut: func(b []byte) bool { return le32(b, 16) == 77 }},
		// connect4: rewrite the port; the store keeps 16 bits.
		{name: "cgroup_sock_addr", typ: progtype.CGroupSockAddr, attach: progtype.AttachCGroupInet4Connect,
			asm: "r2 = 0x12345678\n*(u32 *)(r1 + 24) = r2\nr6 = *(u64 *)(r1 + 64)\nr0 = *(u32 *)(r6 + 4)\nr0 -= 1\nexit\n",
			ctx: ctxWith(progtype.SockAddrSize, map[int]uint64{28: 2, 4: 0x0100007f}, nil), retval: 1,
			ctxOut: func(b []byte) bool { return le32(b, 24) == 0x5678 && le32(b, 4) == 0x0100007f && le64(b, 64) == 0 }},
		// sock_ops: reply = op + skb_len, sk is NULL, the packet readable:
		// 1 if its first byte is 'h' (the verifier allows only 0 and 1).
		{name: "sock_ops", typ: progtype.SockOps, attach: progtype.AttachCGroupSockOps,
			asm: "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 208)\nr2 += r3\n*(u32 *)(r1 + 4) = r2\n" +
				"r6 = *(u64 *)(r1 + 184)\nr0 = 0\nif r6 != 0 goto +8\nr2 = *(u64 *)(r1 + 192)\nr3 = *(u64 *)(r1 + 200)\nr4 = r2\nr4 += 1\nif r4 > r3 goto +3\n" +
				"r5 = *(u8 *)(r2 + 0)\nif r5 != 0x68 goto +1\nr0 = 1\nexit\n",
			ctx: ctxWith(progtype.SockOpsSize, map[int]uint64{0: 4}, nil), data: pkt, retval: 1,
			ctxOut: func(b []byte) bool { return le32(b, 4) == 4+uint32(len(pkt)) && le32(b, 208) == uint32(len(pkt)) }},
		// sk_msg: write the first byte of the message, return size.
		{name: "sk_msg", typ: progtype.SKMsg, attach: progtype.AttachSKMsgVerdict,
			asm: "r2 = *(u64 *)(r1 + 0)\nr3 = *(u64 *)(r1 + 8)\nr0 = *(u32 *)(r1 + 68)\nr4 = r2\nr4 += 1\nif r4 > r3 goto +2\nr5 = 72\n*(u8 *)(r2 + 0) = r5\nexit\n",
			ctx: ctxWith(progtype.SKMsgMDSize, map[int]uint64{16: 2}, nil), data: pkt, retval: uint32(len(pkt)),
			dataOut: append([]byte("H"), pkt[1:]...), ctxOut: func(b []byte) bool { return le32(b, 68) == uint32(len(pkt)) && le64(b, 0) == 0 }},
		// cgroup_device: allow (1) if access type + minor is 8 (the
		// verifier allows only 0 and 1).
		{name: "cgroup_device", typ: progtype.CGroupDevice, attach: progtype.AttachCGroupDevice,
			asm: "r0 = *(u16 *)(r1 + 0)\nr2 = *(u32 *)(r1 + 8)\nr0 += r2\nif r0 == 8 goto +2\nr0 = 0\nexit\nr0 = 1\nexit\n",
			ctx: ctxWith(progtype.CGroupDevCtxSize, map[int]uint64{0: 0x20003, 8: 5}, nil), retval: 1},
		{name: "cgroup_sysctl", typ: progtype.CGroupSysctl, attach: progtype.AttachCGroupSysctl,
			asm: "r0 = *(u32 *)(r1 + 0)\nr2 = 9\n*(u32 *)(r1 + 4) = r2\nexit\n",
			ctx: ctxWith(progtype.SysctlCtxSize, map[int]uint64{0: 1}, nil), retval: 1,
			ctxOut: func(b []byte) bool { return le32(b, 4) == 9 }},
		// getsockopt: shrink optlen to 1 and write optval[0].
		{name: "cgroup_sockopt", typ: progtype.CGroupSockopt, attach: progtype.AttachCGroupGetsockopt,
			asm: "r2 = *(u64 *)(r1 + 8)\nr3 = *(u64 *)(r1 + 16)\nr4 = r2\nr4 += 1\nr0 = 0\nif r4 > r3 goto +6\nr5 = 0x2a\n*(u8 *)(r2 + 0) = r5\nr5 = 1\n*(u32 *)(r1 + 32) = r5\nr5 = 0\n*(u32 *)(r1 + 36) = r5\nr0 = 1\nexit\n",
			ctx: ctxWith(progtype.SockoptCtxSize, map[int]uint64{24: 1, 28: 2, 32: 4, 36: 0xfffffff2}, nil), data: []byte{1, 2, 3, 4}, retval: 1,
			dataOut: []byte{0x2a, 2, 3, 4}, ctxOut: func(b []byte) bool { return le32(b, 32) == 1 && le32(b, 36) == 0 && le64(b, 8) == 0 }},
		{name: "sk_reuseport", typ: progtype.SKReuseport, attach: progtype.AttachSKReuseportSelect,
			asm: "r0 = *(u32 *)(r1 + 16)\nr2 = *(u16 *)(r1 + 20)\nr0 += r2\nr2 = *(u64 *)(r1 + 48)\nr0 += r2\nexit\n",
			ctx: ctxWith(progtype.SKReuseportMDSize, map[int]uint64{20: 0x0008, 24: 6}, nil), data: pkt, retval: uint32(len(pkt)) + 8},
		{name: "lirc_mode2", typ: progtype.LircMode2, attach: progtype.AttachLircMode2,
			asm: "r0 = *(u32 *)(r1 + 0)\nexit\n", ctx: []byte{0x34, 0x12, 0, 0x01}, retval: 0x01001234},
	} {
		p := load(t, c.asm)
		res, err := Run(p, c.typ, Options{CtxIn: c.ctx, DataIn: c.data, Attach: c.attach, Repeat: 2})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if res.Retval != c.retval {
			t.Errorf("%s: retval %d, want %d", c.name, res.Retval, c.retval)
		}
		if len(res.CtxOut) != len(c.ctx) || c.ctxOut != nil && !c.ctxOut(res.CtxOut) {
			t.Errorf("%s: ctx_out %x", c.name, res.CtxOut)
		}
		if c.dataOut != nil && !bytes.Equal(res.DataOut, c.dataOut) {
			t.Errorf("%s: data_out %x, want %x", c.name, res.DataOut, c.dataOut)
		}
		// A ctx_in of the wrong size is EINVAL naming the struct's size.
		if c.typ != progtype.Tracepoint {
			_, err := Run(p, c.typ, Options{CtxIn: append(c.ctx, 0), DataIn: c.data, Attach: c.attach})
			if !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), "bytes") {
				t.Errorf("%s: long ctx_in: %v", c.name, err)
			}
		}
	}
}

// TestKernelOnlyErrors checks the refusals of kernel-only test runs.
func TestKernelOnlyErrors(t *testing.T) {
	p := load(t, "r0 = 1\nexit\n")
	read := load(t, "r0 = *(u32 *)(r1 + 4)\nexit\n")
	for _, c := range []struct {
		name string
		typ  progtype.Type
		opts Options
		want syscall.Errno
	}{
		{"kprobe short ctx", progtype.Kprobe, Options{CtxIn: make([]byte, 100)}, syscall.EINVAL},
		{"kprobe data", progtype.Kprobe, Options{DataIn: make([]byte, 20)}, syscall.EINVAL},
		{"kprobe flags", progtype.Kprobe, Options{Flags: FlagRunOnCPU}, syscall.EINVAL},
		{"tracepoint header only", progtype.Tracepoint, Options{CtxIn: make([]byte, 4)}, syscall.EINVAL},
		{"tracepoint too big", progtype.Tracepoint, Options{CtxIn: make([]byte, progtype.PerfMaxTraceSize+8)}, syscall.EINVAL},
		{"tracepoint shorter than read", progtype.Tracepoint, Options{CtxIn: make([]byte, 8), CtxAccessEnd: 16}, syscall.EINVAL},
		{"sock_addr without attach", progtype.CGroupSockAddr, Options{}, syscall.EINVAL},
		{"sock_addr sk set", progtype.CGroupSockAddr, Options{Attach: progtype.AttachCGroupInet4Connect,
			CtxIn: ctxWith(progtype.SockAddrSize, map[int]uint64{64: 1}, map[int]int{64: 8})}, syscall.EINVAL},
		{"sock_addr wide port", progtype.CGroupSockAddr, Options{Attach: progtype.AttachCGroupInet4Connect,
			CtxIn: ctxWith(progtype.SockAddrSize, map[int]uint64{24: 0x10000}, nil)}, syscall.EINVAL},
		{"sockopt optlen", progtype.CGroupSockopt, Options{Attach: progtype.AttachCGroupSetsockopt,
			CtxIn: ctxWith(progtype.SockoptCtxSize, map[int]uint64{32: 8}, nil), DataIn: make([]byte, 4)}, syscall.EINVAL},
		{"sk_msg data_out", progtype.SKMsg, Options{DataIn: make([]byte, 8), DataSizeOut: 4}, syscall.ENOSPC},
		{"device wrong attach", progtype.CGroupDevice, Options{Attach: progtype.AttachCGroupSysctl}, syscall.EINVAL},
		{"struct_ops", progtype.StructOps, Options{}, ENOTSUPP},
	} {
		if _, err := Run(p, c.typ, c.opts); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Loads the rules refuse fail at run time too (gobee runs programs
	// the kernel would not load only when asked to run unverified code).
	if _, err := Run(read, progtype.Tracepoint, Options{CtxIn: make([]byte, 16)}); err == nil {
		t.Error("tracepoint: a load of the common header ran")
	}
	if _, err := Run(read, progtype.CGroupSock, Options{Attach: progtype.AttachCGroupInetSockCreate}); err != nil {
		t.Errorf("cgroup_sock family: %v", err)
	}
	// Without ctx_in the context is zeroed and no ctx_out comes back.
	res, err := Run(read, progtype.Kprobe, Options{})
	if err != nil || res.Retval != 0 || res.CtxOut != nil {
		t.Errorf("kprobe without ctx: %+v %v", res, err)
	}
	// sk_skb and lwt_seg6local run as skb test runs.
	pkt := append(make([]byte, 12), 0x08, 0x06, 1, 2, 3, 4)
	for _, typ := range []progtype.Type{progtype.SKSKB, progtype.LWTSeg6Local} {
		res, err := Run(load(t, "r0 = *(u32 *)(r1 + 0)\nexit\n"), typ, Options{DataIn: pkt})
		if err != nil || res.Retval != 4 {
			t.Errorf("%v: %+v %v", typ, res, err)
		}
	}
}

// TestGobeeTestRunFlag: the types progtype marks GobeeTestRun are
// exactly those the kernel cannot test-run and gobee can.
func TestGobeeTestRunFlag(t *testing.T) {
	n := 0
	for _, info := range progtype.All() {
		if !info.GobeeTestRun {
			continue
		}
		n++
		if info.TestRun || !info.KernelOnly {
			t.Errorf("%v: GobeeTestRun with TestRun %v, KernelOnly %v", info.Type, info.TestRun, info.KernelOnly)
		}
		if _, err := Run(load(t, "r0 = 1\nexit\n"), info.Type, Options{}); errors.Is(err, ENOTSUPP) {
			t.Errorf("%v: %v", info.Type, err)
		}
	}
	if n != 14 {
		t.Errorf("%d types marked GobeeTestRun, want 14", n)
	}
}

// TestReturnRange: a run whose return value is outside the range the
// verifier allows for the type (progtype.ReturnRange, where checked)
// fails naming the value and the range; types without a checked range
// return anything.
func TestReturnRange(t *testing.T) {
	pkt := append(make([]byte, 12), 0x08, 0x06, 1, 2, 3, 4) // ARP
	for _, c := range []struct {
		name   string
		typ    progtype.Type
		attach progtype.AttachType
		r0     string
		ctx    []byte
		data   []byte
		want   string // "" : the run succeeds
	}{
		{name: "sysctl 1", typ: progtype.CGroupSysctl, attach: progtype.AttachCGroupSysctl, r0: "1", ctx: make([]byte, progtype.SysctlCtxSize)},
		{name: "sysctl 2", typ: progtype.CGroupSysctl, attach: progtype.AttachCGroupSysctl, r0: "2", ctx: make([]byte, progtype.SysctlCtxSize),
			want: "returned 2 (0x2), outside [0, 1]"},
		{name: "sysctl -1", typ: progtype.CGroupSysctl, attach: progtype.AttachCGroupSysctl, r0: "-1", ctx: make([]byte, progtype.SysctlCtxSize),
			want: "returned -1 (0xffffffffffffffff), outside [0, 1]"},
		// All 64 bits count, as the verifier's smin/smax.
		{name: "sysctl 1<<32|1", typ: progtype.CGroupSysctl, attach: progtype.AttachCGroupSysctl, r0: "0x100000001 ll", ctx: make([]byte, progtype.SysctlCtxSize),
			want: "returned 4294967297 (0x100000001), outside [0, 1]"},
		// recvmsg programs must return 1.
		{name: "recvmsg 0", typ: progtype.CGroupSockAddr, attach: progtype.AttachCGroupUDP4Recvmsg, r0: "0", ctx: make([]byte, progtype.SockAddrSize),
			want: "returned 0 (0x0), outside [1, 1]"},
		{name: "bind 3", typ: progtype.CGroupSockAddr, attach: progtype.AttachCGroupInet4Bind, r0: "3", ctx: make([]byte, progtype.SockAddrSize)},
		{name: "cgroup_skb 4 egress", typ: progtype.CGroupSKB, attach: progtype.AttachCGroupInetEgress, r0: "4", data: pkt, want: "outside [0, 3]"},
		{name: "cgroup_skb 3 egress", typ: progtype.CGroupSKB, attach: progtype.AttachCGroupInetEgress, r0: "3", data: pkt},
		{name: "cgroup_skb 2 ingress", typ: progtype.CGroupSKB, r0: "2", data: pkt, want: "outside [0, 1]"},
		// XDP and socket filters: any value.
		{name: "xdp 100", typ: progtype.XDP, r0: "100", data: pkt},
		{name: "socket_filter -1", typ: progtype.SocketFilter, r0: "-1", data: pkt},
	} {
		p := load(t, "r0 = "+c.r0+"\nexit\n")
		_, err := Run(p, c.typ, Options{CtxIn: c.ctx, DataIn: c.data, Attach: c.attach})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (!errors.Is(err, ErrReturnRange) || !strings.Contains(err.Error(), c.want) ||
			!strings.Contains(err.Error(), "refused the program at load time")):
			t.Errorf("%s: %v, want ErrReturnRange with %q", c.name, err, c.want)
		}
	}
}
