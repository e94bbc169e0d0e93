package isa

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// textCases pair little-endian encodings with their canonical text. Both
// directions are tested: Disassemble must print exactly the text, and
// Assemble must produce exactly the bytes.
var textCases = []struct {
	hex, text string
}{
	// ALU
	{"b7 00 00 00 01 00 00 00", "r0 = 1"},
	{"b7 00 00 00 ff ff ff ff", "r0 = -1"},
	{"b4 03 00 00 00 00 00 80", "w3 = -2147483648"},
	{"bf 10 00 00 00 00 00 00", "r0 = r1"},
	{"04 02 00 00 07 00 00 00", "w2 += 7"},
	{"bc 10 00 00 00 00 00 00", "w0 = w1"},
	{"87 00 00 00 00 00 00 00", "r0 = -r0"},
	{"84 00 00 00 00 00 00 00", "w0 = -w0"},
	{"1f 21 00 00 00 00 00 00", "r1 -= r2"},
	{"27 01 00 00 03 00 00 00", "r1 *= 3"},
	{"3f 10 00 00 00 00 00 00", "r0 /= r1"},
	{"3f 10 01 00 00 00 00 00", "r0 s/= r1"},
	{"97 00 01 00 03 00 00 00", "r0 s%= 3"},
	{"94 00 00 00 03 00 00 00", "w0 %= 3"},
	{"c7 00 00 00 03 00 00 00", "r0 s>>= 3"},
	{"cc 10 00 00 00 00 00 00", "w0 s>>= w1"},
	{"6f 10 00 00 00 00 00 00", "r0 <<= r1"},
	{"77 00 00 00 20 00 00 00", "r0 >>= 32"},
	{"47 00 00 00 f0 00 00 00", "r0 |= 240"},
	{"5c 10 00 00 00 00 00 00", "w0 &= w1"},
	{"a7 00 00 00 ff ff ff ff", "r0 ^= -1"},
	{"bf 10 08 00 00 00 00 00", "r0 = (s8)r1"},
	{"bf 10 10 00 00 00 00 00", "r0 = (s16)r1"},
	{"bf 10 20 00 00 00 00 00", "r0 = (s32)r1"},
	{"bc 10 08 00 00 00 00 00", "w0 = (s8)w1"},
	{"bc 10 10 00 00 00 00 00", "w0 = (s16)w1"},
	{"dc 00 00 00 10 00 00 00", "r0 = be16 r0"},
	{"d4 00 00 00 40 00 00 00", "r0 = le64 r0"},
	{"d7 00 00 00 20 00 00 00", "r0 = bswap32 r0"},
	{"bf 21 01 00 01 00 00 00", "r1 = addr_space_cast(r2, 0, 1)"},
	{"bf 21 01 00 00 00 01 00", "r1 = addr_space_cast(r2, 1, 0)"},
	// loads and stores
	{"71 10 00 00 00 00 00 00", "r0 = *(u8 *)(r1 + 0)"},
	{"79 a1 f8 ff 00 00 00 00", "r1 = *(u64 *)(r10 - 8)"},
	{"89 10 fc ff 00 00 00 00", "r0 = *(s16 *)(r1 - 4)"},
	{"81 10 00 80 00 00 00 00", "r0 = *(s32 *)(r1 - 32768)"},
	{"63 1a f8 ff 00 00 00 00", "*(u32 *)(r10 - 8) = r1"},
	{"6b 1a ff 7f 00 00 00 00", "*(u16 *)(r10 + 32767) = r1"},
	{"7a 0a f8 ff 05 00 00 00", "*(u64 *)(r10 - 8) = 5"},
	{"72 0a f8 ff ff ff ff ff", "*(u8 *)(r10 - 8) = -1"},
	{"18 01 00 00 88 77 66 55 00 00 00 00 44 33 22 11", "r1 = 0x1122334455667788 ll"},
	{"18 01 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff", "r1 = -1 ll"},
	{"18 01 00 00 ff ff ff ff 00 00 00 00 00 00 00 00", "r1 = 0xffffffff ll"},
	{"18 02 00 00 07 00 00 00 00 00 00 00 00 00 00 00", "r2 = 7 ll"},
	{"18 11 00 00 03 00 00 00 00 00 00 00 00 00 00 00", "r1 = map_fd(3) ll"},
	{"18 11 00 00 03 00 00 00 00 00 00 00 09 00 00 00", "r1 = map_fd(3, 9) ll"},
	{"18 21 00 00 03 00 00 00 00 00 00 00 10 00 00 00", "r1 = map_value(3, 16) ll"},
	{"18 21 00 00 03 00 00 00 00 00 00 00 00 00 00 00", "r1 = map_value(3, 0) ll"},
	{"18 31 00 00 05 00 00 00 00 00 00 00 00 00 00 00", "r1 = btf_id(5) ll"},
	{"18 41 00 00 03 00 00 00 00 00 00 00 00 00 00 00", "r1 = func(+3) ll"},
	{"18 41 00 00 fe ff ff ff 00 00 00 00 00 00 00 00", "r1 = func(-2) ll"},
	{"18 51 00 00 00 00 00 00 00 00 00 00 00 00 00 00", "r1 = map_idx(0) ll"},
	{"18 61 00 00 00 00 00 00 00 00 00 00 08 00 00 00", "r1 = map_idx_value(0, 8) ll"},
	{"30 00 00 00 05 00 00 00", "r0 = *(u8 *)skb[5]"},
	{"20 00 00 00 fc ff ff ff", "r0 = *(u32 *)skb[-4]"},
	{"48 10 00 00 05 00 00 00", "r0 = *(u16 *)skb[r1 + 5]"},
	{"50 10 00 00 00 00 00 80", "r0 = *(u8 *)skb[r1 - 2147483648]"},
	// atomics
	{"c3 21 00 00 00 00 00 00", "lock *(u32 *)(r1 + 0) += w2"},
	{"db 21 00 00 00 00 00 00", "lock *(u64 *)(r1 + 0) += r2"},
	{"db 21 00 00 50 00 00 00", "lock *(u64 *)(r1 + 0) &= r2"},
	{"db 21 00 00 40 00 00 00", "lock *(u64 *)(r1 + 0) |= r2"},
	{"db 21 f0 ff a0 00 00 00", "lock *(u64 *)(r1 - 16) ^= r2"},
	{"db 21 00 00 01 00 00 00", "r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)"},
	{"c3 21 08 00 a1 00 00 00", "w2 = atomic_fetch_xor((u32 *)(r1 + 8), w2)"},
	{"db 21 00 00 51 00 00 00", "r2 = atomic_fetch_and((u64 *)(r1 + 0), r2)"},
	{"db 21 00 00 41 00 00 00", "r2 = atomic_fetch_or((u64 *)(r1 + 0), r2)"},
	{"db 21 00 00 e1 00 00 00", "r2 = xchg_64(r1 + 0, r2)"},
	{"c3 21 00 00 e1 00 00 00", "w2 = xchg32_32(r1 + 0, w2)"},
	{"db 21 00 00 f1 00 00 00", "r0 = cmpxchg_64(r1 + 0, r0, r2)"},
	{"c3 21 04 00 f1 00 00 00", "w0 = cmpxchg32_32(r1 + 4, w0, w2)"},
	{"db 10 00 00 00 01 00 00", "r0 = load_acquire((u64 *)(r1 + 0))"},
	{"d3 10 00 00 00 01 00 00", "w0 = load_acquire((u8 *)(r1 + 0))"},
	{"cb 32 02 00 00 01 00 00", "w2 = load_acquire((u16 *)(r3 + 2))"},
	{"db 21 00 00 10 01 00 00", "store_release((u64 *)(r1 + 0), r2)"},
	{"c3 21 00 00 10 01 00 00", "store_release((u32 *)(r1 + 0), w2)"},
	// jumps and calls
	{"05 00 03 00 00 00 00 00", "goto +3"},
	{"05 00 ff ff 00 00 00 00", "goto -1"},
	{"05 00 00 00 00 00 00 00", "goto +0"},
	{"06 00 00 00 03 00 00 00", "gotol +3"},
	{"25 01 03 00 05 00 00 00", "if r1 > 5 goto +3"},
	{"1d 21 fe ff 00 00 00 00", "if r1 == r2 goto -2"},
	{"c6 01 01 00 fb ff ff ff", "if w1 s< -5 goto +1"},
	{"4d 21 01 00 00 00 00 00", "if r1 & r2 goto +1"},
	{"5e 21 01 00 00 00 00 00", "if w1 != w2 goto +1"},
	{"35 01 01 00 05 00 00 00", "if r1 >= 5 goto +1"},
	{"a5 01 01 00 05 00 00 00", "if r1 < 5 goto +1"},
	{"b5 01 01 00 05 00 00 00", "if r1 <= 5 goto +1"},
	{"6d 21 01 00 00 00 00 00", "if r1 s> r2 goto +1"},
	{"75 01 01 00 05 00 00 00", "if r1 s>= 5 goto +1"},
	{"dd 21 01 00 00 00 00 00", "if r1 s<= r2 goto +1"},
	{"85 00 00 00 0c 00 00 00", "call 12"},
	{"85 00 00 00 ff ff ff ff", "call -1"},
	{"85 10 00 00 03 00 00 00", "call pc+3"},
	{"85 10 00 00 fb ff ff ff", "call pc-5"},
	{"85 20 00 00 d2 04 00 00", "call kfunc(1234)"},
	{"85 20 02 00 d2 04 00 00", "call kfunc(1234, 2)"},
	{"8d 02 00 00 00 00 00 00", "callx r2"},
	{"95 00 00 00 00 00 00 00", "exit"},
	{"e5 00 03 00 00 00 00 00", "may_goto +3"},
	// invalid encodings
	{"ff 00 00 00 00 00 00 00", ".insn op=0xff dst=0 src=0 off=0 imm=0"},
	{"b7 0b 00 00 01 00 00 00", ".insn op=0xb7 dst=11 src=0 off=0 imm=1"},
	{"bf 10 07 00 00 00 00 00", ".insn op=0xbf dst=0 src=1 off=7 imm=0"},
	{"18 71 00 00 88 77 66 55 00 00 00 00 44 33 22 11", ".insn op=0x18 dst=1 src=7 off=0 imm=0x1122334455667788"},
	{"95 00 00 00 01 00 00 00", ".insn op=0x95 dst=0 src=0 off=0 imm=1"},
	{"d3 21 00 00 00 00 00 00", ".insn op=0xd3 dst=1 src=2 off=0 imm=0"},
	{"b7 0a 00 00 01 00 00 00", ".insn op=0xb7 dst=10 src=0 off=0 imm=1"},
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDisassembleTable(t *testing.T) {
	for _, c := range textCases {
		p, err := Decode(mustHex(t, c.hex), binary.LittleEndian)
		if err != nil {
			t.Errorf("%s: decode: %v", c.hex, err)
			continue
		}
		if got := Disassemble(p); got != c.text+"\n" {
			t.Errorf("%s: got %q, want %q", c.hex, got, c.text)
		}
	}
}

func TestAssembleTable(t *testing.T) {
	for _, c := range textCases {
		p, err := Assemble(c.text)
		if err != nil {
			t.Errorf("%q: %v", c.text, err)
			continue
		}
		if got := hex.EncodeToString(p.Encode(nil, binary.LittleEndian)); got != strings.ReplaceAll(c.hex, " ", "") {
			t.Errorf("%q: got %s, want %s", c.text, got, c.hex)
		}
	}
}

// TestAssembleAliases checks the other spellings the assembler accepts:
// the kernel verifier log's, llvm-objdump lines, hex and unsigned
// immediates, optional spaces.
func TestAssembleAliases(t *testing.T) {
	cases := []struct{ text, want string }{
		{"r0 = 0xffffffff", "r0 = -1"},
		{"w0 = 4294967295", "w0 = -1"},
		{"if r1 > 0x5 goto pc+3", "if r1 > 5 goto +3"},
		{"goto pc-1", "goto -1"},
		{"goto 3", "goto +3"},
		{"goto +0x10 <LBB0_2>", "goto +16"},
		{"gotol pc+3", "gotol +3"},
		{"may_goto pc+3", "may_goto +3"},
		{"r0 = *(u8 *)(r1 +0)", "r0 = *(u8 *)(r1 + 0)"},
		{"r0 = *(u32 *)(r10 -8)", "r0 = *(u32 *)(r10 - 8)"},
		{"r0=*(u32*)(r10)", "r0 = *(u32 *)(r10 + 0)"},
		{"w0 = *(u32 *)(r1 + 0)", "r0 = *(u32 *)(r1 + 0)"},
		{"*(u32 *)(r10 - 8) = w1", "*(u32 *)(r10 - 8) = r1"},
		{"r0 = *(u16 *)skb[r1]", "r0 = *(u16 *)skb[r1 + 0]"},
		{"0: (b7) r0 = 1", "r0 = 1"},
		{"   0:\tb7 00 00 00 01 00 00 00\tr0 = 1", "r0 = 1"},
		{"   0:\t18 01 00 00 ff ff ff ff 00 00 00 00 00 00 00 00\tr1 = 0xffffffff ll", "r1 = 0xffffffff ll"},
		{"   7: r0 = 1", "r0 = 1"},
		{"call bpf_map_lookup_elem#1", "call 1"},
		{"call 0xc", "call 12"},
		{"call kfunc(1234, 0)", "call kfunc(1234)"},
		{"lock *(u32 *)(r1 +0) += r2", "lock *(u32 *)(r1 + 0) += w2"},
		{"r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)", "r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)"},
		{"r2 = atomic64_xchg((u64 *)(r1 +0), r2)", "r2 = xchg_64(r1 + 0, r2)"},
		{"r2 = atomic_xchg((u32 *)(r1 +0), r2)", "w2 = xchg32_32(r1 + 0, w2)"},
		{"r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)", "r0 = cmpxchg_64(r1 + 0, r0, r2)"},
		{"r0 = load_acquire((u8 *)(r1 + 0))", "w0 = load_acquire((u8 *)(r1 + 0))"},
		{"store_release((u8 *)(r1 + 0), r2)", "store_release((u8 *)(r1 + 0), w2)"},
		{"r1 = -0x8000000000000000 ll", "r1 = 0x8000000000000000 ll"},
		{"r1 = 18446744073709551615 ll", "r1 = -1 ll"},
		{"r1 = map_value(3, 0xffffffff) ll", "r1 = map_value(3, 4294967295) ll"},
		{"r1 = map_value(3, -1) ll", "r1 = map_value(3, 4294967295) ll"},
		{"r1 = map_fd(3)", "r1 = map_fd(3) ll"},
		{"r1 = func(pc+3) ll", "r1 = func(+3) ll"},
		{"r0 = le16 r0 ; comment", "r0 = le16 r0"},
		{"exit // comment", "exit"},
		{"exit # comment", "exit"},
		{".insn op=0x95", "exit"},
		{".insn imm=-1 op=0xb7 dst=1", "r1 = -1"},
		{".insn op=0x18 dst=1 imm=0xffffffffffffffff", "r1 = -1 ll"},
	}
	for _, c := range cases {
		p, err := Assemble(c.text)
		if err != nil {
			t.Errorf("%q: %v", c.text, err)
			continue
		}
		if got := Disassemble(p); got != c.want+"\n" {
			t.Errorf("%q: got %q, want %q", c.text, got, c.want)
		}
	}
}

func TestLabels(t *testing.T) {
	src := `
; a loop with labels
start:
	r0 = 0
	r1 = 0x1122334455667788 ll   # two slots
loop:	r0 += 1
	if r0 < 10 goto loop
	if w0 == 10 goto done
	may_goto loop
	gotol start
	call sub
	r2 = func(sub) ll
done:
	exit
sub: r0 = 1
	exit
end:
`
	p, err := Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"r0 = 0",
		"r1 = 0x1122334455667788 ll",
		"r0 += 1",
		"if r0 < 10 goto -2",
		"if w0 == 10 goto +5",
		"may_goto -4",
		"gotol -8",
		"call pc+3",
		"r2 = func(+2) ll",
		"exit",
		"r0 = 1",
		"exit",
	}
	if got := Disassemble(p); got != strings.Join(want, "\n")+"\n" {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
	if err := p.Validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
	// A label after the last instruction points one past the end.
	p, err = Assemble("goto end\nexit\nend:")
	if err != nil || p[0].Off != 1 {
		t.Errorf("label at end: %v %v", p, err)
	}
}

func TestAssembleErrors(t *testing.T) {
	cases := []struct {
		text string
		line int
		want string
	}{
		{"r0 = 1\nfoo r1", 2, `unknown mnemonic "foo"`},
		{"r11 = 1", 1, "bad register r11"},
		{"r0 = r16", 1, "bad register r16"},
		{"r0 = 0x100000000", 1, "immediate 0x100000000 out of range"},
		{"r0 = -2147483649", 1, "immediate -2147483649 out of range"},
		{"r0 = 18446744073709551616 ll", 1, "out of range"},
		{"r0 = -9223372036854775809 ll", 1, "out of range"},
		{"exit\n\ngoto nowhere", 3, `unknown label "nowhere"`},
		{"a:\nexit\na: exit", 3, `duplicate label "a"`},
		{"goto +32768", 1, "32768 out of int16 range"},
		{"goto -32769", 1, "out of int16 range"},
		{"r0 = *(u8 *)(r1 + 32768)", 1, "32768 out of int16 range"},
		{"goto far\n" + strings.Repeat("exit\n", 40000) + "far: exit", 1, "out of int16 range"},
		{"w0 += r1", 1, "mixing w and r"},
		{"if r1 > w2 goto +1", 1, "mixing w and r"},
		{"w0 = 1 ll", 1, "lddw needs an r register"},
		{"r0 = be16 r1", 1, "must be the destination register"},
		{"r1 = xchg_64(r1 + 0, r2)", 1, "must be the destination register"},
		{"r1 = cmpxchg_64(r1 + 0, r0, r2)", 1, "cmpxchg returns r0"},
		{"r0 = *(s64 *)(r1 + 0)", 1, `unknown size "s64"`},
		{"*(s8 *)(r1 + 0) = 1", 1, "signed size"},
		{"r0 ** 3", 1, `unknown operator "*"`},
		{"if r1 ~ r2 goto +1", 1, "unexpected character"},
		{"if r1 ?? r2 goto +1", 1, "unexpected character"},
		{"if r1 += r2 goto +1", 1, `unknown comparison "+="`},
		{"r0 = 1 2", 1, `unexpected "2"`},
		{"r0 =", 1, "expected expression"},
		{"r0", 1, "expected operator"},
		{"goto", 1, "expected number"},
		{"r0 = 0x", 1, `bad number "0x"`},
		{"r0 = 12ab", 1, `bad number "12ab"`},
		{".insn op=256", 1, "op 256 out of range"},
		{".insn dst=16", 1, "dst 16 out of range"},
		{".insn foo=1", 1, `unknown field "foo"`},
		{".insn op=1 op=1", 1, "duplicate field"},
		{"r0 = frob(r1)", 1, `unknown expression "frob"`},
		{"r1 = addr_space_cast(r2, 65536, 0)", 1, "address space 65536 out of range"},
		{"call kfunc(1, 40000)", 1, "out of int16 range"},
	}
	for _, c := range cases {
		_, err := Assemble(c.text)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%.40q: got %v, want a *SyntaxError", c.text, err)
			continue
		}
		if se.Line != c.line || !strings.Contains(se.Error(), c.want) {
			t.Errorf("%.40q: got %q, want line %d and %q", c.text, se.Error(), c.line, c.want)
		}
		if !strings.HasPrefix(se.Error(), "line ") {
			t.Errorf("%.40q: error %q does not start with the line", c.text, se.Error())
		}
	}
}

// fieldSpread returns values for each field that reach the special cases
// of every opcode: pseudo sources, sign-extension and signed-division
// offsets, atomic operations, byte swap widths, address space casts.
func fieldSpread() (regs []Register, offs []int16, imms []int64) {
	regs = []Register{0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 15}
	offs = []int16{0, 1, -1, 7, 8, 16, 32, 0x7fff, -0x8000}
	imms = []int64{0, 1, -1, 3, 16, 32, 64, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1,
		0x100, 0x110, 0x10000, 0x7fffffff, -0x80000000, 0x1122334455667788, -0x8000000000000000}
	return regs, offs, imms
}

// TestRoundTripAllOpcodes disassembles and reassembles a spread of field
// values for every opcode byte. Every instruction that passes Check must
// have a text form (not ".insn") and come back as the same bytes; the
// others must come back through ".insn".
func TestRoundTripAllOpcodes(t *testing.T) {
	regs, offs, imms := fieldSpread()
	valid, invalid, n := 0, 0, 0
	for op := 0; op < 256; op++ {
		var p Instructions
		for _, dst := range regs {
			for _, src := range regs {
				for _, off := range offs {
					for _, imm := range imms {
						ins := Instruction{Op: Opcode(op), Dst: dst, Src: src, Off: off, Imm: imm}
						if !ins.IsLDDW() {
							ins.Imm = int64(int32(imm))
						}
						ok := ins.Check() == nil
						switch {
						case ok:
							valid++
						case n%31 != 0: // a sample of the invalid ones is enough
							n++
							continue
						default:
							n++
							invalid++
						}
						if s := ins.String(); ok == strings.HasPrefix(s, ".insn") {
							t.Errorf("%+v (Check: %v) printed as %q", ins, ins.Check(), s)
						}
						p = append(p, ins)
					}
				}
			}
		}
		roundTrip(t, p)
	}
	// Guard against a spread that stops reaching the valid encodings.
	if valid < 100000 || invalid < 100000 {
		t.Errorf("spread too narrow: %d valid, %d invalid", valid, invalid)
	}
	t.Logf("%d valid, %d invalid instructions round-tripped", valid, invalid)
}

// roundTrip checks that p survives Disassemble and Assemble in both byte
// orders, instruction by instruction.
func roundTrip(t *testing.T, p Instructions) {
	t.Helper()
	text := Disassemble(p)
	q, err := Assemble(text)
	if err != nil {
		t.Fatalf("reassemble: %v", err)
	}
	if len(q) != len(p) {
		t.Fatalf("reassembled %d instructions, want %d", len(q), len(p))
	}
	lines := strings.Split(text, "\n")
	for i := range p {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			want, got := p[i].Encode(nil, order), q[i].Encode(nil, order)
			if !bytes.Equal(got, want) {
				t.Errorf("%q: got % x, want % x", lines[i], got, want)
				break
			}
		}
	}
}

// TestBigEndianDecode checks that text does not depend on the byte order.
func TestBigEndianDecode(t *testing.T) {
	p, err := Assemble("r1 = map_value(3, 16) ll\nif r1 s> r2 goto -1\nexit")
	if err != nil {
		t.Fatal(err)
	}
	raw := p.Encode(nil, binary.BigEndian)
	q, err := Decode(raw, binary.BigEndian)
	if err != nil {
		t.Fatal(err)
	}
	if Disassemble(q) != Disassemble(p) {
		t.Errorf("big-endian round trip: %q != %q", Disassemble(q), Disassemble(p))
	}
}

// TestNoPanic feeds truncated and mangled versions of valid lines.
func TestNoPanic(t *testing.T) {
	for _, c := range textCases {
		for i := 0; i <= len(c.text); i++ {
			for _, s := range []string{c.text[:i], c.text[i:], c.text[:i] + "(" + c.text[i:], c.text[:i] + "r99" + c.text[i:]} {
				p, err := Assemble(s)
				if err == nil {
					roundTrip(t, p)
				}
			}
		}
	}
}
