package testrun

import (
	"encoding/binary"
	"syscall"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/progtype"
)

// Netfilter constants.
const (
	nfprotoIPv4    = 2
	nfprotoIPv6    = 10
	nfInetLocalOut = 3
	nfInetPreRoute = 0
	nfInetLocalIn  = 1
	nfInetForward  = 2
	nfInetPostRout = 4
)

// runNetfilter is bpf_prog_test_run_nf: data_in is the packet (at least
// an IPv4 header), ctx_in an optional struct nf_hook_state of which only
// hook and pf may be set (pf NFPROTO_IPV4 or NFPROTO_IPV6; the hook is not
// checked). Hooks other than NF_INET_LOCAL_OUT see an Ethernet frame whose
// protocol must match pf. Only retval comes back: no data_out, and ctx_out
// is left alone.
//
// As in the kernel, the devices of the hook state are set from the
// default hook (NF_INET_LOCAL_OUT) before ctx_in's hook is copied in: with
// ctx_in, state->out is loopback and state->in NULL whatever the hook;
// without it both are NULL.
//
// The program's state pointer reaches a gobee struct nf_hook_state (hook,
// pf, in, out; sk, net and okfn NULL). Its skb pointer is not backed by a
// model of the kernel's struct sk_buff: it is non-NULL, and loads through
// it fail.
func runNetfilter(prog *interp.Program, opts Options) (Result, error) {
	var res Result
	if opts.Flags != 0 || opts.CPU != 0 || opts.BatchSize != 0 {
		return res, fail(syscall.EINVAL, "flags %#x, cpu %d, batch_size %d not allowed for netfilter programs", opts.Flags, opts.CPU, opts.BatchSize)
	}
	size := len(opts.DataIn)
	if size < ipv4HeaderLen {
		return res, fail(syscall.EINVAL, "data_in of %d bytes is shorter than an IPv4 header", size)
	}
	if err := testInit(size, netSKBPad, sharedInfoSize); err != nil {
		return res, err
	}
	ctx, err := ctxInit(&opts, progtype.NFHookStateSize)
	if err != nil {
		return res, err
	}
	dev := make([]byte, 8) // stands for the loopback net_device
	state := make([]byte, progtype.NFHookStateSize)
	hook, pf := byte(nfInetLocalOut), byte(nfprotoIPv4)
	var devIn, devOut uint64
	if ctx != nil { // verify_and_copy_hook_state
		if le64(ctx, 8) != 0 || le64(ctx, 16) != 0 {
			return res, fail(syscall.EINVAL, "nf_hook_state in and out must be NULL")
		}
		if le64(ctx, 24) != 0 || le64(ctx, 32) != 0 || le64(ctx, 40) != 0 {
			return res, fail(syscall.EINVAL, "nf_hook_state sk, net and okfn must be NULL")
		}
		if ctx[1] != nfprotoIPv4 && ctx[1] != nfprotoIPv6 {
			return res, fail(syscall.EINVAL, "nf_hook_state pf %d is neither NFPROTO_IPV4 nor NFPROTO_IPV6", ctx[1])
		}
		devOut = interp.Addr(dev) // the switch looks at the default hook
		hook, pf = ctx[0], ctx[1]
	}
	if hook != nfInetLocalOut {
		if size < ethHlen+ipv4HeaderLen {
			return res, fail(syscall.EINVAL, "data_in of %d bytes is shorter than Ethernet and IPv4 headers", size)
		}
		skb := &progtype.SKBuff{Buf: append([]byte(nil), opts.DataIn...), Tail: size}
		ethTypeTrans(skb)
		switch skb.Protocol {
		case ethPIP:
			if pf != nfprotoIPv4 {
				return res, fail(syscall.EINVAL, "an IPv4 packet for pf %d", pf)
			}
		case ethPIPv6:
			if size < ethHlen+ipv6HeaderLen {
				return res, fail(syscall.EINVAL, "data_in of %d bytes is shorter than Ethernet and IPv6 headers", size)
			}
			if pf != nfprotoIPv6 {
				return res, fail(syscall.EINVAL, "an IPv6 packet for pf %d", pf)
			}
		default:
			return res, fail(syscall.EPROTO, "protocol %#04x is neither IPv4 nor IPv6", skb.Protocol)
		}
	}
	state[0], state[1] = hook, pf
	binary.LittleEndian.PutUint64(state[8:], devIn)
	binary.LittleEndian.PutUint64(state[16:], devOut)
	skbMem := make([]byte, 8)
	nf := &progtype.MemContext{Mem: make([]byte, progtype.NFCtxSize), Rule: progtype.NFAccess}
	binary.LittleEndian.PutUint64(nf.Mem[progtype.NFCtxState:], interp.Addr(state))
	binary.LittleEndian.PutUint64(nf.Mem[progtype.NFCtxSkb:], interp.Addr(skbMem))
	in := opts.Input
	in.Args = [5]uint64{nf.Addr()}
	in.Regions = append([]interp.Region{nf.Region(), {Mem: state}}, in.Regions...)
	in.Packet = nil
	ret, dur, err := repeatRuns(prog, &in, opts.Repeat, progtype.Netfilter, progtype.ReturnRange(progtype.Netfilter, opts.Attach))
	if err != nil {
		return res, err
	}
	res.Retval, res.Duration = ret, dur
	return res, nil
}
