package testrun

import (
	"syscall"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/progtype"
)

// Socket lookup verdicts.
const (
	skDrop = 0
	skPass = 1
)

// runSKLookup is bpf_prog_test_run_sk_lookup: ctx_in is a struct
// bpf_sk_lookup (required; sk must be 0 and ingress_ifindex unset, the
// family AF_INET or AF_INET6, local_port at most U16_MAX); there is no
// packet. ctx_out is ctx_in with cookie set to the selected socket's
// cookie (0: no socket was selected, which is all a test run can do
// without sockets).
func runSKLookup(prog *interp.Program, opts Options) (Result, error) {
	var res Result
	if opts.Flags != 0 || opts.CPU != 0 || opts.BatchSize != 0 {
		return res, fail(syscall.EINVAL, "flags %#x, cpu %d, batch_size %d not allowed for sk_lookup programs", opts.Flags, opts.CPU, opts.BatchSize)
	}
	if len(opts.DataIn) != 0 || opts.DataSizeOut != 0 {
		return res, fail(syscall.EINVAL, "sk_lookup programs take no data_in or data_out")
	}
	ctx, err := ctxInit(&opts, progtype.SKLookupSize)
	if err != nil {
		return res, err
	}
	switch {
	case ctx == nil:
		return res, fail(syscall.EINVAL, "sk_lookup programs need a ctx_in")
	case le64(ctx, progtype.SKLookupSk) != 0:
		return res, fail(syscall.EINVAL, "bpf_sk_lookup.sk must be 0")
	case !isZero(ctx[progtype.SKLookupLocalPort+4:]):
		return res, fail(syscall.EINVAL, "bpf_sk_lookup fields after local_port must be 0")
	case le32(ctx, progtype.SKLookupLocalPort) > 0xffff:
		return res, fail(syscall.ERANGE, "local_port %d is above U16_MAX", le32(ctx, progtype.SKLookupLocalPort))
	}
	k := &progtype.SKLookupKern{
		Family:   uint16(le32(ctx, progtype.SKLookupFamily)),
		Protocol: uint16(le32(ctx, progtype.SKLookupProtocol)),
		Dport:    uint16(le32(ctx, progtype.SKLookupLocalPort)),
		Sport:    uint16(le32(ctx, progtype.SKLookupRemotePort)),
	}
	switch k.Family {
	case afInet:
		k.V4Daddr, k.V4Saddr = le32(ctx, progtype.SKLookupLocalIP4), le32(ctx, progtype.SKLookupRemoteIP4)
	case afInet6:
		k.V6Daddr = ctx[progtype.SKLookupLocalIP6 : progtype.SKLookupLocalIP6+16]
		k.V6Saddr = ctx[progtype.SKLookupRemoteIP6 : progtype.SKLookupRemoteIP6+16]
	default:
		return res, fail(syscall.EAFNOSUPPORT, "family %d is neither AF_INET nor AF_INET6", k.Family)
	}
	sc := progtype.NewSKLookupCtx(k)
	in := opts.Input
	in.Args = [5]uint64{sc.Addr()}
	in.Regions = append([]interp.Region{sc.Region()}, in.Regions...)
	in.Packet = nil
	ret, dur, err := repeatRuns(prog, &in, opts.Repeat, progtype.SKLookup, progtype.ReturnRange(progtype.SKLookup, opts.Attach))
	if err != nil {
		return res, err
	}
	// BPF_PROG_SK_LOOKUP_RUN_ARRAY over one program: SK_PASS unless it
	// returned SK_DROP without selecting a socket.
	res.Retval, res.Duration = skPass, dur
	if ret == skDrop && k.SelectedSk == 0 {
		res.Retval = skDrop
	}
	put64(ctx, progtype.SKLookupCookie, 0)
	res.CtxOut = ctx
	return res, nil
}
