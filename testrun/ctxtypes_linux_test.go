//go:build linux

package testrun

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/gobee-dev/gobee/internal/testutil"
	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/kernel"
	"github.com/gobee-dev/gobee/progtype"
)

const flagSleepable = 1 << 4

// loadWith loads insns with an expected attach type, prog_flags and
// attach BTF id, with a 64 KiB verbose log; the error carries the
// verifier's log.
func loadWith(typ progtype.Type, attach progtype.AttachType, flags, btfID uint32, insns isa.Instructions) (*kernel.Program, error) {
	return kernel.LoadProgramWith(insns, kernel.LoadOptions{Type: ebpf.ProgramType(typ), ExpectedAttachType: ebpf.AttachType(attach),
		Flags: flags, AttachBTFID: btfID, License: "GPL", LogLevel: 1, LogSize: 1 << 16})
}

// runMode says which bpf_attr pointers the oracle passes.
type runMode struct {
	dataOut bool // pass a data_out buffer
	// ctxOutWithIn passes ctx_out whenever ctx_in is given (as objects
	// and the skb tests do); otherwise only for Options.CtxOut.
	ctxOutWithIn bool
	// ctxBack reads the context back from ctx_in (syscall programs).
	ctxBack bool
}

// kernelRunMode is BPF_PROG_TEST_RUN with explicit data_out and ctx_out
// pointers. CtxOut is set only when the kernel wrote ctx_size_out.
func kernelRunMode(p *kernel.Program, o Options, m runMode) (Result, error) {
	const outSize = 4096
	ko := kernel.TestRunOptions{DataIn: o.DataIn, CtxIn: o.CtxIn, Repeat: o.Repeat, Flags: o.Flags, CPU: o.CPU, BatchSize: o.BatchSize}
	if m.dataOut || o.DataSizeOut != 0 {
		ko.DataOut, ko.DataSizeOut = outSize, o.DataSizeOut
	}
	if o.CtxOut || m.ctxOutWithIn && o.CtxIn != nil {
		ko.CtxOut = outSize
	}
	kres, err := p.TestRunWith(ko)
	if err != nil {
		return Result{}, err
	}
	res := Result{Retval: kres.Retval}
	if ko.DataOut != 0 {
		res.DataSizeOut, res.DataOut = kres.DataSizeOut, kres.DataOut
	}
	if ko.CtxOut != 0 && kres.CtxSizeOut != outSize {
		res.CtxOut = kres.CtxOut
	}
	if m.ctxBack && len(kres.CtxIn) > 0 {
		res.CtxOut = kres.CtxIn
	}
	return res, nil
}

// typeCase is one program type's setup for the oracle.
type typeCase struct {
	typ    progtype.Type
	attach progtype.AttachType
	flags  uint32
	btfID  uint32
	mode   runMode
}

// ctxCounter counts compared runs per type, and under typ+errnoKey the
// runs that both refused with the same errno.
type ctxCounter map[progtype.Type]int

const errnoKey = 1000

// compare runs asm under the kernel and under Run on every input.
func (c ctxCounter) compare(t *testing.T, tc typeCase, name, asm string, inputs map[string]Options) error {
	t.Helper()
	insns, err := isa.Assemble(asm)
	if err != nil {
		t.Fatalf("%s: assemble: %v", name, err)
	}
	kp, err := loadWith(tc.typ, tc.attach, tc.flags, tc.btfID, insns)
	if err != nil {
		return err
	}
	defer kp.Close()
	gp, err := interp.Load(insns, &interp.Options{})
	if err != nil {
		t.Fatalf("%s: interp load: %v", name, err)
	}
	keys := make([]string, 0, len(inputs))
	for k := range inputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, in := range keys {
		o := inputs[in]
		o.Attach = tc.attach
		o.CtxAccessEnd = MaxCtxOffset(insns)
		kres, kerr := kernelRunMode(kp, o, tc.mode)
		gres, gerr := Run(gp, tc.typ, o)
		where := fmt.Sprintf("%v/%s/%s", tc.typ, name, in)
		c[tc.typ]++
		if kerr != nil || gerr != nil {
			if errnoOf(kerr) != errnoOf(gerr) || kerr == nil || gerr == nil {
				t.Errorf("%s: kernel error %v, gobee error %v", where, kerr, gerr)
			}
			c[tc.typ+errnoKey]++
			continue
		}
		if kres.Retval != gres.Retval {
			t.Errorf("%s: retval kernel %#x, gobee %#x", where, kres.Retval, gres.Retval)
		}
		if !bytes.Equal(kres.DataOut, gres.DataOut) {
			t.Errorf("%s: data_out differs\nkernel %x\ngobee  %x", where, kres.DataOut, gres.DataOut)
		}
		if !bytes.Equal(kres.CtxOut, gres.CtxOut) {
			t.Errorf("%s: ctx_out differs\nkernel %x\ngobee  %x", where, kres.CtxOut, gres.CtxOut)
		}
	}
	return nil
}

func le32s(size int, set map[int]uint32) []byte {
	b := make([]byte, size)
	for off, v := range set {
		binary.LittleEndian.PutUint32(b[off:], v)
	}
	return b
}

var widthName = map[uint32]string{1: "u8", 2: "u16", 4: "u32", 8: "u64"}

// eqProgram loads size bytes at off of the context (through a pointer
// at ptrOff first when ptrOff >= 0) and returns 1 if it equals v.
func eqProgram(ptrOff int, off, size uint32, v uint64) string {
	s := ""
	base := "r1"
	if ptrOff >= 0 {
		s = fmt.Sprintf("r6 = *(u64 *)(r1 + %d)\n", ptrOff)
		base = "r6"
	}
	return s + fmt.Sprintf("r2 = *(%s *)(%s + %d)\nr0 = 0\nr3 = %d ll\nif r2 != r3 goto +1\nr0 = 1\nexit\n", widthName[size], base, off, int64(v))
}

func flowInputs() map[string]Options {
	in := map[string]Options{}
	for n, p := range packets() {
		in[n] = Options{DataIn: p}
	}
	p := packets()["ipv4"]
	keys := func(set map[int]uint32) []byte { return le32s(progtype.FlowKeysSize, set) }
	for _, f := range []uint32{1, 2, 4, 7, 0x80000000} {
		in[fmt.Sprintf("flags-%#x", f)] = Options{DataIn: p, CtxIn: keys(map[int]uint32{progtype.FlowKeysFlags: f})}
	}
	in["ctx-nhoff"] = Options{DataIn: p, CtxIn: keys(map[int]uint32{0: 14})}
	in["ctx-label"] = Options{DataIn: p, CtxIn: keys(map[int]uint32{progtype.FlowKeysFlowLabel: 1})}
	in["ctx-short"] = Options{DataIn: p, CtxIn: keys(map[int]uint32{progtype.FlowKeysFlags: 1})[:50]}
	in["ctx-long-zero"] = Options{DataIn: p, CtxIn: make([]byte, 100)}
	in["ctx-long-nonzero"] = Options{DataIn: p, CtxIn: append(make([]byte, 56), 1)}
	in["ctxout-only"] = Options{DataIn: p, CtxOut: true}
	in["ipv6-ctx"] = Options{DataIn: packets()["ipv6"], CtxIn: keys(nil)}
	in["repeat"] = Options{DataIn: p, Repeat: 3, CtxIn: keys(map[int]uint32{progtype.FlowKeysFlags: 2})}
	in["dataout-small"] = Options{DataIn: p, DataSizeOut: 20}
	in["dataout-exact"] = Options{DataIn: p, DataSizeOut: 56}
	in["flags-bad"] = Options{DataIn: p, Flags: 1}
	in["cpu-bad"] = Options{DataIn: p, CPU: 1}
	in["page"] = Options{DataIn: make([]byte, 4096)}
	in["page+1"] = Options{DataIn: make([]byte, 4097)}
	return in
}

const flowKeysProg = `
r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = *(u64 *)(r1 + 144)
r0 = *(u16 *)(r4 + 10)
r5 = *(u32 *)(r4 + 48)
r5 <<= 16
r0 |= r5
r5 = *(u16 *)(r4 + 0)
r5 <<= 24
r0 += r5
r5 = *(u8 *)(r4 + 2)
r0 += r5
r6 = r2
r6 += 34
if r6 > r3 goto +13
r7 = *(u8 *)(r2 + 23)
*(u8 *)(r4 + 9) = r7
r7 = *(u32 *)(r2 + 26)
*(u32 *)(r4 + 16) = r7
r7 = *(u32 *)(r2 + 30)
*(u32 *)(r4 + 20) = r7
r7 = *(u8 *)(r2 + 14)
r7 &= 15
r7 <<= 2
r7 += 14
*(u16 *)(r4 + 2) = r7
r7 = %d
*(u16 *)(r4 + 0) = r7
exit
`

const flowAllKeys = `
r4 = *(u64 *)(r1 + 144)
r2 = 0x0102030405060708 ll
*(u64 *)(r4 + 0) = r2
*(u64 *)(r4 + 8) = r2
*(u32 *)(r4 + 16) = r2
*(u16 *)(r4 + 20) = r2
*(u8 *)(r4 + 23) = r2
*(u64 *)(r4 + 40) = r2
*(u32 *)(r4 + 52) = r2
r0 = *(u64 *)(r4 + 0)
r0 >>= 8
exit
`

func skLookupInputs() map[string]Options {
	mk := func(set map[int]uint32) []byte {
		b := le32s(progtype.SKLookupSize, set)
		for i := 0; i < 16; i++ {
			b[progtype.SKLookupRemoteIP6+i] = byte(0x20 + i)
			b[progtype.SKLookupLocalIP6+i] = byte(0x90 + 3*i)
		}
		return b
	}
	v4 := map[int]uint32{progtype.SKLookupFamily: 2, progtype.SKLookupProtocol: 6, progtype.SKLookupRemoteIP4: 0x0100000a,
		progtype.SKLookupRemotePort: 0xbeef3930, progtype.SKLookupLocalIP4: 0x0201a8c0, progtype.SKLookupLocalPort: 0x1f90}
	with := func(base map[int]uint32, off int, v uint32) map[int]uint32 {
		m := map[int]uint32{}
		for k, x := range base {
			m[k] = x
		}
		m[off] = v
		return m
	}
	in := map[string]Options{
		"v4":            {CtxIn: mk(v4)},
		"v6":            {CtxIn: mk(with(with(v4, progtype.SKLookupFamily, 10), progtype.SKLookupProtocol, 17))},
		"family-high":   {CtxIn: mk(with(v4, progtype.SKLookupFamily, 0x10002))},
		"proto-high":    {CtxIn: mk(with(v4, progtype.SKLookupProtocol, 0xabcd0084))},
		"port-max":      {CtxIn: mk(with(v4, progtype.SKLookupLocalPort, 0xffff))},
		"v4-repeat":     {CtxIn: mk(v4), Repeat: 4},
		"v4-ctxout":     {CtxIn: mk(v4), CtxOut: true},
		"family-1":      {CtxIn: mk(with(v4, progtype.SKLookupFamily, 1))},
		"family-0":      {CtxIn: make([]byte, progtype.SKLookupSize)},
		"port-big":      {CtxIn: mk(with(v4, progtype.SKLookupLocalPort, 0x10000))},
		"sk-set":        {CtxIn: mk(with(v4, 0, 1))},
		"sk-high":       {CtxIn: mk(with(v4, 4, 1))},
		"ifindex":       {CtxIn: mk(with(v4, progtype.SKLookupIngressIfindex, 1))},
		"tail":          {CtxIn: mk(with(v4, 68, 1))},
		"short":         {CtxIn: mk(v4)[:16]},
		"long-zero":     {CtxIn: append(mk(v4), make([]byte, 8)...)},
		"long-nonzero":  {CtxIn: append(mk(v4), 0, 0, 1)},
		"no-ctx":        {},
		"ctxout-only":   {CtxOut: true},
		"data-in":       {CtxIn: mk(v4), DataIn: packets()["ipv4"]},
		"dataout":       {CtxIn: mk(v4), DataSizeOut: 64},
		"flags":         {CtxIn: mk(v4), Flags: 1},
		"cpu":           {CtxIn: mk(v4), CPU: 1},
		"page-plus-one": {CtxIn: make([]byte, 4097)},
	}
	return in
}

func nfInputs() map[string]Options {
	in := map[string]Options{}
	for n, p := range packets() {
		in[n] = Options{DataIn: p}
	}
	state := func(hook, pf byte) []byte {
		b := make([]byte, progtype.NFHookStateSize)
		b[0], b[1] = hook, pf
		return b
	}
	for _, pk := range []string{"ipv4", "ipv6", "arp", "vlan", "ipv4-trunc", "eth+1", "odd-333"} {
		for _, hook := range []byte{0, 1, 2, 3, 4, 5, 200} {
			for _, pf := range []byte{2, 10} {
				in[fmt.Sprintf("%s/hook%d/pf%d", pk, hook, pf)] = Options{DataIn: packets()[pk], CtxIn: state(hook, pf)}
			}
		}
	}
	p := packets()["ipv4"]
	bad := func(off int) []byte {
		b := state(3, 2)
		b[off] = 1
		return b
	}
	for _, off := range []int{2, 7, 8, 16, 24, 32, 40, 47} {
		in[fmt.Sprintf("state-byte%d", off)] = Options{DataIn: p, CtxIn: bad(off)}
	}
	in["pf-7"] = Options{DataIn: p, CtxIn: state(3, 7)}
	in["pf-0"] = Options{DataIn: p, CtxIn: state(3, 0)}
	in["ctx-short"] = Options{DataIn: p, CtxIn: []byte{1, 2}}
	in["ctx-long-nonzero"] = Options{DataIn: p, CtxIn: append(state(3, 2), 1)}
	in["ctxout-only"] = Options{DataIn: p, CtxOut: true}
	in["ip-only"] = Options{DataIn: p[14:]}
	in["ip-only-19"] = Options{DataIn: p[14:33]}
	in["repeat"] = Options{DataIn: p, Repeat: 3, CtxIn: state(1, 2)}
	in["flags"] = Options{DataIn: p, Flags: 1}
	in["dataout"] = Options{DataIn: p, DataSizeOut: 10}
	return in
}

func rawTPInputs() map[string]Options {
	args := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(0x11*i + 0x80)
		}
		return b
	}
	in := map[string]Options{}
	for _, n := range []int{0, 1, 8, 15, 16, 40, 95, 96, 97, 200} {
		in[fmt.Sprintf("args%d", n)] = Options{CtxIn: args(n)}
	}
	in["cpu-noflag"] = Options{CtxIn: args(96), CPU: 1}
	in["oncpu-0"] = Options{CtxIn: args(96), Flags: FlagRunOnCPU}
	in["oncpu-last"] = Options{CtxIn: args(96), Flags: FlagRunOnCPU, CPU: uint32(NumCPU - 1)}
	in["oncpu-big"] = Options{CtxIn: args(96), Flags: FlagRunOnCPU, CPU: 100000}
	in["flag-2"] = Options{CtxIn: args(96), Flags: 2}
	in["repeat"] = Options{CtxIn: args(96), Repeat: 1}
	in["ctxout"] = Options{CtxIn: args(96), CtxOut: true}
	in["data-in"] = Options{CtxIn: args(96), DataIn: packets()["ipv4"]}
	in["dataout"] = Options{CtxIn: args(96), DataSizeOut: 16}
	in["batch"] = Options{CtxIn: args(96), BatchSize: 1}
	return in
}

func syscallInputs() map[string]Options {
	buf := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(7*i + 3)
		}
		return b
	}
	in := map[string]Options{}
	for _, n := range []int{0, 4, 8, 47, 48, 1024, 4096, 4097, 32767, 32768, 65535, 65536} {
		in[fmt.Sprintf("ctx%d", n)] = Options{CtxIn: buf(n)}
	}
	in["cpu"] = Options{CtxIn: buf(64), CPU: 3}
	in["flags"] = Options{CtxIn: buf(64), Flags: FlagRunOnCPU}
	in["repeat"] = Options{CtxIn: buf(64), Repeat: 2}
	in["ctxout"] = Options{CtxIn: buf(64), CtxOut: true}
	in["data-in"] = Options{CtxIn: buf(64), DataIn: packets()["ipv4"]}
	in["batch"] = Options{CtxIn: buf(64), BatchSize: 1}
	return in
}

func TestDifferentialContextTypes(t *testing.T) {
	testutil.RequireKernel(t)
	c := ctxCounter{}
	refused := func(tc typeCase, name string, err error) {
		t.Errorf("%v/%s: kernel refused a program: %v", tc.typ, name, err)
	}

	// FLOW_DISSECTOR.
	flow := typeCase{typ: progtype.FlowDissector, attach: progtype.AttachFlowDissector, mode: runMode{dataOut: true, ctxOutWithIn: true}}
	fin := flowInputs()
	for name, asm := range map[string]string{
		"keys-high": fmt.Sprintf(flowKeysProg, 1000), "keys-low": fmt.Sprintf(flowKeysProg, 3), "keys-mid": fmt.Sprintf(flowKeysProg, 20),
		"all-keys": flowAllKeys, "ret-ok": "r0 = 0\nexit\n", "ret-drop": "r0 = 2\nexit\n", "ret-continue": "r0 = 129\nexit\n",
		"ret-neg": "r0 = -1\nexit\n",
	} {
		if err := c.compare(t, flow, name, asm, fin); err != nil {
			refused(flow, name, err)
		}
	}

	// SK_LOOKUP: one program per readable offset and width and input,
	// returning whether the kernel reads what gobee reads.
	skl := typeCase{typ: progtype.SKLookup, attach: progtype.AttachSKLookup, mode: runMode{ctxOutWithIn: true}}
	sin := skLookupInputs()
	for _, name := range []string{"ret-0", "ret-1"} {
		if err := c.compare(t, skl, name, fmt.Sprintf("r0 = %c\nexit\n", name[4]), sin); err != nil {
			refused(skl, name, err)
		}
	}
	if err := c.compare(t, skl, "sk-null", "r2 = *(u64 *)(r1 + 0)\nr0 = 0\nif r2 != 0 goto +1\nr0 = 1\nexit\n", sin); err != nil {
		refused(skl, "sk-null", err)
	}
	for _, iname := range []string{"v4", "v6", "family-high", "proto-high", "port-max"} {
		o := sin[iname]
		k := skLookupKern(t, o.CtxIn)
		sc := progtype.NewSKLookupCtx(k)
		for off := uint32(8); off < progtype.SKLookupSize; off++ {
			for _, size := range []uint32{1, 2, 4, 8} {
				if _, err := progtype.SKLookupAccess(off, size, false); err != nil {
					continue
				}
				v, err := sc.LoadContext(nil, off, size)
				if err != nil {
					t.Fatal(err)
				}
				name := fmt.Sprintf("load-%d-%d", off, size)
				if err := c.compare(t, skl, name, eqProgram(-1, off, size, v), map[string]Options{iname: o}); err != nil {
					refused(skl, name, err)
				}
			}
		}
	}

	// RAW_TRACEPOINT (and the writable flavour): every aligned load.
	rin := rawTPInputs()
	for _, typ := range []progtype.Type{progtype.RawTracepoint, progtype.RawTracepointWritable} {
		tc := typeCase{typ: typ}
		for off := uint32(0); off < 8*progtype.MaxFuncArgs; off++ {
			for _, size := range []uint32{1, 2, 4, 8} {
				rule := progtype.TracingArgsAccess
				if typ == progtype.RawTracepointWritable {
					rule = progtype.RawTPWritableAccess
				}
				if rule(off, size, false) != nil {
					continue
				}
				if typ == progtype.RawTracepointWritable && off != 8 {
					continue // the kernel has no test run for it: a few programs show ENOTSUPP
				}
				name := fmt.Sprintf("load-%d-%d", off, size)
				asm := fmt.Sprintf("r0 = *(%s *)(r1 + %d)\nr2 = r0\nr2 >>= 32\nr0 ^= r2\nexit\n", widthName[size], off)
				if err := c.compare(t, tc, name, asm, rin); err != nil {
					refused(tc, name, err)
				}
			}
		}
		if err := c.compare(t, tc, "no-ctx", "r0 = 77\nexit\n", rin); err != nil {
			refused(tc, "no-ctx", err)
		}
	}

	// SYSCALL: loads and stores at many offsets and widths.
	sys := typeCase{typ: progtype.Syscall, flags: flagSleepable, mode: runMode{ctxBack: true}}
	syin := syscallInputs()
	for _, off := range []uint32{0, 1, 2, 3, 4, 6, 8, 12, 16, 40, 44, 46, 47, 1016, 4088, 32760, 32764, 32766, 32767} {
		for _, size := range []uint32{1, 2, 4, 8} {
			if off%size != 0 {
				continue
			}
			name := fmt.Sprintf("rw-%d-%d", off, size)
			asm := fmt.Sprintf("r0 = *(%s *)(r1 + %d)\nr2 = 0x5a69788796a5b4c3 ll\n*(%s *)(r1 + %d) = r2\nr2 = r0\nr2 >>= 32\nr0 ^= r2\nexit\n",
				widthName[size], off, widthName[size], off)
			if err := c.compare(t, sys, name, asm, syin); err != nil {
				refused(sys, name, err)
			}
		}
	}
	if err := c.compare(t, sys, "no-ctx", "r0 = 5\nexit\n", syin); err != nil {
		refused(sys, "no-ctx", err)
	}

	// NETFILTER: the hook state's fields and the skb pointer, through
	// equality programs (the verifier allows only NF_DROP and NF_ACCEPT).
	nf := typeCase{typ: progtype.Netfilter, attach: progtype.AttachNetfilter, mode: runMode{ctxOutWithIn: true}}
	nin := nfInputs()
	progs := map[string]string{
		"accept": "r0 = 1\nexit\n", "drop": "r0 = 0\nexit\n",
		"in-null":   "r6 = *(u64 *)(r1 + 0)\nr2 = *(u64 *)(r6 + 8)\nr0 = 0\nif r2 != 0 goto +1\nr0 = 1\nexit\n",
		"out-null":  "r6 = *(u64 *)(r1 + 0)\nr2 = *(u64 *)(r6 + 16)\nr0 = 0\nif r2 != 0 goto +1\nr0 = 1\nexit\n",
		"skb-null":  "r2 = *(u64 *)(r1 + 8)\nr0 = 0\nif r2 != 0 goto +1\nr0 = 1\nexit\n",
		"state-sk":  "r6 = *(u64 *)(r1 + 0)\nr2 = *(u64 *)(r6 + 24)\nr0 = 0\nif r2 != 0 goto +1\nr0 = 1\nexit\n",
		"state-net": "r6 = *(u64 *)(r1 + 0)\nr2 = *(u64 *)(r6 + 32)\nr0 = 0\nif r2 != 0 goto +1\nr0 = 1\nexit\n",
	}
	for _, v := range []uint64{0, 1, 2, 3, 4, 5, 10, 200} {
		progs[fmt.Sprintf("hook-%d", v)] = eqProgram(0, 0, 1, v)
		progs[fmt.Sprintf("pf-%d", v)] = eqProgram(0, 1, 1, v)
	}
	for name, asm := range progs {
		if err := c.compare(t, nf, name, asm, nin); err != nil {
			refused(nf, name, err)
		}
	}

	// TRACING: tp_btf loads here but cannot be test-run; fentry, fexit
	// and fmod_ret do not load under lockdown.
	tracing := 0
	if id := btfTraceID(t, "btf_trace_sched_switch"); id != 0 {
		tc := typeCase{typ: progtype.Tracing, attach: progtype.AttachTraceRawTP, btfID: id}
		if err := c.compare(t, tc, "tp_btf", "r0 = 0\nexit\n", map[string]Options{"plain": {}, "ctx": {CtxIn: make([]byte, 8)}, "flags": {Flags: 1}}); err != nil {
			refused(tc, "tp_btf", err)
		}
	}
	if id := btfFuncID(t, "bpf_fentry_test1"); id != 0 {
		insns, _ := isa.Assemble("r0 = 0\nexit\n")
		for _, a := range []progtype.AttachType{progtype.AttachTraceFentry, progtype.AttachTraceFexit} {
			kp, err := loadWith(progtype.Tracing, a, 0, id, insns)
			if err == nil {
				kp.Close()
				t.Logf("%v programs load here: the gobee-only tracing test could be a differential one", a)
			} else if !errors.Is(err, syscall.EPERM) {
				t.Logf("%v load: %v", a, err)
			}
		}
	}
	gp, err := interp.Load(mustAssemble(t, "r0 = 0\nexit\n"), &interp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for a, want := range map[progtype.AttachType]uint32{progtype.AttachTraceFentry: 0, progtype.AttachTraceFexit: 0, progtype.AttachModifyReturn: 0x2001f} {
		res, err := Run(gp, progtype.Tracing, Options{Attach: a})
		if err != nil || res.Retval != want {
			t.Errorf("tracing %v: retval %#x, %v; want %#x", a, res.Retval, err, want)
		}
		tracing++
		if _, err := Run(gp, progtype.Tracing, Options{Attach: a, Flags: 1}); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("tracing %v with flags: %v, want EINVAL", a, err)
		}
		tracing++
	}
	if _, err := Run(gp, progtype.Tracing, Options{Attach: progtype.AttachTraceIter}); !errors.Is(err, syscall.EFAULT) {
		t.Errorf("tracing iter: %v, want EFAULT", err)
	}
	tracing++

	for _, typ := range []progtype.Type{progtype.FlowDissector, progtype.SKLookup, progtype.RawTracepoint,
		progtype.RawTracepointWritable, progtype.Syscall, progtype.Netfilter, progtype.Tracing} {
		fmt.Printf("testrun: compared %d %v runs against the kernel (%d of them the same validation errno)\n", c[typ], typ, c[typ+errnoKey])
	}
	fmt.Printf("testrun: %d tracing (fentry/fexit/fmod_ret) runs checked on gobee's side only: the kernel refuses to load them here (lockdown)\n", tracing)
}

func mustAssemble(t *testing.T, asm string) isa.Instructions {
	t.Helper()
	insns, err := isa.Assemble(asm)
	if err != nil {
		t.Fatal(err)
	}
	return insns
}

// skLookupKern builds gobee's view of a valid ctx_in.
func skLookupKern(t *testing.T, ctx []byte) *progtype.SKLookupKern {
	t.Helper()
	k := &progtype.SKLookupKern{Family: uint16(le32(ctx, 8)), Protocol: uint16(le32(ctx, 12)),
		Sport: uint16(le32(ctx, 36)), Dport: uint16(le32(ctx, 60))}
	if k.Family == 2 {
		k.V4Saddr, k.V4Daddr = le32(ctx, 16), le32(ctx, 40)
	} else {
		k.V6Saddr, k.V6Daddr = ctx[20:36], ctx[44:60]
	}
	return k
}

func btfTraceID(t *testing.T, name string) uint32 {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Logf("no kernel BTF: %v", err)
		return 0
	}
	var td *btf.Typedef
	if err := spec.TypeByName(name, &td); err != nil {
		t.Logf("%s: %v", name, err)
		return 0
	}
	id, err := spec.TypeID(td)
	if err != nil {
		return 0
	}
	return uint32(id)
}

func btfFuncID(t *testing.T, name string) uint32 {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return 0
	}
	var fn *btf.Func
	if err := spec.TypeByName(name, &fn); err != nil {
		t.Logf("%s: %v", name, err)
		return 0
	}
	id, err := spec.TypeID(fn)
	if err != nil {
		return 0
	}
	return uint32(id)
}
