//go:build linux

package testrun

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/gobee-dev/gobee/internal/testutil"
	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/kernel"
	"github.com/gobee-dev/gobee/pkthelpers"
	"github.com/gobee-dev/gobee/progtype"
)

// pktDataOut is the data_out buffer of the packet-helper runs, with room
// for packets that helpers grew (up to BPF_SKB_MAX_LEN).
const pktDataOut = 1 << 15

// pktPackets are the packets of the packet-helper differential tests: the
// test-run packets plus random frames (valid-looking IPv4, IPv6, VLAN and
// QinQ headers with random fields, random ethertypes, odd lengths).
func pktPackets(n int) map[string][]byte {
	ps := packets()
	delete(ps, "jumbo-8000")
	rng := rand.New(rand.NewPCG(4, 2026))
	rnd := func(k int) []byte {
		b := make([]byte, k)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for i := range n {
		size := 14 + rng.IntN(300)
		if i%7 == 0 {
			size = 14 + rng.IntN(60)
		}
		p := rnd(size)
		if rng.IntN(4) == 0 {
			copy(p, make([]byte, 6)) // to the loopback address
		}
		types := []uint16{0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, 0x0800, 0x86dd, uint16(rng.Uint32())}
		typ := types[rng.IntN(len(types))]
		binary.BigEndian.PutUint16(p[12:], typ)
		l3 := 14
		if (typ == 0x8100 || typ == 0x88a8) && len(p) >= 18 {
			inner := []uint16{0x0800, 0x86dd, 0x8100}[rng.IntN(3)]
			binary.BigEndian.PutUint16(p[16:], inner)
			typ, l3 = inner, 18
			if inner == 0x8100 && len(p) >= 22 {
				binary.BigEndian.PutUint16(p[20:], 0x0800)
				typ, l3 = 0x0800, 22
			}
		}
		switch {
		case typ == 0x0800 && len(p) >= l3+20:
			p[l3] = 0x45
			if rng.IntN(3) == 0 {
				p[l3] = 0x40 | byte(5+rng.IntN(3))
			}
			p[l3+9] = []byte{6, 17, 1, 47}[rng.IntN(4)]
		case typ == 0x86dd && len(p) >= l3+40:
			p[l3] = 0x60
			p[l3+6] = []byte{6, 17, 58, 4}[rng.IntN(4)]
		}
		ps[fmt.Sprintf("rand-%03d", i)] = p
	}
	return ps
}

// Prologues read three 32-bit arguments (r7, r8, r9) from the packet at
// offsets 14, 18 and 22 when it is long enough, zeros otherwise; the
// context stays in r6. They differ only in where the context keeps data
// and data_end.
var (
	skbArgs = argsPrologue(76, 80) // __sk_buff
	xdpArgs = argsPrologue(0, 4)   // xdp_md
)

func argsPrologue(dataOff, endOff int) string {
	return fmt.Sprintf(`
r6 = r1
r7 = 0
r8 = 0
r9 = 0
r2 = *(u32 *)(r6 + %d)
r3 = *(u32 *)(r6 + %d)
r4 = r2
r4 += 26
if r4 > r3 goto args_done
r7 = *(u32 *)(r2 + 14)
r8 = *(u32 *)(r2 + 18)
r9 = *(u32 *)(r2 + 22)
args_done:
`, dataOff, endOff)
}

const (
	// skbEpilogue stores the helper's result (r0) and what the skb looks
	// like afterwards into cb[], which ctx_out returns, plus the first
	// bytes at the network header (load_bytes_relative).
	skbEpilogue = `
*(u32 *)(r6 + 48) = r0
r9 = r0
r2 = *(u32 *)(r6 + 0)
r3 = *(u32 *)(r6 + 16)
r3 <<= 16
r2 |= r3
*(u32 *)(r6 + 52) = r2
r2 = *(u32 *)(r6 + 28)
r3 = *(u32 *)(r6 + 24)
r3 <<= 16
r2 |= r3
r3 = *(u32 *)(r6 + 4)
r3 <<= 24
r2 |= r3
*(u32 *)(r6 + 56) = r2
r2 = *(u32 *)(r6 + 32)
r3 = *(u32 *)(r6 + 80)
r4 = *(u32 *)(r6 + 76)
r3 -= r4
r3 <<= 16
r2 |= r3
*(u32 *)(r6 + 60) = r2
r2 = 0
*(u64 *)(r10 - 8) = r2
r1 = r6
r2 = 0
r3 = r10
r3 += -8
r4 = 4
r5 = 1
call 68
r2 = *(u32 *)(r10 - 8)
r2 ^= r0
*(u32 *)(r6 + 64) = r2
r0 = r9
exit
`
	zeroStack64 = `
r1 = 0
*(u64 *)(r10 - 8) = r1
*(u64 *)(r10 - 16) = r1
*(u64 *)(r10 - 24) = r1
*(u64 *)(r10 - 32) = r1
*(u64 *)(r10 - 40) = r1
*(u64 *)(r10 - 48) = r1
*(u64 *)(r10 - 56) = r1
*(u64 *)(r10 - 64) = r1
`
	// sumStack64 folds the 64 bytes below r10 into r0's upper half
	// (r0 keeps the helper's result in its low 32 bits, as u32).
	sumStack64 = `
r5 = r0
r5 <<= 32
r5 >>= 32
r0 = 0
r1 = *(u64 *)(r10 - 8)
r0 += r1
r1 = *(u64 *)(r10 - 16)
r0 ^= r1
r1 = *(u64 *)(r10 - 24)
r0 += r1
r1 = *(u64 *)(r10 - 32)
r0 ^= r1
r1 = *(u64 *)(r10 - 40)
r0 += r1
r1 = *(u64 *)(r10 - 48)
r0 ^= r1
r1 = *(u64 *)(r10 - 56)
r0 += r1
r1 = *(u64 *)(r10 - 64)
r0 ^= r1
r1 = r0
r1 >>= 32
r0 ^= r1
r0 <<= 32
r0 |= r5
*(u32 *)(r6 + 64) = r0
r0 >>= 32
*(u32 *)(r6 + 60) = r0
r0 = r5
exit
`
)

// skbHelperPrograms are tc programs that each call one helper with
// arguments derived from the packet (r7, r8, r9).
var skbHelperPrograms = map[string]string{
	"load_bytes": zeroStack64 + `
r1 = r6
r2 = r7
r2 &= 127
r3 = r10
r3 += -64
r4 = r8
r4 &= 63
r4 += 1
call 26
` + sumStack64,
	"load_bytes_relative": zeroStack64 + `
r1 = r6
r2 = r7
r2 &= 63
r3 = r10
r3 += -64
r4 = r8
r4 &= 31
r4 += 1
r5 = r9
r5 &= 3
call 68
` + sumStack64,
	"load_bytes_relative_far": zeroStack64 + `
r1 = r6
r2 = r7
r2 &= 0x1ffff
r3 = r10
r3 += -64
r4 = 8
r5 = r9
r5 &= 1
call 68
` + sumStack64,
	"store_bytes": `
*(u32 *)(r10 - 16) = r9
*(u32 *)(r10 - 12) = r8
*(u32 *)(r10 - 8) = r7
*(u32 *)(r10 - 4) = r9
r1 = r6
r2 = r7
r2 &= 127
r3 = r10
r3 += -16
r4 = r8
r4 &= 15
r4 += 1
r5 = r9
r5 >>= 8
r5 &= 7
call 9
` + skbEpilogue,
	"l3_csum_replace": `
r1 = r6
r2 = r7
r2 &= 63
r3 = r8
r4 = r9
r5 = r7
r5 >>= 8
r5 &= 7
r0 = r7
r0 &= 0x10000
if r0 == 0 goto +1
r3 = 0
call 10
` + skbEpilogue,
	"l4_csum_replace": `
r1 = r6
r2 = r7
r2 &= 63
r3 = r8
r4 = r9
r5 = r7
r5 >>= 8
r5 &= 0xf6
r0 = r7
r0 &= 0x10000
if r0 == 0 goto +1
r3 = 0
call 11
` + skbEpilogue,
	"l4_csum_replace_badflags": `
r1 = r6
r2 = r7
r2 &= 62
r3 = 0
r4 = r9
r5 = r8
r5 &= 0x3ff
call 11
` + skbEpilogue,
	"csum_diff": `
*(u32 *)(r10 - 64) = r7
*(u32 *)(r10 - 60) = r8
*(u32 *)(r10 - 56) = r9
*(u32 *)(r10 - 52) = r7
*(u32 *)(r10 - 48) = r9
*(u32 *)(r10 - 44) = r8
*(u32 *)(r10 - 40) = r7
*(u32 *)(r10 - 36) = r9
*(u32 *)(r10 - 32) = r8
*(u32 *)(r10 - 28) = r7
*(u32 *)(r10 - 24) = r9
*(u32 *)(r10 - 20) = r7
*(u32 *)(r10 - 16) = r8
*(u32 *)(r10 - 12) = r9
*(u32 *)(r10 - 8) = r8
*(u32 *)(r10 - 4) = r7
r1 = r10
r1 += -64
r2 = r7
r2 &= 31
r3 = r10
r3 += -32
r4 = r8
r4 &= 31
r5 = r9
call 28
` + skbEpilogue,
	"csum_diff_aligned": `
*(u32 *)(r10 - 64) = r7
*(u32 *)(r10 - 60) = r8
*(u32 *)(r10 - 56) = r9
*(u32 *)(r10 - 52) = r7
*(u32 *)(r10 - 48) = r9
*(u32 *)(r10 - 44) = r8
*(u32 *)(r10 - 40) = r7
*(u32 *)(r10 - 36) = r9
*(u32 *)(r10 - 32) = r8
*(u32 *)(r10 - 28) = r7
*(u32 *)(r10 - 24) = r9
*(u32 *)(r10 - 20) = r7
*(u32 *)(r10 - 16) = r8
*(u32 *)(r10 - 12) = r9
*(u32 *)(r10 - 8) = r8
*(u32 *)(r10 - 4) = r7
r1 = r10
r1 += -64
r2 = r7
r2 &= 28
r3 = r10
r3 += -32
r4 = r8
r4 &= 28
r5 = r9
r0 = r9
r0 &= 3
if r0 != 0 goto +1
r5 = 0
call 28
` + skbEpilogue,
	"csum_update": `
r1 = r6
r2 = r7
call 40
` + skbEpilogue,
	"pull_data": `
r1 = r6
r2 = r7
r2 &= 0x1ff
call 39
` + skbEpilogue,
	"change_tail": `
r1 = r6
r2 = r7
r2 &= 0x3ff
r0 = r8
r0 &= 0x200
if r0 == 0 goto +2
r2 = r7
r2 &= 0x7fff
r3 = r8
r3 &= 0x100
call 38
` + skbEpilogue,
	"change_tail_gso": `
r1 = r6
r2 = r7
r2 &= 0x1ff
r3 = 0
call 38
` + skbEpilogue,
	"change_head": `
r1 = r6
r2 = r7
r2 &= 0x1ff
r0 = r8
r0 &= 0x200
if r0 == 0 goto +2
r2 = r7
r2 &= 0x7fff
r3 = r8
r3 &= 0x10
call 43
` + skbEpilogue,
	"adjust_room": `
r1 = r6
r2 = r7
r2 &= 0x1ff
r2 -= 256
r3 = r8
r3 &= 3
r4 = r9
r4 &= 0x1ff
r0 = r9
r0 >>= 24
r0 &= 0x1f
r0 <<= 56
r4 |= r0
call 50
` + skbEpilogue,
	"adjust_room_simple": `
r1 = r6
r2 = r7
r2 &= 0x7f
r2 -= 64
r3 = r8
r3 &= 1
r4 = r9
r4 &= 0x21
call 50
` + skbEpilogue,
	"adjust_room_encap": `
r1 = r6
r2 = r7
r2 &= 0x3f
r3 = r8
r3 &= 1
r4 = r9
r4 &= 0x5e
r0 = r9
r0 >>= 24
r0 &= 0x3f
r0 <<= 56
r4 |= r0
call 50
r1 = r6
r2 = r8
r2 &= 0x1ff
r3 = 0
call 38
` + skbEpilogue,
	"adjust_room_twice": `
r1 = r6
r2 = r7
r2 &= 0x3f
r3 = r8
r3 &= 1
r4 = 2
call 50
r1 = r6
r2 = r7
r2 >>= 8
r2 &= 0x3f
r3 = r8
r3 >>= 1
r3 &= 1
r4 = r9
r4 &= 0x1fe
call 50
` + skbEpilogue,
	"change_proto": `
r1 = r6
r2 = 0xdd86
r0 = r7
r0 &= 1
if r0 == 0 goto +1
r2 = 0x0008
r0 = r7
r0 &= 2
if r0 == 0 goto +2
r2 = r7
r2 >>= 16
r3 = r8
r3 &= 0x10
call 31
` + skbEpilogue,
	"change_proto_twice": `
r1 = r6
r2 = 0xdd86
r3 = 0
call 31
r1 = r6
r2 = 0x0008
r3 = 0
call 31
` + skbEpilogue,
	"change_type": `
r1 = r6
r2 = r7
r2 &= 7
call 32
` + skbEpilogue,
	"vlan_push": `
r1 = r6
r2 = 0x0081
r0 = r7
r0 &= 3
if r0 == 0 goto +4
r2 = 0xa888
if r0 == 1 goto +2
r2 = r7
r2 >>= 16
r3 = r8
call 18
r0 = r9
r0 &= 1
if r0 == 0 goto done
r1 = r6
r2 = 0xa888
r3 = r9
r3 >>= 8
call 18
r0 = r9
r0 &= 2
if r0 == 0 goto done
r1 = r6
r2 = 0x0081
r3 = r9
r3 >>= 16
call 18
r0 = r9
r0 &= 4
if r0 == 0 goto done
r1 = r6
call 19
done:
` + skbEpilogue,
	"vlan_pop": `
r1 = r6
call 19
r0 = r7
r0 &= 1
if r0 == 0 goto done
r1 = r6
call 19
done:
` + skbEpilogue,
	"hash": `
r0 = r7
r0 &= 1
if r0 == 0 goto +3
r1 = r6
r2 = r8
call 48
r0 = r7
r0 &= 2
if r0 == 0 goto +2
r1 = r6
call 41
r0 = r7
r0 &= 4
if r0 == 0 goto +9
*(u32 *)(r10 - 8) = r9
r1 = r6
r2 = r8
r2 &= 31
r3 = r10
r3 += -8
r4 = 4
r5 = 2
call 9
r1 = r6
call 34
r2 = *(u32 *)(r6 + 36)
r3 = 0
if r2 != r0 goto +1
r3 = 2
r2 = r7
r2 &= 7
if r2 == 1 goto +3
if r0 == 0 goto +1
r0 = 1
r0 |= r3
` + skbEpilogue,
	"redirect": `
r1 = r7
r2 = r8
r2 &= 0x10003
call 23
` + skbEpilogue,
	// ld_abs must see the packet as the helpers left it.
	"ld_abs_after": `
r1 = r6
r2 = r7
r2 &= 0x7f
r3 = 0
call 43
r1 = r6
r2 = r8
r2 &= 0xff
r3 = 0
call 38
r1 = r6
call 19
r0 = *(u32 *)skb[0]
r7 = r0
r0 = *(u16 *)skb[60]
r7 ^= r0
r0 = *(u8 *)skb[100]
r0 ^= r7
` + skbEpilogue,
	"socket_cookie": `
r1 = r6
call 46
r7 = r0
r1 = r6
call 46
r2 = 0
if r0 != r7 goto +1
r2 = 2
if r0 == 0 goto +1
r0 = 1
r0 |= r2
` + skbEpilogue,
}

// xdpHelperPrograms are XDP programs calling the XDP helpers.
var xdpHelperPrograms = map[string]string{
	"adjust_head": `
r1 = r6
r2 = r7
r2 &= 0x3ff
r2 -= 512
call 44
`,
	"adjust_tail": `
r1 = r6
r2 = r7
r2 &= 0xfff
r2 -= 2048
r0 = r8
r0 &= 1
if r0 == 0 goto +2
r2 = r7
r2 &= 0x1fff
call 65
`,
	"redirect": `
r1 = r7
r2 = r8
r2 &= 3
call 23
`,
	"redirect_map_dev": `
r1 = map_fd(DEVMAP) ll
r2 = r7
r2 &= 7
r3 = r8
r3 &= 0x1f
call 51
`,
	"redirect_map_dev_bigkey": `
r1 = map_fd(DEVMAP) ll
r2 = r7
r2 <<= 32
r2 |= 1
r3 = r8
r3 &= 3
call 51
`,
	"redirect_map_cpu": `
r1 = map_fd(CPUMAP) ll
r2 = r7
r2 &= 3
r3 = r8
r3 &= 0x1f
call 51
`,
	"redirect_map_xsk": `
r1 = map_fd(XSKMAP) ll
r2 = r7
r2 &= 3
r3 = r8
r3 &= 0xff
call 51
`,
}

type pktCounter struct {
	runs, errnos int
	perHelper    map[string]int
}

// pktCompare runs one program under the kernel and under Run with the
// packet helpers on every input.
func (c *pktCounter) compare(t *testing.T, typ progtype.Type, name, asm string, inputs map[string]Options, ctxSize int, fds map[string]int, handles map[int]uint64) {
	t.Helper()
	for k, fd := range fds {
		asm = strings.ReplaceAll(asm, "map_fd("+k+")", fmt.Sprintf("map_fd(%d)", fd))
	}
	insns, err := isa.Assemble(asm)
	if err != nil {
		t.Fatalf("%s: assemble: %v", name, err)
	}
	kp, err := kernel.LoadProgram(ebpf.ProgramType(typ), insns, "GPL")
	if err != nil {
		t.Errorf("%v/%s: the kernel refuses the program: %v", typ, name, firstLine(err))
		return
	}
	defer kp.Close()
	gp, err := interp.Load(insns, &interp.Options{
		Helpers: pkthelpers.Table(typ, nil),
		ResolveImm64: func(ins isa.Instruction) (uint64, error) {
			if h, ok := handles[int(uint32(ins.Imm))]; ok && ins.Src == isa.PseudoMapFD {
				return h, nil
			}
			return 0, fmt.Errorf("unknown map fd %d", uint32(ins.Imm))
		},
	})
	if err != nil {
		t.Fatalf("%s: interp load: %v", name, err)
	}
	keys := make([]string, 0, len(inputs))
	for k := range inputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bad := 0
	for _, in := range keys {
		o := inputs[in]
		kres, kerr := kernelRun(kp, o, pktDataOut, ctxSize)
		gres, gerr := Run(gp, typ, o)
		where := fmt.Sprintf("%v/%s/%s", typ, name, in)
		if kerr != nil || gerr != nil {
			if errors.Is(gerr, ErrUnsupported) {
				continue
			}
			if errnoOf(kerr) != errnoOf(gerr) || kerr == nil || gerr == nil {
				t.Errorf("%s: kernel error %v, gobee error %v", where, kerr, gerr)
				bad++
			}
			c.errnos++
			continue
		}
		c.runs++
		c.perHelper[name]++
		var diffs []string
		if kres.Retval != gres.Retval {
			diffs = append(diffs, fmt.Sprintf("retval kernel %#x, gobee %#x", kres.Retval, gres.Retval))
		}
		if !bytes.Equal(kres.DataOut, gres.DataOut) {
			diffs = append(diffs, fmt.Sprintf("data_out differs\nkernel %x\ngobee  %x", kres.DataOut, gres.DataOut))
		}
		if !bytes.Equal(kres.CtxOut, gres.CtxOut) {
			diffs = append(diffs, fmt.Sprintf("ctx_out differs\nkernel %x\ngobee  %x", kres.CtxOut, gres.CtxOut))
		}
		if len(diffs) > 0 {
			bad++
			if bad <= 3 {
				t.Errorf("%s (data_in %x): %s", where, o.DataIn, strings.Join(diffs, "; "))
			}
		}
	}
	if bad > 3 {
		t.Errorf("%v/%s: %d inputs differ in all", typ, name, bad)
	}
}

func TestPacketHelpersDifferential(t *testing.T) {
	testutil.RequireKernel(t)
	c := pktCounter{perHelper: map[string]int{}}
	ps := pktPackets(400)

	skbIn := map[string]Options{}
	gsoCtx := skbCtx(map[int]uint64{progtype.SKBGSOSize: 1400, progtype.SKBGSOSegs: 3}, progtype.SKBSize)
	for n, p := range ps {
		skbIn[n] = Options{DataIn: p, CtxOut: true}
	}
	csumIn := map[string]Options{}
	for n, p := range ps {
		csumIn[n] = Options{DataIn: p, CtxOut: true}
		csumIn[n+"/csum-complete"] = Options{DataIn: p, CtxOut: true, Flags: FlagSKBChecksumComplete}
	}
	for name, body := range skbHelperPrograms {
		in := csumIn
		if name == "change_tail_gso" {
			in = map[string]Options{}
			for n, p := range ps {
				in[n] = Options{DataIn: p, CtxIn: gsoCtx}
			}
		}
		c.compare(t, progtype.SchedCLS, name, skbArgs+body, in, progtype.SKBSize, nil, nil)
	}
	// The helpers that non-L2 program types may call, where skb->data is
	// the network header.
	for _, typ := range []progtype.Type{progtype.SocketFilter, progtype.LWTXmit, progtype.CGroupSKB} {
		info := progtype.Lookup(typ)
		for _, name := range []string{"load_bytes", "load_bytes_relative", "store_bytes", "change_tail", "change_head", "pull_data", "l3_csum_replace", "csum_diff", "hash", "socket_cookie", "redirect"} {
			ids := map[string]int32{"load_bytes": 26, "load_bytes_relative": 68, "store_bytes": 9, "change_tail": 38, "change_head": 43,
				"pull_data": 39, "l3_csum_replace": 10, "csum_diff": 28, "hash": 34, "socket_cookie": 46, "redirect": 23}
			if !info.Helpers.Has(ids[name]) || !info.Helpers.Has(68) || (name == "hash" && !info.Helpers.Has(48)) ||
				(name == "hash" && !info.Helpers.Has(9)) || (name == "hash" && !info.Helpers.Has(41)) {
				continue
			}
			asm := skbArgs + skbHelperPrograms[name]
			if _, err := progtype.SKBAccess(typ, progtype.SKBData, 4, false); err != nil {
				continue
			}
			if _, err := progtype.SKBAccess(typ, progtype.SKBCB, 4, true); err != nil {
				continue
			}
			if typ == progtype.CGroupSKB {
				asm = strings.ReplaceAll(asm, "exit\n", "r0 &= 1\nexit\n")
			}
			c.compare(t, typ, name, asm, skbIn, progtype.SKBSize, nil, nil)
		}
	}

	// XDP, with redirect maps on both sides.
	devmap, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.DevMap, KeySize: 4, ValueSize: 4, MaxEntries: 8})
	if err != nil {
		t.Fatalf("devmap: %v", err)
	}
	defer devmap.Close()
	if err := devmap.Put(uint32(1), uint32(1)); err != nil {
		t.Fatalf("devmap put: %v", err)
	}
	cpumap, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.CPUMap, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	if err != nil {
		t.Fatalf("cpumap: %v", err)
	}
	defer cpumap.Close()
	if err := cpumap.Put(uint32(0), uint32(64)); err != nil {
		t.Fatalf("cpumap put: %v", err)
	}
	xskmap, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	if err != nil {
		t.Fatalf("xskmap: %v", err)
	}
	defer xskmap.Close()
	fds := map[string]int{"DEVMAP": devmap.FD(), "CPUMAP": cpumap.FD(), "XSKMAP": xskmap.FD()}
	handles := map[int]uint64{
		devmap.FD(): pkthelpers.Register(&pkthelpers.StaticMap{Kind: pkthelpers.DevMap, Entries: map[uint32]any{1: 1}}),
		cpumap.FD(): pkthelpers.Register(&pkthelpers.StaticMap{Kind: pkthelpers.CPUMap, Entries: map[uint32]any{0: 64}}),
		xskmap.FD(): pkthelpers.Register(&pkthelpers.StaticMap{Kind: pkthelpers.XSKMap}),
	}
	xdpIn := map[string]Options{}
	md := func(data, end uint32) []byte {
		b := make([]byte, progtype.XDPMDSize)
		binary.LittleEndian.PutUint32(b, data)
		binary.LittleEndian.PutUint32(b[4:], end)
		return b
	}
	for _, n := range []string{"jumbo-8000", "jumbo-5000"} {
		p := make([]byte, 5000)
		if n == "jumbo-8000" {
			p = packets()[n]
		}
		xdpIn[n] = Options{DataIn: p}
		xdpIn[n+"/ctxout"] = Options{DataIn: p, CtxOut: true}
	}
	for n, p := range ps {
		// ctx_out without ctx_in makes the kernel put the whole packet
		// in fragments (data_end 0), so the inputs give ctx_in.
		xdpIn[n] = Options{DataIn: p, CtxIn: md(0, uint32(len(p)))}
		if len(p) >= 30 && strings.HasPrefix(n, "rand-0") {
			xdpIn[n+"/meta8"] = Options{DataIn: p, CtxIn: md(8, uint32(len(p)))}
			xdpIn[n+"/meta32"] = Options{DataIn: p, CtxIn: md(16, uint32(len(p)))}
		}
	}
	for name, body := range xdpHelperPrograms {
		c.compare(t, progtype.XDP, name, xdpArgs+body+"exit\n", xdpIn, progtype.XDPMDSize, fds, handles)
	}
	names := make([]string, 0, len(c.perHelper))
	for n := range c.perHelper {
		names = append(names, n)
	}
	sort.Strings(names)
	var sb strings.Builder
	for _, n := range names {
		fmt.Fprintf(&sb, " %s=%d", n, c.perHelper[n])
	}
	t.Logf("per program:%s", sb.String())
	t.Logf("pkthelpers: compared %d runs against the kernel (and %d errnos)", c.runs, c.errnos)
	fmt.Printf("pkthelpers: compared %d runs against the kernel (and %d errnos)\n", c.runs, c.errnos)
}
