package testrun

import (
	"encoding/binary"
	"syscall"
	"time"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/progtype"
)

// runFlowDissector is bpf_prog_test_run_flow_dissector: the program runs
// on data_in as a struct bpf_flow_dissector without an skb; data_out is
// the struct bpf_flow_keys it filled, ctx_in an optional bpf_flow_keys of
// which only flags may be set, and ctx_out that ctx_in unchanged.
func runFlowDissector(prog *interp.Program, opts Options) (Result, error) {
	var res Result
	if opts.Flags != 0 || opts.CPU != 0 || opts.BatchSize != 0 {
		return res, fail(syscall.EINVAL, "flags %#x, cpu %d, batch_size %d not allowed for flow dissector programs", opts.Flags, opts.CPU, opts.BatchSize)
	}
	size := len(opts.DataIn)
	if err := testInit(size, 0, 0); err != nil {
		return res, err
	}
	ctx, err := ctxInit(&opts, progtype.FlowKeysSize)
	if err != nil {
		return res, err
	}
	var flags uint32
	if ctx != nil { // verify_user_bpf_flow_keys
		if !isZero(ctx[:progtype.FlowKeysFlags]) || !isZero(ctx[progtype.FlowKeysFlags+4:]) {
			return res, fail(syscall.EINVAL, "ctx_in sets bpf_flow_keys fields other than flags")
		}
		flags = le32(ctx, progtype.FlowKeysFlags)
	}
	data := append([]byte(nil), opts.DataIn...)
	keys := make([]byte, progtype.FlowKeysSize)
	fc := progtype.NewFlowDissectorContext(data, keys)
	in := opts.Input
	in.Args = [5]uint64{fc.Addr()}
	in.Regions = append(fc.Regions(), in.Regions...)
	in.Packet = nil
	repeat := max(opts.Repeat, 1)
	start := time.Now()
	var ret uint64
	for range repeat { // bpf_flow_dissect
		clear(keys)
		copy(keys[progtype.FlowKeysNProto:], data[12:14])
		binary.LittleEndian.PutUint16(keys[progtype.FlowKeysNhoff:], ethHlen)
		binary.LittleEndian.PutUint16(keys[progtype.FlowKeysThoff:], ethHlen)
		put32(keys, progtype.FlowKeysFlags, flags)
		ret, err = prog.Run(&in)
		if err != nil {
			return res, err
		}
		nhoff := clampU16(binary.LittleEndian.Uint16(keys[progtype.FlowKeysNhoff:]), ethHlen, uint16(size))
		thoff := clampU16(binary.LittleEndian.Uint16(keys[progtype.FlowKeysThoff:]), nhoff, uint16(size))
		binary.LittleEndian.PutUint16(keys[progtype.FlowKeysNhoff:], nhoff)
		binary.LittleEndian.PutUint16(keys[progtype.FlowKeysThoff:], thoff)
	}
	res.Retval, res.Duration = uint32(ret), time.Since(start)/time.Duration(repeat)
	if err := finish(&res, keys, opts.DataSizeOut); err != nil {
		return res, err
	}
	res.CtxOut = ctx
	return res, nil
}

// clampU16 is clamp_t(u16, v, lo, hi).
func clampU16(v, lo, hi uint16) uint16 {
	return min(max(v, lo), hi)
}
