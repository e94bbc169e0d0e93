package helpers

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/gobee-dev/gobee/internal/testutil"
	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
)

const objPath = "../testdata/helpers/helpers.o"

// pktLen is the packet size the C programs expect.
const pktLen = 384

// gobeeProg is one program of helpers.o loaded into the interpreter: the
// body subprogram name_body, which the XDP entry calls with the packet.
type gobeeProg struct {
	p       *interp.Program
	regions []interp.Region
}

// loadGobee turns the program name of spec into an interpreter program
// that starts by calling name_body(r1) — the XDP entry's only job in the
// kernel is to check the packet's length. Loads of .rodata addresses get
// the address of a Go copy of the section.
func loadGobee(t *testing.T, spec *ebpf.CollectionSpec, name string, env *Env) *gobeeProg {
	t.Helper()
	ps := spec.Programs[name]
	if ps == nil {
		t.Fatalf("no program %s in %s", name, objPath)
	}
	insns := append(asm.Instructions(nil), ps.Instructions...)
	sections := map[string][]byte{}
	var regions []interp.Region
	refs := map[int]string{}
	body := -1
	for i, ins := range insns {
		if ins.Symbol() == name+"_body" {
			body = i
		}
		if !ins.IsLoadFromMap() {
			continue
		}
		sec := ins.Reference()
		if _, ok := sections[sec]; !ok {
			ms := spec.Maps[sec]
			if ms == nil || len(ms.Contents) != 1 {
				t.Fatalf("%s: lddw refers to %q, which is not a data section", name, sec)
			}
			b := bytes.Clone(ms.Contents[0].Value.([]byte))
			sections[sec] = b
			regions = append(regions, interp.Region{Mem: b})
		}
		refs[i] = sec
	}
	if body < 0 {
		t.Fatalf("%s: no %s_body in the program", name, name)
	}
	dec := testutil.Decode(t, insns)
	for i, sec := range refs {
		if dec[i].Src != isa.PseudoMapValue {
			t.Fatalf("%s: insn %d: lddw of %s has src %d", name, i, sec, dec[i].Src)
		}
		off := uint64(dec[i].Imm) >> 32
		dec[i].Src = 0
		dec[i].Imm = int64(interp.Addr(sections[sec]) + off)
	}
	slot := dec.SlotIndex()[body]
	stub := isa.Instructions{
		{Op: isa.OpcodeCall, Src: isa.PseudoCall, Imm: int64(slot + 1)},
		{Op: isa.OpcodeExit},
	}
	p, err := interp.Load(append(stub, dec...), &interp.Options{Helpers: Table(env)})
	if err != nil {
		t.Fatalf("%s: interp load: %v", name, err)
	}
	return &gobeeProg{p: p, regions: regions}
}

func (g *gobeeProg) run(pkt []byte) (uint32, []byte, error) {
	out := bytes.Clone(pkt)
	in := &interp.Input{Args: [5]uint64{interp.Addr(out)}, Regions: append([]interp.Region{{Mem: out, Writable: true}}, g.regions...)}
	r0, err := g.p.Run(in)
	return uint32(r0), out, err
}

// gen fills the input half of a packet for one program.
type gen func(rng *rand.Rand, p []byte)

func randBytes(rng *rand.Rand, p []byte, alphabet string) {
	for i := range p {
		p[i] = alphabet[rng.IntN(len(alphabet))]
	}
}

var numAlphabet = " \t\n-+0123456789abcdefABCDEFxXgz\x00\xa0"

func genStrto(rng *rand.Rand, p []byte) {
	flags := []uint64{0, 0, 8, 10, 16, 16, 10, 2, 1 << 5, 0x30 | 10, 1 << 40}
	binary.LittleEndian.PutUint64(p, flags[rng.IntN(len(flags))])
	p[8] = byte(rng.IntN(256))
	switch rng.IntN(4) {
	case 0: // long runs of digits: overflow
		randBytes(rng, p[16:80], "0123456789")
		if rng.IntN(2) == 0 {
			p[16] = '-'
		}
		p[8] = byte(10 + rng.IntN(20))
	case 1:
		s := []string{"9223372036854775807", "-9223372036854775808", "9223372036854775808",
			"-9223372036854775809", "18446744073709551615", "18446744073709551616", "0x", "0xg", "-0x10",
			"0777", "08", "  -12z", "\xa0\xa05", "-", " ", "0xffffffffffffffff", "0x10000000000000000", "1"}[rng.IntN(18)]
		randBytes(rng, p[16:80], numAlphabet)
		copy(p[16:], s)
		p[8] = byte(len(s) - 1 + rng.IntN(3))
	default:
		randBytes(rng, p[16:80], numAlphabet)
	}
}

func genStrncmp(rng *rand.Rand, p []byte) {
	base := []string{"hello", "", "hello world, this is a longer one", "\xff\x80z", "hellp", "hell", "\xff\x7f"}[rng.IntN(7)]
	randBytes(rng, p[16:56], "helo wr\x00\xff\x80z")
	copy(p[16:], base)
	if rng.IntN(2) == 0 {
		p[16+len(base)] = 0
	}
	p[8] = byte(rng.IntN(256))
}

func genSnprintf(rng *rand.Rand, p []byte) {
	for i := 16; i < 112; i += 8 {
		v := rng.Uint64()
		switch rng.IntN(4) {
		case 0:
			v = uint64(rng.IntN(200)) - 100
		case 1:
			v = uint64(int64(int32(rng.Uint32())))
		}
		binary.LittleEndian.PutUint64(p[i:], v)
	}
	randBytes(rng, p[112:127], "abc XYZ.\x01")
	p[8], p[9], p[10] = byte(rng.IntN(256)), byte(rng.IntN(4)), byte(rng.IntN(256))
	for i := 2; i < 16; i++ {
		if i < 8 || i > 10 {
			p[i] = byte(rng.IntN(256))
		}
	}
	p[127] = 0
	if rng.IntN(3) == 0 { // some NULs to make short strings
		p[16+rng.IntN(96)] = 0
	}
}

var fmtTokens = []string{
	"%d", "%5d", "%-05x", "%lld", "%llx", "%lu", "%s", "%c", "%p", "%px", "%pI4", "%pi6", "%pks", "%pus",
	"%%", "%", "%q", "%hd", "%.2d", "%ls", "%pZ", "\x01", "\x80", "%pI6c", "%s.", "%sx", "%i", "%X",
	"%+d", "% u", "%08llX", "%-3c", "%lx", "%llu", "%ld", "%lli", "%o", "%*d", "%#x", "a", "bc", " ", "\t", "\n", "%0", "%lc",
}

func genVprintk(rng *rand.Rand, p []byte) {
	var f []byte
	for n := rng.IntN(6); n >= 0; n-- {
		f = append(f, fmtTokens[rng.IntN(len(fmtTokens))]...)
	}
	f = f[:min(len(f), 63)]
	clear(p[16:80])
	copy(p[16:], f)
	p[8] = byte(len(f) + rng.IntN(4) - 2)
	if rng.IntN(8) == 0 {
		p[8] = byte(rng.IntN(64))
	}
	p[9] = byte(rng.IntN(16))
	// Arguments are below 64K or non-canonical: never readable memory,
	// for the kernel reads %s from the test process's user memory.
	for i := 80; i < 128; i += 8 {
		v := rng.Uint64() >> (48 + rng.IntN(16))
		if rng.IntN(4) == 0 {
			v |= 1 << 62
		}
		binary.LittleEndian.PutUint64(p[i:], v)
	}
}

func genLoop(rng *rand.Rand, p []byte) {
	nr := uint32(rng.IntN(300))
	switch rng.IntN(10) {
	case 0:
		nr = MaxLoops + uint32(rng.IntN(3)) - 1
	case 1:
		nr = rng.Uint32()
	}
	var flags uint64
	if rng.IntN(10) == 0 {
		flags = 1 << rng.IntN(64)
	}
	stop := uint32(rng.IntN(400))
	if nr >= MaxLoops-1 && nr <= MaxLoops {
		stop = uint32(rng.IntN(1000))
	}
	binary.LittleEndian.PutUint32(p[16:], nr)
	binary.LittleEndian.PutUint64(p[20:], flags)
	binary.LittleEndian.PutUint32(p[28:], stop)
}

func genProbe(rng *rand.Rand, p []byte) {
	bad := []uint64{0, 1, 0x1000, uint64(rng.Uint32()), 1<<47 - 8, 0xffffffffffffffff, 0x8000000000000000}
	binary.LittleEndian.PutUint64(p, bad[rng.IntN(len(bad))])
	p[9], p[10] = byte(rng.IntN(256)), byte(rng.IntN(256))
	randBytes(rng, p[16:128], "abcdef\x00")
}

func genTask(rng *rand.Rand, p []byte) { p[8] = byte(rng.IntN(256)) }

func TestKernelDifferential(t *testing.T) {
	testutil.RequireKernel(t)
	spec, err := ebpf.LoadCollectionSpec(objPath)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		t.Fatalf("kernel load: %v", err)
	}
	defer coll.Close()
	env := &Env{Trace: NewTracePipe()}
	cases := []struct {
		name string
		gen  gen
		n    int
	}{
		{"strto", genStrto, 3000},
		{"strncmp_prog", genStrncmp, 2000},
		{"snprintf_prog", genSnprintf, 3000},
		{"vprintk_prog", genVprintk, 3000},
		{"loop_prog", genLoop, 600},
		{"probe_prog", genProbe, 2000},
		{"task_prog", genTask, 200},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	total, quirks := 0, 0
	for _, c := range cases {
		g := loadGobee(t, spec, c.name, env)
		kp := coll.Programs[c.name]
		fails := 0
		for i := 0; i < c.n && fails < 5; i++ {
			pkt := make([]byte, pktLen)
			c.gen(rng, pkt)
			kout := make([]byte, pktLen)
			kret, err := kp.Run(&ebpf.RunOptions{Data: pkt, DataOut: kout})
			if err != nil {
				t.Fatalf("%s: kernel run: %v", c.name, err)
			}
			gret, gout, err := g.run(pkt)
			if err != nil {
				t.Errorf("%s: gobee run: %v\ninput % x", c.name, err, pkt[:128])
				fails++
				continue
			}
			total++
			if c.name == "snprintf_prog" && pkt[9]&3 == 2 && kret == gret && bytes.Equal(kout[136:], gout[136:]) &&
				binary.LittleEndian.Uint64(kout[128:]) > uint64(pkt[8]&127) &&
				binary.LittleEndian.Uint64(kout[128:]) != binary.LittleEndian.Uint64(gout[128:]) {
				// Output cut inside the %p extensions: the kernel then reads
				// later arguments from inside the skipped strings (see
				// bstrPrintf); the written bytes match but the length, which
				// depends on the kernel's exact misreads, may not.
				quirks++
				continue
			}
			if kret != gret || !bytes.Equal(kout, gout) {
				fails++
				t.Errorf("%s run %d: kernel ret %d, gobee %d\ninput  %q\nkernel %q\ngobee  %q", c.name, i, kret, gret, pkt[:128], trimZero(kout[128:]), trimZero(gout[128:]))
				_ = fmt.Sprint(
					c.name, i, kret, gret, pkt[:128], kout[128:], gout[128:])
			}
		}
		env.Trace.Drain()
	}
	msg := fmt.Sprintf("helpers: compared %d runs against the kernel (%d truncated %%p-extension snprintf runs matched in output but not in length)", total, quirks)
	t.Log(msg)
	fmt.Fprintln(os.Stderr, msg)
}

func trimZero(b []byte) []byte { return bytes.TrimRight(b, "\x00") }
