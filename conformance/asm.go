package conformance

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gobee-dev/gobee/isa"
)

// Assembler errors, wrapped in a *ParseError naming the line.
var (
	ErrUnknownMnemonic = errors.New("unknown mnemonic")
	ErrOperands        = errors.New("wrong number of operands")
	ErrBadRegister     = errors.New("bad register")
	ErrBadImmediate    = errors.New("bad immediate")
	ErrBadMemOperand   = errors.New("bad memory operand")
	ErrBadTarget       = errors.New("bad jump target")
	ErrUnknownLabel    = errors.New("unknown label")
	ErrDuplicateLabel  = errors.New("duplicate label")
)

// kind is the operand shape of a mnemonic.
type kind int

const (
	kALU      kind = iota // op %rD, %rS|imm
	kNeg                  // neg %rD
	kMovSX                // movsxNM %rD, %rS
	kEndian               // le16 %rD (imm preset)
	kLoad                 // ldx %rD, [%rS+off]
	kStoreImm             // st [%rD+off], imm
	kStoreReg             // stx [%rD+off], %rS
	kAtomic               // lock op [%rD+off], %rS (imm preset)
	kLDDW                 // lddw %rD, imm64
	kJA                   // ja T (target in off)
	kJA32                 // ja32 T (target in imm)
	kJCond                // jXX %rD, %rS|imm, T
	kCall                 // call N | call local L | call %rN
	kExit                 // exit
)

// operandCount is the number of comma-separated operands of each kind.
var operandCount = map[kind]int{
	kALU: 2, kNeg: 1, kMovSX: 2, kEndian: 1, kLoad: 2, kStoreImm: 2, kStoreReg: 2,
	kAtomic: 2, kLDDW: 2, kJA: 1, kJA32: 1, kJCond: 3, kCall: 1, kExit: 0,
}

// spec says how to encode a mnemonic: its operand shape and the fixed
// fields. For kALU and kJCond the source bit is added from the operand.
type spec struct {
	kind kind
	op   isa.Opcode
	off  int16
	imm  int64
}

// mnemonics is the table of every mnemonic of the suite's syntax.
var mnemonics = buildMnemonics()

func opcode(class isa.Class, bits ...uint8) isa.Opcode {
	op := uint8(class)
	for _, b := range bits {
		op |= b
	}
	return isa.Opcode(op)
}

func buildMnemonics() map[string]spec {
	m := map[string]spec{
		"lddw":  {kind: kLDDW, op: isa.OpcodeLDDW},
		"ja":    {kind: kJA, op: isa.OpcodeJA},
		"ja32":  {kind: kJA32, op: isa.OpcodeGotoL},
		"gotol": {kind: kJA32, op: isa.OpcodeGotoL},
		"call":  {kind: kCall, op: isa.OpcodeCall},
		"exit":  {kind: kExit, op: isa.OpcodeExit},
	}
	addALU(m)
	addEndian(m)
	addLoadStore(m)
	addAtomics(m)
	addJumps(m)
	return m
}

// addALU adds the ALU mnemonics: bare or "64" is ALU64, "32" is ALU.
func addALU(m map[string]spec) {
	ops := []struct {
		name string
		op   uint8
		off  int16
	}{
		{"add", isa.OpAdd, 0}, {"sub", isa.OpSub, 0}, {"mul", isa.OpMul, 0},
		{"div", isa.OpDiv, 0}, {"sdiv", isa.OpDiv, isa.OffSigned},
		{"or", isa.OpOr, 0}, {"and", isa.OpAnd, 0}, {"lsh", isa.OpLsh, 0},
		{"rsh", isa.OpRsh, 0}, {"mod", isa.OpMod, 0}, {"smod", isa.OpMod, isa.OffSigned},
		{"xor", isa.OpXor, 0}, {"mov", isa.OpMov, 0}, {"arsh", isa.OpArsh, 0},
	}
	for _, o := range ops {
		m[o.name] = spec{kind: kALU, op: opcode(isa.ClassALU64, o.op), off: o.off}
		m[o.name+"64"] = m[o.name]
		m[o.name+"32"] = spec{kind: kALU, op: opcode(isa.ClassALU, o.op), off: o.off}
	}
	m["neg"] = spec{kind: kNeg, op: opcode(isa.ClassALU64, isa.OpNeg)}
	m["neg64"] = m["neg"]
	m["neg32"] = spec{kind: kNeg, op: opcode(isa.ClassALU, isa.OpNeg)}
	for _, n := range []int16{8, 16, 32} {
		m[fmt.Sprintf("movsx%d64", n)] = spec{kind: kMovSX, op: opcode(isa.ClassALU64, isa.OpMov, isa.SrcX), off: n}
		if n < 32 {
			m[fmt.Sprintf("movsx%d32", n)] = spec{kind: kMovSX, op: opcode(isa.ClassALU, isa.OpMov, isa.SrcX), off: n}
		}
	}
}

// addEndian adds le/be (0xd4/0xdc) and swap/bswap (0xd7) for each width.
func addEndian(m map[string]spec) {
	for _, w := range []int64{16, 32, 64} {
		m[fmt.Sprintf("le%d", w)] = spec{kind: kEndian, op: opcode(isa.ClassALU, isa.OpEnd, isa.EndToLE), imm: w}
		m[fmt.Sprintf("be%d", w)] = spec{kind: kEndian, op: opcode(isa.ClassALU, isa.OpEnd, isa.EndToBE), imm: w}
		swap := spec{kind: kEndian, op: opcode(isa.ClassALU64, isa.OpEnd), imm: w}
		m[fmt.Sprintf("swap%d", w)] = swap
		m[fmt.Sprintf("bswap%d", w)] = swap
	}
}

// sizes maps the size suffix of loads and stores to the size bits.
var sizes = []struct {
	suffix string
	size   uint8
}{{"b", isa.SizeB}, {"h", isa.SizeH}, {"w", isa.SizeW}, {"dw", isa.SizeDW}}

// addLoadStore adds ldx*, ldxs* (sign-extending), st* and stx*.
func addLoadStore(m map[string]spec) {
	for _, s := range sizes {
		m["ldx"+s.suffix] = spec{kind: kLoad, op: opcode(isa.ClassLDX, isa.ModeMEM, s.size)}
		m["st"+s.suffix] = spec{kind: kStoreImm, op: opcode(isa.ClassST, isa.ModeMEM, s.size)}
		m["stx"+s.suffix] = spec{kind: kStoreReg, op: opcode(isa.ClassSTX, isa.ModeMEM, s.size)}
		if s.size != isa.SizeDW {
			m["ldxs"+s.suffix] = spec{kind: kLoad, op: opcode(isa.ClassLDX, isa.ModeMEMSX, s.size)}
		}
	}
}

// addAtomics adds "lock [fetch] op[32]", "lock xchg[32]" and
// "lock cmpxchg[32]".
func addAtomics(m map[string]spec) {
	widths := []struct {
		suffix string
		size   uint8
	}{{"", isa.SizeDW}, {"64", isa.SizeDW}, {"32", isa.SizeW}}
	ops := []struct {
		name string
		imm  int64
	}{{"add", isa.AtomicAdd}, {"and", isa.AtomicAnd}, {"or", isa.AtomicOr}, {"xor", isa.AtomicXor}}
	for _, w := range widths {
		op := opcode(isa.ClassSTX, isa.ModeATOMIC, w.size)
		for _, o := range ops {
			m["lock "+o.name+w.suffix] = spec{kind: kAtomic, op: op, imm: o.imm}
			m["lock fetch "+o.name+w.suffix] = spec{kind: kAtomic, op: op, imm: o.imm | isa.AtomicFetch}
		}
		m["lock xchg"+w.suffix] = spec{kind: kAtomic, op: op, imm: isa.AtomicXchg}
		m["lock cmpxchg"+w.suffix] = spec{kind: kAtomic, op: op, imm: isa.AtomicCmpXchg}
	}
}

// addJumps adds the conditional jumps, bare (JMP) and "32" (JMP32).
func addJumps(m map[string]spec) {
	ops := []struct {
		name string
		op   uint8
	}{
		{"jeq", isa.OpJEQ}, {"jgt", isa.OpJGT}, {"jge", isa.OpJGE}, {"jset", isa.OpJSET},
		{"jne", isa.OpJNE}, {"jsgt", isa.OpJSGT}, {"jsge", isa.OpJSGE}, {"jlt", isa.OpJLT},
		{"jle", isa.OpJLE}, {"jslt", isa.OpJSLT}, {"jsle", isa.OpJSLE},
	}
	for _, o := range ops {
		m[o.name] = spec{kind: kJCond, op: opcode(isa.ClassJMP, o.op)}
		m[o.name+"32"] = spec{kind: kJCond, op: opcode(isa.ClassJMP32, o.op)}
	}
}

// ref is a jump or call target that is resolved after all labels are
// known: a label, or a relative slot count already in the instruction.
type ref struct {
	label string
	inImm bool // target goes in imm (ja32, call local) rather than off
}

// pending is an instruction with its source line, slot and unresolved
// target.
type pending struct {
	ins  isa.Instruction
	line int
	slot int
	ref  ref
}

// Assemble assembles the `-- asm` syntax of the conformance suite. Errors
// name the 1-based line of text.
func Assemble(text string) (isa.Instructions, error) {
	var lines []line
	for i, s := range strings.Split(text, "\n") {
		s = stripComment(strings.TrimSuffix(s, "\r"))
		if strings.TrimSpace(s) != "" {
			lines = append(lines, line{i + 1, s})
		}
	}
	return assemble("", lines)
}

// assemble assembles lines in two passes: encode and record labels, then
// resolve label targets.
func assemble(name string, lines []line) (isa.Instructions, error) {
	labels := map[string]int{}
	var prog []pending
	slot, firstExit := 0, -1
	for _, l := range lines {
		text := strings.TrimSpace(l.text)
		if lbl, ok := strings.CutSuffix(text, ":"); ok && isLabel(lbl) {
			if _, dup := labels[lbl]; dup {
				return nil, &ParseError{name, l.n, fmt.Errorf("%w %q", ErrDuplicateLabel, lbl)}
			}
			labels[lbl] = slot
			continue
		}
		ins, r, err := assembleLine(text)
		if err != nil {
			return nil, &ParseError{name, l.n, err}
		}
		if ins.IsExit() && firstExit < 0 {
			firstExit = slot
		}
		prog = append(prog, pending{ins: ins, line: l.n, slot: slot, ref: r})
		slot += ins.Slots()
	}
	// The first exit implicitly defines the label "exit".
	if _, ok := labels["exit"]; !ok && firstExit >= 0 {
		labels["exit"] = firstExit
	}
	return resolve(name, prog, labels)
}

// resolve fills label targets in as slot offsets from the next instruction.
func resolve(name string, prog []pending, labels map[string]int) (isa.Instructions, error) {
	out := make(isa.Instructions, len(prog))
	for i, p := range prog {
		out[i] = p.ins
		if p.ref.label == "" {
			continue
		}
		target, ok := labels[p.ref.label]
		if !ok {
			return nil, &ParseError{name, p.line, fmt.Errorf("%w %q", ErrUnknownLabel, p.ref.label)}
		}
		rel := int64(target - (p.slot + 1))
		if p.ref.inImm {
			out[i].Imm = rel
		} else if rel < math.MinInt16 || rel > math.MaxInt16 {
			return nil, &ParseError{name, p.line, fmt.Errorf("%w: label %q is %d slots away", ErrBadTarget, p.ref.label, rel)}
		} else {
			out[i].Off = int16(rel)
		}
	}
	return out, nil
}

// isLabel reports whether s is a label name: letters, digits, '_' and '.'.
func isLabel(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// assembleLine encodes one instruction line. A label target is returned in
// ref for resolve.
func assembleLine(text string) (isa.Instruction, ref, error) {
	mn, rest := splitMnemonic(text)
	sp, ok := mnemonics[mn]
	if !ok {
		return isa.Instruction{}, ref{}, fmt.Errorf("%w %q", ErrUnknownMnemonic, mn)
	}
	ops, err := splitOperands(rest)
	if err != nil {
		return isa.Instruction{}, ref{}, fmt.Errorf("%s: %w", mn, err)
	}
	if want := operandCount[sp.kind]; len(ops) != want {
		return isa.Instruction{}, ref{}, fmt.Errorf("%s: %w: got %d, want %d", mn, ErrOperands, len(ops), want)
	}
	ins := isa.Instruction{Op: sp.op, Off: sp.off, Imm: sp.imm}
	r, err := encoders[sp.kind](&ins, ops)
	if err != nil {
		return isa.Instruction{}, ref{}, fmt.Errorf("%s: %w", mn, err)
	}
	return ins, r, nil
}

// splitMnemonic cuts the mnemonic off a line. "lock" mnemonics take one or
// two more words ("lock fetch add32").
func splitMnemonic(text string) (mn, rest string) {
	mn, rest = cutWord(text)
	if mn != "lock" {
		return mn, rest
	}
	w, rest := cutWord(rest)
	if w != "fetch" {
		return "lock " + w, rest
	}
	w, rest = cutWord(rest)
	return "lock fetch " + w, rest
}

// cutWord splits off the first whitespace-separated word.
func cutWord(s string) (word, rest string) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], strings.TrimSpace(s[i:])
	}
	return s, ""
}

// splitOperands splits comma-separated operands.
func splitOperands(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	ops := strings.Split(s, ",")
	for i := range ops {
		ops[i] = strings.TrimSpace(ops[i])
		if ops[i] == "" {
			return nil, fmt.Errorf("%w: empty operand %d", ErrOperands, i+1)
		}
	}
	return ops, nil
}

// encoder fills the operand fields of ins. ops has the right length.
type encoder func(ins *isa.Instruction, ops []string) (ref, error)

var encoders map[kind]encoder

func init() {
	encoders = map[kind]encoder{
		kALU: encALU, kNeg: encDst, kMovSX: encMovSX, kEndian: encDst,
		kLoad: encLoad, kStoreImm: encStoreImm, kStoreReg: encStoreReg, kAtomic: encStoreReg,
		kLDDW: encLDDW, kJA: encJA, kJA32: encJA32, kJCond: encJCond, kCall: encCall,
		kExit: func(*isa.Instruction, []string) (ref, error) { return ref{}, nil },
	}
}

func encDst(ins *isa.Instruction, ops []string) (r ref, err error) {
	ins.Dst, err = parseReg(ops[0])
	return r, err
}

// regOrImm sets Src (and the BPF_X bit) for a %rS operand, or Imm.
func regOrImm(ins *isa.Instruction, s string) (err error) {
	if strings.HasPrefix(s, "%") {
		ins.Op |= isa.Opcode(isa.SrcX)
		ins.Src, err = parseReg(s)
		return err
	}
	ins.Imm, err = parseImm32(s)
	return err
}

func encALU(ins *isa.Instruction, ops []string) (r ref, err error) {
	if ins.Dst, err = parseReg(ops[0]); err != nil {
		return r, err
	}
	return r, regOrImm(ins, ops[1])
}

func encMovSX(ins *isa.Instruction, ops []string) (r ref, err error) {
	if ins.Dst, err = parseReg(ops[0]); err != nil {
		return r, err
	}
	ins.Src, err = parseReg(ops[1])
	return r, err
}

func encLoad(ins *isa.Instruction, ops []string) (r ref, err error) {
	if ins.Dst, err = parseReg(ops[0]); err != nil {
		return r, err
	}
	ins.Src, ins.Off, err = parseMemOperand(ops[1])
	return r, err
}

func encStoreImm(ins *isa.Instruction, ops []string) (r ref, err error) {
	if ins.Dst, ins.Off, err = parseMemOperand(ops[0]); err != nil {
		return r, err
	}
	ins.Imm, err = parseImm32(ops[1])
	return r, err
}

func encStoreReg(ins *isa.Instruction, ops []string) (r ref, err error) {
	if ins.Dst, ins.Off, err = parseMemOperand(ops[0]); err != nil {
		return r, err
	}
	ins.Src, err = parseReg(ops[1])
	return r, err
}

func encLDDW(ins *isa.Instruction, ops []string) (r ref, err error) {
	if ins.Dst, err = parseReg(ops[0]); err != nil {
		return r, err
	}
	ins.Imm, err = parseImm64(ops[1])
	return r, err
}

func encJA(ins *isa.Instruction, ops []string) (ref, error) {
	return target(ops[0], false, ins)
}

func encJA32(ins *isa.Instruction, ops []string) (ref, error) {
	return target(ops[0], true, ins)
}

func encJCond(ins *isa.Instruction, ops []string) (r ref, err error) {
	if ins.Dst, err = parseReg(ops[0]); err != nil {
		return r, err
	}
	if err = regOrImm(ins, ops[1]); err != nil {
		return r, err
	}
	return target(ops[2], false, ins)
}

// encCall encodes "call N" (helper), "call local L" (bpf-to-bpf, src=1)
// and "call %rN" (callx, 0x8d, register in dst).
func encCall(ins *isa.Instruction, ops []string) (r ref, err error) {
	op := ops[0]
	switch {
	case strings.HasPrefix(op, "%"):
		ins.Op = isa.OpcodeCallX
		ins.Dst, err = parseReg(op)
		return r, err
	case strings.HasPrefix(op, "local ") || strings.HasPrefix(op, "local\t"):
		ins.Src = isa.PseudoCall
		return target(strings.TrimSpace(op[len("local"):]), true, ins)
	default:
		ins.Src = isa.PseudoCallHelper
		ins.Imm, err = parseImm32(op)
		return r, err
	}
}

// target decodes a jump target: +N or -N slots, or a label resolved later.
// inImm puts it in imm (ja32, call local) instead of off.
func target(s string, inImm bool, ins *isa.Instruction) (ref, error) {
	if s == "" {
		return ref{}, fmt.Errorf("%w: empty", ErrBadTarget)
	}
	if s[0] != '+' && s[0] != '-' {
		if !isLabel(s) {
			return ref{}, fmt.Errorf("%w %q", ErrBadTarget, s)
		}
		return ref{label: s, inImm: inImm}, nil
	}
	bits := 16
	if inImm {
		bits = 32
	}
	v, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return ref{}, fmt.Errorf("%w %q", ErrBadTarget, s)
	}
	if inImm {
		ins.Imm = v
	} else {
		ins.Off = int16(v)
	}
	return ref{}, nil
}

// parseReg decodes %r0 to %r10.
func parseReg(s string) (isa.Register, error) {
	num, ok := strings.CutPrefix(s, "%r")
	if !ok || num == "" || (len(num) > 1 && num[0] == '0') {
		return 0, fmt.Errorf("%w %q", ErrBadRegister, s)
	}
	n, err := strconv.ParseUint(num, 10, 8)
	if err != nil || n > uint64(isa.MaxRegister) {
		return 0, fmt.Errorf("%w %q", ErrBadRegister, s)
	}
	return isa.Register(n), nil
}

// parseMemOperand decodes [%rN], [%rN+off] and [%rN-off].
func parseMemOperand(s string) (isa.Register, int16, error) {
	inner, ok := strings.CutPrefix(s, "[")
	if ok {
		inner, ok = strings.CutSuffix(inner, "]")
	}
	if !ok {
		return 0, 0, fmt.Errorf("%w %q", ErrBadMemOperand, s)
	}
	inner = strings.TrimSpace(inner)
	i := strings.IndexAny(inner, "+-")
	if i < 0 {
		reg, err := parseReg(inner)
		return reg, 0, err
	}
	reg, err := parseReg(strings.TrimSpace(inner[:i]))
	if err != nil {
		return 0, 0, err
	}
	off, err := parseSigned(strings.ReplaceAll(inner[i:], " ", ""), math.MinInt16, math.MaxInt16)
	if err != nil {
		return 0, 0, fmt.Errorf("%w %q: offset: %w", ErrBadMemOperand, s, err)
	}
	return reg, int16(off), nil
}

// parseSigned reads an optionally signed decimal or 0x hex number in
// [lo, hi].
func parseSigned(s string, lo, hi int64) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if digits == "" || digits[0] == '+' || digits[0] == '-' {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	u, err := parseUint64(digits)
	if err != nil || u > 1<<63 {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	v := int64(u)
	if neg {
		v = -v
	}
	if v < lo || v > hi || (!neg && u == 1<<63) {
		return 0, fmt.Errorf("%s out of range [%d, %d]", s, lo, hi)
	}
	return v, nil
}

// parseImm32 decodes a 32-bit immediate: 0x hex is a raw 32-bit pattern
// (at most 0xffffffff, so 0xffffffff is -1); decimal is signed and must fit
// int32. The result is sign-extended, as Instruction.Imm holds it.
func parseImm32(s string) (int64, error) {
	if h, ok := cutHex(s); ok {
		u, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			return 0, fmt.Errorf("%w %q: hex must be at most 0xffffffff", ErrBadImmediate, s)
		}
		return int64(int32(uint32(u))), nil
	}
	v, err := parseSigned(s, math.MinInt32, math.MaxInt32)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBadImmediate, err)
	}
	return v, nil
}

// parseImm64 decodes lddw's immediate: 0x hex up to 64 bits, or signed or
// unsigned decimal.
func parseImm64(s string) (int64, error) {
	if h, ok := cutHex(s); ok {
		u, err := strconv.ParseUint(h, 16, 64)
		if err != nil {
			return 0, fmt.Errorf("%w %q", ErrBadImmediate, s)
		}
		return int64(u), nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	u, err := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w %q", ErrBadImmediate, s)
	}
	return int64(u), nil
}
