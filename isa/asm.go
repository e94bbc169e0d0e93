package isa

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// fixKind says which field of an instruction holds a jump target.
type fixKind uint8

const (
	fixNone fixKind = iota
	fixOff          // Off, int16 (goto, if, may_goto)
	fixImm          // Imm, int32 (gotol, call)
	fixFunc         // the low 32 bits of an lddw Imm (func(...))
)

// stmt is one parsed instruction, with the label its target names, if any.
type stmt struct {
	ins   Instruction
	fix   fixKind
	label string
}

type labelDef struct{ slot, line int }

// fixup is a reference to a label, resolved once all labels are known.
type fixup struct {
	insn, slot, line int
	kind             fixKind
	label            string
}

// assembler accumulates a program line by line.
type assembler struct {
	prog   Instructions
	slots  int
	line   int
	labels map[string]labelDef
	fixups []fixup
}

// addLine assembles one line: prefixes (labels, instruction numbers,
// objdump bytes) and then at most one instruction.
func (a *assembler) addLine(line string) error {
	s := strings.TrimSpace(stripComment(line))
	if s == "" || ignoredLine(s) {
		return nil
	}
	if m := symbolHeader.FindStringSubmatch(s); m != nil {
		return a.define(m[1])
	}
	s, err := a.cutPrefixes(s)
	if err != nil || s == "" {
		return err
	}
	toks, err := tokenize(s)
	if err != nil {
		return err
	}
	st, err := parseStatement(toks)
	if err != nil {
		return err
	}
	if st.fix != fixNone && st.label != "" {
		a.fixups = append(a.fixups, fixup{insn: len(a.prog), slot: a.slots, line: a.line, kind: st.fix, label: st.label})
	}
	a.prog = append(a.prog, st.ins)
	a.slots += st.ins.Slots()
	return nil
}

// cutPrefixes defines the labels at the start of s and skips one
// instruction number prefix, returning the rest.
func (a *assembler) cutPrefixes(s string) (string, error) {
	numbered := false
	for {
		if m := labelPrefix.FindStringSubmatch(s); m != nil {
			if err := a.define(m[1]); err != nil {
				return "", err
			}
			s = s[len(m[0]):]
			continue
		}
		if m := slotPrefix.FindString(s); m != "" && !numbered {
			numbered = true
			s = s[len(m):]
			continue
		}
		return s, nil
	}
}

func (a *assembler) define(name string) error {
	if def, ok := a.labels[name]; ok {
		return fmt.Errorf("duplicate label %q (first defined on line %d)", name, def.line)
	}
	a.labels[name] = labelDef{slot: a.slots, line: a.line}
	return nil
}

// finish resolves label references.
func (a *assembler) finish() (Instructions, error) {
	for _, f := range a.fixups {
		def, ok := a.labels[f.label]
		if !ok {
			return nil, &SyntaxError{Line: f.line, Err: fmt.Errorf("unknown label %q", f.label)}
		}
		rel := int64(def.slot) - int64(f.slot+1)
		if err := setTarget(&a.prog[f.insn], f.kind, rel); err != nil {
			return nil, &SyntaxError{Line: f.line, Err: fmt.Errorf("label %q: %w", f.label, err)}
		}
	}
	return a.prog, nil
}

// setTarget stores a relative jump target in the field kind names.
func setTarget(ins *Instruction, kind fixKind, rel int64) error {
	switch kind {
	case fixOff:
		if rel < math.MinInt16 || rel > math.MaxInt16 {
			return fmt.Errorf("offset %d out of int16 range", rel)
		}
		ins.Off = int16(rel)
	case fixImm, fixFunc:
		if rel < math.MinInt32 || rel > math.MaxInt32 {
			return fmt.Errorf("offset %d out of int32 range", rel)
		}
		if kind == fixImm {
			ins.Imm = rel
		} else {
			ins.Imm = int64(uint64(ins.Imm)&^0xffffffff | uint64(uint32(rel)))
		}
	}
	return nil
}

// number is an integer literal with its sign, kept apart so that each
// field can apply its own range.
type number struct {
	neg  bool
	mag  uint64
	text string
}

func (n number) outOfRange(what string) error {
	return fmt.Errorf("%s %s out of range", what, n.text)
}

// imm32 accepts signed and unsigned 32-bit values: 0xffffffff is -1.
func (n number) imm32() (int32, error) {
	if n.neg && n.mag <= 1<<31 {
		return int32(-int64(n.mag)), nil
	}
	if !n.neg && n.mag <= math.MaxUint32 {
		return int32(uint32(n.mag)), nil
	}
	return 0, n.outOfRange("immediate")
}

// imm64 accepts signed and unsigned 64-bit values.
func (n number) imm64() (int64, error) {
	if !n.neg {
		return int64(n.mag), nil
	}
	if n.mag <= 1<<63 {
		return int64(-n.mag), nil
	}
	return 0, n.outOfRange("immediate")
}

// signed returns the value if it fits in an int64.
func (n number) signed(what string) (int64, error) {
	if n.neg && n.mag <= 1<<63 {
		return int64(-n.mag), nil
	}
	if !n.neg && n.mag <= math.MaxInt64 {
		return int64(n.mag), nil
	}
	return 0, n.outOfRange(what)
}

func (n number) off16() (int16, error) {
	v, err := n.signed("offset")
	if err != nil || v < math.MinInt16 || v > math.MaxInt16 {
		return 0, fmt.Errorf("offset %s out of int16 range", n.text)
	}
	return int16(v), nil
}

// unsigned returns the value if it is in 0..max.
func (n number) unsigned(what string, max uint64) (uint64, error) {
	if (n.neg && n.mag != 0) || n.mag > max {
		return 0, fmt.Errorf("%s %s out of range 0..%d", what, n.text, max)
	}
	return n.mag, nil
}

// parseMagnitude parses a decimal or 0x hex literal.
func parseMagnitude(s string) (uint64, error) {
	base, digits := 10, s
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		base, digits = 16, s[2:]
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("number %s out of range", s)
	}
	if err != nil {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return v, nil
}

// parser walks the tokens of one instruction.
type parser struct {
	toks []token
	pos  int
}

// parseStatement parses one instruction, which must use all tokens.
func parseStatement(toks []token) (stmt, error) {
	p := &parser{toks: toks}
	st, err := p.statement()
	if err == nil && p.pos < len(p.toks) {
		err = fmt.Errorf("unexpected %q after instruction", p.peek().text)
	}
	return st, err
}

func (p *parser) peek() token { return p.peekAt(0) }

func (p *parser) peekAt(n int) token {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return token{}
}

func (p *parser) next() token {
	t := p.peek()
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

func (p *parser) accept(text string) bool {
	if t := p.peek(); t.kind != tokEOL && t.text == text {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(text string) error {
	if p.accept(text) {
		return nil
	}
	return p.unexpected(fmt.Sprintf("%q", text))
}

func (p *parser) unexpected(want string) error {
	if t := p.peek(); t.kind != tokEOL {
		return fmt.Errorf("expected %s, found %q", want, t.text)
	}
	return fmt.Errorf("expected %s at end of line", want)
}

// isRegister reports whether a token has the shape of a register (rN or
// wN), valid or not.
func isRegister(t token) bool {
	if t.kind != tokIdent || len(t.text) < 2 || (t.text[0] != 'r' && t.text[0] != 'w') {
		return false
	}
	for i := 1; i < len(t.text); i++ {
		if !isDigit(t.text[i]) {
			return false
		}
	}
	return true
}

// register parses rN (wide) or wN.
func (p *parser) register() (Register, bool, error) {
	t := p.peek()
	if !isRegister(t) {
		return 0, false, p.unexpected("register")
	}
	n, err := strconv.ParseUint(t.text[1:], 10, 8)
	if err != nil || n > uint64(MaxRegister) {
		return 0, false, fmt.Errorf("bad register %s", t.text)
	}
	p.next()
	return Register(n), t.text[0] == 'r', nil
}

// registerOf parses a register that must have the given width.
func (p *parser) registerOf(wide bool) (Register, error) {
	r, w, err := p.register()
	if err == nil && w != wide {
		err = errors.New("mixing w and r registers")
	}
	return r, err
}

// number parses an optionally signed literal.
func (p *parser) number() (number, error) {
	sign := ""
	if t := p.peek().text; t == "-" || t == "+" {
		sign = p.next().text
	}
	t := p.peek()
	if t.kind != tokNum {
		return number{}, p.unexpected("number")
	}
	p.next()
	mag, err := parseMagnitude(t.text)
	return number{neg: sign == "-", mag: mag, text: sign + t.text}, err
}

func (p *parser) imm32() (int32, error) {
	n, err := p.number()
	if err != nil {
		return 0, err
	}
	return n.imm32()
}

// target parses a jump target: a label, or an offset in slots from the
// next instruction written "+N", "-N", "pc+N", "pc-N" or "N". An
// llvm-objdump annotation such as "<LBB0_2>" after it is skipped.
func (p *parser) target(ins *Instruction, kind fixKind) (stmt, error) {
	st := stmt{ins: *ins, fix: kind}
	if t := p.peek(); t.kind == tokIdent {
		if sign := p.peekAt(1).text; t.text != "pc" || (sign != "+" && sign != "-") {
			st.label = p.next().text
			p.skipAnnotation()
			return st, nil
		}
		p.next()
	}
	n, err := p.number()
	if err != nil {
		return st, err
	}
	rel, err := n.signed("offset")
	if err == nil {
		err = setTarget(&st.ins, kind, rel)
	}
	p.skipAnnotation()
	return st, err
}

func (p *parser) skipAnnotation() {
	if p.peek().text == "<" {
		p.pos = len(p.toks)
	}
}

// statement dispatches on the first token.
func (p *parser) statement() (stmt, error) {
	t := p.peek()
	switch {
	case isRegister(t):
		return p.regStatement()
	case t.text == "*":
		return p.store()
	}
	p.next()
	switch t.text {
	case ".insn":
		return p.rawInsn()
	case "exit":
		return stmt{ins: Instruction{Op: OpcodeExit}}, nil
	case "goto":
		return p.target(&Instruction{Op: OpcodeJA}, fixOff)
	case "gotol":
		return p.target(&Instruction{Op: OpcodeGotoL}, fixImm)
	case "may_goto":
		return p.target(&Instruction{Op: OpcodeMayGoto}, fixOff)
	case "call":
		return p.call()
	case "callx":
		r, err := p.registerOf(true)
		return stmt{ins: Instruction{Op: OpcodeCallX, Dst: r}}, err
	case "if":
		return p.cond()
	case "lock":
		return p.lock()
	case "store_release":
		return p.storeRelease()
	}
	return stmt{}, fmt.Errorf("unknown mnemonic %q", t.text)
}

// regStatement parses "rD = ..." and "rD OP= operand".
func (p *parser) regStatement() (stmt, error) {
	dst, wide, err := p.register()
	if err != nil {
		return stmt{}, err
	}
	if p.peek().kind == tokEOL {
		return stmt{}, p.unexpected("operator")
	}
	t := p.next()
	if t.text == "=" {
		return p.assign(dst, wide)
	}
	op, off, ok := aluBySym(t.text)
	if !ok {
		return stmt{}, fmt.Errorf("unknown operator %q", t.text)
	}
	ins, err := p.operand(aluClass(wide), op, wide)
	ins.Dst, ins.Off = dst, off
	return stmt{ins: ins}, err
}

func aluClass(wide bool) Class {
	if wide {
		return ClassALU64
	}
	return ClassALU
}

// operand parses a register or an immediate and builds the opcode of an
// ALU or jump instruction from it.
func (p *parser) operand(class Class, op uint8, wide bool) (Instruction, error) {
	if isRegister(p.peek()) {
		src, err := p.registerOf(wide)
		return Instruction{Op: Opcode(uint8(class) | op | SrcX), Src: src}, err
	}
	imm, err := p.imm32()
	return Instruction{Op: Opcode(uint8(class) | op | SrcK), Imm: int64(imm)}, err
}

// assign parses the right-hand side of "rD = ...".
func (p *parser) assign(dst Register, wide bool) (stmt, error) {
	t, t1 := p.peek(), p.peekAt(1)
	var ins Instruction
	var err error
	switch {
	case t.text == "-" && isRegister(t1):
		p.next()
		_, err = p.sameRegister(dst, wide)
		ins = Instruction{Op: Opcode(uint8(aluClass(wide)) | OpNeg)}
	case t.text == "-" || t.text == "+" || t.kind == tokNum:
		ins, err = p.constant(wide)
	case isRegister(t):
		ins, err = p.operand(aluClass(wide), OpMov, wide)
	case t.text == "(":
		ins, err = p.signExtend(wide)
	case t.text == "*":
		ins, err = p.load()
	case t.kind == tokIdent:
		return p.call1(dst, wide)
	default:
		return stmt{}, p.unexpected("expression")
	}
	ins.Dst = dst
	return stmt{ins: ins}, err
}

// sameRegister parses a register that must be dst, as in "r0 = -r0".
func (p *parser) sameRegister(dst Register, wide bool) (Register, error) {
	r, err := p.registerOf(wide)
	if err == nil && r != dst {
		err = fmt.Errorf("operand %s must be the destination register", regText(r, wide))
	}
	return r, err
}

// constant parses "N" (mov) or "N ll" (lddw).
func (p *parser) constant(wide bool) (Instruction, error) {
	n, err := p.number()
	if err != nil {
		return Instruction{}, err
	}
	if p.accept("ll") {
		if !wide {
			return Instruction{}, errors.New("lddw needs an r register")
		}
		imm, err := n.imm64()
		return Instruction{Op: OpcodeLDDW, Imm: imm}, err
	}
	imm, err := n.imm32()
	return Instruction{Op: Opcode(uint8(aluClass(wide)) | OpMov | SrcK), Imm: int64(imm)}, err
}

// signExtend parses "(sN)rS".
func (p *parser) signExtend(wide bool) (Instruction, error) {
	p.next()
	name := p.next().text
	size, signed, ok := sizeByName(name)
	if !ok || !signed {
		return Instruction{}, fmt.Errorf("bad sign extension (%s)", name)
	}
	if err := p.expect(")"); err != nil {
		return Instruction{}, err
	}
	src, err := p.registerOf(wide)
	return Instruction{Op: Opcode(uint8(aluClass(wide)) | OpMov | SrcX), Src: src,
		Off: int16(8 * SizeBytes(size))}, err
}

// sizeCast parses "(uN *)" or "(sN *)".
func (p *parser) sizeCast() (size uint8, signed bool, err error) {
	if err := p.expect("("); err != nil {
		return 0, false, err
	}
	name := p.next().text
	size, signed, ok := sizeByName(name)
	if !ok {
		return 0, false, fmt.Errorf("unknown size %q", name)
	}
	if err := p.expect("*"); err != nil {
		return 0, false, err
	}
	return size, signed, p.expect(")")
}

// unsignedCast parses "(uN *)".
func (p *parser) unsignedCast() (uint8, error) {
	size, signed, err := p.sizeCast()
	if err == nil && signed {
		err = errors.New("signed size not allowed here")
	}
	return size, err
}

// regOff parses "rB", "rB + N" or "rB - N".
func (p *parser) regOff() (Register, number, error) {
	r, _, err := p.register()
	if err != nil {
		return 0, number{}, err
	}
	if t := p.peek().text; t == "+" || t == "-" {
		n, err := p.number()
		return r, n, err
	}
	return r, number{text: "0"}, nil
}

// addr parses "rB + N" with an int16 offset.
func (p *parser) addr() (Register, int16, error) {
	r, n, err := p.regOff()
	if err != nil {
		return 0, 0, err
	}
	off, err := n.off16()
	return r, off, err
}

// memRef parses "(rB + N)".
func (p *parser) memRef() (Register, int16, error) {
	if err := p.expect("("); err != nil {
		return 0, 0, err
	}
	r, off, err := p.addr()
	if err != nil {
		return 0, 0, err
	}
	return r, off, p.expect(")")
}

// load parses "*(uN *)(rS + off)", "*(sN *)(...)" and the packet loads
// "*(uN *)skb[K]" and "*(uN *)skb[rS + K]".
func (p *parser) load() (Instruction, error) {
	p.next()
	size, signed, err := p.sizeCast()
	if err != nil {
		return Instruction{}, err
	}
	if p.accept("skb") {
		if signed {
			return Instruction{}, errors.New("signed size not allowed in packet load")
		}
		return p.packetLoad(size)
	}
	src, off, err := p.memRef()
	mode := ModeMEM
	if signed {
		mode = ModeMEMSX
	}
	return Instruction{Op: Opcode(uint8(ClassLDX) | mode | size), Src: src, Off: off}, err
}

func (p *parser) packetLoad(size uint8) (Instruction, error) {
	if err := p.expect("["); err != nil {
		return Instruction{}, err
	}
	ins := Instruction{Op: Opcode(uint8(ClassLD) | ModeABS | size)}
	var n number
	var err error
	if isRegister(p.peek()) {
		ins.Op = Opcode(uint8(ClassLD) | ModeIND | size)
		ins.Src, n, err = p.regOff()
	} else {
		n, err = p.number()
	}
	if err != nil {
		return ins, err
	}
	imm, err := n.imm32()
	ins.Imm = int64(imm)
	if err != nil {
		return ins, err
	}
	return ins, p.expect("]")
}

// call1 parses "rD = NAME(...)": byte swaps, pseudo lddw, address space
// casts and the atomics that return a value.
func (p *parser) call1(dst Register, wide bool) (stmt, error) {
	name := p.next().text
	for _, e := range endianOps {
		if bits, ok := strings.CutPrefix(name, e.name); ok && (bits == "16" || bits == "32" || bits == "64") {
			_, err := p.sameRegister(dst, wide)
			imm, _ := strconv.Atoi(bits)
			return stmt{ins: Instruction{Op: e.op, Dst: dst, Imm: int64(imm)}}, err
		}
	}
	for _, e := range lddwPseudos {
		if name == e.name {
			return p.pseudoLoad(dst, wide, e.src)
		}
	}
	var ins Instruction
	var err error
	switch {
	case name == "addr_space_cast":
		ins, err = p.addrSpaceCast(wide)
	case name == "load_acquire":
		ins, err = p.loadAcquire()
	case strings.HasSuffix(name, "xchg_64"), strings.HasSuffix(name, "xchg32_32"),
		strings.HasPrefix(name, "atomic"):
		return p.atomicCall(name, dst, wide)
	default:
		return stmt{}, fmt.Errorf("unknown expression %q", name)
	}
	ins.Dst = dst
	return stmt{ins: ins}, err
}

// pseudoLoad parses "NAME(lo[, hi]) ll" for a pseudo source of lddw. For
// func the first argument is a jump target.
func (p *parser) pseudoLoad(dst Register, wide bool, src Register) (stmt, error) {
	if !wide {
		return stmt{}, errors.New("lddw needs an r register")
	}
	if err := p.expect("("); err != nil {
		return stmt{}, err
	}
	ins := Instruction{Op: OpcodeLDDW, Dst: dst, Src: src}
	var st stmt
	var err error
	if src == PseudoFunc {
		st, err = p.target(&ins, fixFunc)
	} else {
		var lo int32
		lo, err = p.imm32()
		st = stmt{ins: Instruction{Op: OpcodeLDDW, Dst: dst, Src: src, Imm: int64(uint32(lo))}}
	}
	if err != nil {
		return st, err
	}
	if p.accept(",") {
		hi, err := p.imm32()
		if err != nil {
			return st, err
		}
		st.ins.Imm = int64(uint64(uint32(st.ins.Imm)) | uint64(uint32(hi))<<32)
	}
	if err := p.expect(")"); err != nil {
		return st, err
	}
	p.accept("ll")
	return st, nil
}

// addrSpaceCast parses "(rS, dst_as, src_as)".
func (p *parser) addrSpaceCast(wide bool) (Instruction, error) {
	ins := Instruction{Op: Opcode(uint8(ClassALU64) | OpMov | SrcX), Off: OffAddrSpaceCast}
	if !wide {
		return ins, errors.New("addr_space_cast needs r registers")
	}
	var err error
	if err = p.expect("("); err == nil {
		ins.Src, err = p.registerOf(true)
	}
	var as [2]uint64
	for i := range as {
		if err == nil {
			err = p.expect(",")
		}
		var n number
		if err == nil {
			n, err = p.number()
		}
		if err == nil {
			as[i], err = n.unsigned("address space", math.MaxUint16)
		}
	}
	if err == nil {
		err = p.expect(")")
	}
	ins.Imm = int64(as[0]<<16 | as[1])
	return ins, err
}

// loadAcquire parses "((uN *)(rS + off))"; the loaded register is dst.
func (p *parser) loadAcquire() (Instruction, error) {
	ins := Instruction{Imm: AtomicLoadAcq}
	if err := p.expect("("); err != nil {
		return ins, err
	}
	size, err := p.unsignedCast()
	if err != nil {
		return ins, err
	}
	ins.Op = Opcode(uint8(ClassSTX) | ModeATOMIC | size)
	if ins.Src, ins.Off, err = p.memRef(); err != nil {
		return ins, err
	}
	return ins, p.expect(")")
}

// atomicCall parses the atomics that return a value in a register:
//
//	rS = atomic_fetch_OP((u64 *)(rD + off), rS)   (also atomic64_fetch_OP)
//	rS = xchg_64(rD + off, rS)                    (w: xchg32_32)
//	r0 = cmpxchg_64(rD + off, r0, rS)             (w: cmpxchg32_32)
//
// and the kernel log's atomic[64]_xchg and atomic[64]_cmpxchg, which take
// a cast address like atomic_fetch_OP.
func (p *parser) atomicCall(name string, dst Register, wide bool) (stmt, error) {
	name = strings.Replace(strings.TrimPrefix(name, "atomic64_"), "atomic_", "", 1)
	var imm int64
	switch name {
	case "xchg", "xchg_64", "xchg32_32":
		imm = AtomicXchg
	case "cmpxchg", "cmpxchg_64", "cmpxchg32_32":
		imm = AtomicCmpXchg
	default:
		for _, e := range atomicOps {
			if name == "fetch_"+e.name {
				imm = e.imm | AtomicFetch
			}
		}
	}
	if imm == 0 {
		return stmt{}, fmt.Errorf("unknown atomic operation %q", name)
	}
	if err := p.expect("("); err != nil {
		return stmt{}, err
	}
	size, err := p.atomicAddr(name)
	ins := Instruction{Op: Opcode(uint8(ClassSTX) | ModeATOMIC | size), Imm: imm}
	if err == nil {
		ins.Dst, ins.Off, err = p.memRefOrAddr(name)
	}
	if err == nil && imm == AtomicCmpXchg {
		err = p.cmpxchgOperands(dst)
	}
	if err == nil {
		err = p.expect(",")
	}
	if err == nil && imm == AtomicCmpXchg {
		ins.Src, err = p.registerOf(wide)
	} else if err == nil {
		ins.Src, err = p.sameRegister(dst, wide)
	}
	if err == nil {
		err = p.expect(")")
	}
	return stmt{ins: ins}, err
}

// atomicAddr returns the access size: from the name for llvm's
// xchg_64/xchg32_32 forms, else from a "(uN *)" cast.
func (p *parser) atomicAddr(name string) (uint8, error) {
	switch {
	case strings.HasSuffix(name, "_64"):
		return SizeDW, nil
	case strings.HasSuffix(name, "32_32"):
		return SizeW, nil
	}
	return p.unsignedCast()
}

// memRefOrAddr parses the address: "rD + off" in llvm's sized forms,
// "(rD + off)" after a cast.
func (p *parser) memRefOrAddr(name string) (Register, int16, error) {
	if strings.HasSuffix(name, "_64") || strings.HasSuffix(name, "32_32") {
		return p.addr()
	}
	return p.memRef()
}

// cmpxchgOperands checks that cmpxchg compares and returns r0.
func (p *parser) cmpxchgOperands(dst Register) error {
	if dst != R0 {
		return errors.New("cmpxchg returns r0")
	}
	if err := p.expect(","); err != nil {
		return err
	}
	r, _, err := p.register()
	if err == nil && r != R0 {
		err = errors.New("cmpxchg compares with r0")
	}
	return err
}

// store parses "*(uN *)(rD + off) = rS" and "... = imm".
func (p *parser) store() (stmt, error) {
	p.next()
	size, err := p.unsignedCast()
	if err != nil {
		return stmt{}, err
	}
	dst, off, err := p.memRef()
	if err == nil {
		err = p.expect("=")
	}
	if err != nil {
		return stmt{}, err
	}
	if isRegister(p.peek()) {
		src, _, err := p.register()
		return stmt{ins: Instruction{Op: Opcode(uint8(ClassSTX) | ModeMEM | size), Dst: dst, Src: src, Off: off}}, err
	}
	imm, err := p.imm32()
	return stmt{ins: Instruction{Op: Opcode(uint8(ClassST) | ModeMEM | size), Dst: dst, Off: off, Imm: int64(imm)}}, err
}

// lock parses "lock *(uN *)(rD + off) OP= rS".
func (p *parser) lock() (stmt, error) {
	if err := p.expect("*"); err != nil {
		return stmt{}, err
	}
	size, err := p.unsignedCast()
	if err != nil {
		return stmt{}, err
	}
	dst, off, err := p.memRef()
	if err != nil {
		return stmt{}, err
	}
	sym := p.next().text
	for _, e := range atomicOps {
		if e.sym == sym {
			src, _, err := p.register()
			return stmt{ins: Instruction{Op: Opcode(uint8(ClassSTX) | ModeATOMIC | size), Dst: dst, Src: src, Off: off, Imm: e.imm}}, err
		}
	}
	return stmt{}, fmt.Errorf("unknown atomic operator %q", sym)
}

// storeRelease parses "store_release((uN *)(rD + off), rS)".
func (p *parser) storeRelease() (stmt, error) {
	ins := Instruction{Imm: AtomicStoreRel}
	err := p.expect("(")
	var size uint8
	if err == nil {
		size, err = p.unsignedCast()
	}
	if err == nil {
		ins.Dst, ins.Off, err = p.memRef()
	}
	if err == nil {
		err = p.expect(",")
	}
	if err == nil {
		ins.Src, _, err = p.register()
	}
	if err == nil {
		err = p.expect(")")
	}
	ins.Op = Opcode(uint8(ClassSTX) | ModeATOMIC | size)
	return stmt{ins: ins}, err
}

// cond parses "if rD OP operand goto target"; w registers make it JMP32.
func (p *parser) cond() (stmt, error) {
	dst, wide, err := p.register()
	if err != nil {
		return stmt{}, err
	}
	sym := p.next().text
	op, ok := jumpBySym(sym)
	if !ok {
		return stmt{}, fmt.Errorf("unknown comparison %q", sym)
	}
	class := ClassJMP32
	if wide {
		class = ClassJMP
	}
	ins, err := p.operand(class, op, wide)
	if err != nil {
		return stmt{}, err
	}
	ins.Dst = dst
	if err := p.expect("goto"); err != nil {
		return stmt{}, err
	}
	return p.target(&ins, fixOff)
}

// call parses "call N" (helper), "call NAME#N" (the kernel log's helper
// form), "call pc+N" or "call LABEL" (bpf-to-bpf) and "call kfunc(ID[,
// OFF])".
func (p *parser) call() (stmt, error) {
	t, t1 := p.peek(), p.peekAt(1)
	switch {
	case t.text == "kfunc" && t1.text == "(":
		return p.kfunc()
	case t.kind == tokIdent && t1.text == "#":
		p.pos += 2
	case t.kind == tokIdent:
		return p.target(&Instruction{Op: OpcodeCall, Src: PseudoCall}, fixImm)
	}
	imm, err := p.imm32()
	return stmt{ins: Instruction{Op: OpcodeCall, Imm: int64(imm)}}, err
}

func (p *parser) kfunc() (stmt, error) {
	p.pos += 2
	ins := Instruction{Op: OpcodeCall, Src: PseudoKfuncCall}
	imm, err := p.imm32()
	ins.Imm = int64(imm)
	if err == nil && p.accept(",") {
		var n number
		if n, err = p.number(); err == nil {
			ins.Off, err = n.off16()
		}
	}
	if err == nil {
		err = p.expect(")")
	}
	return stmt{ins: ins}, err
}

// rawInsn parses ".insn op=N dst=N src=N off=N imm=N"; fields may come in
// any order and default to zero. imm is 64 bits for op=0x18 (lddw).
func (p *parser) rawInsn() (stmt, error) {
	fields := map[string]number{}
	for p.pos < len(p.toks) {
		key := p.next().text
		if err := p.expect("="); err != nil {
			return stmt{}, err
		}
		n, err := p.number()
		if err != nil {
			return stmt{}, err
		}
		if _, dup := fields[key]; dup {
			return stmt{}, fmt.Errorf(".insn: duplicate field %q", key)
		}
		fields[key] = n
	}
	var ins Instruction
	for key, n := range fields {
		if err := setRawField(&ins, key, n); err != nil {
			return stmt{}, err
		}
	}
	imm, ok := fields["imm"]
	if !ok {
		return stmt{ins: ins}, nil
	}
	var err error
	if ins.IsLDDW() {
		ins.Imm, err = imm.imm64()
	} else {
		var imm32 int32
		imm32, err = imm.imm32()
		ins.Imm = int64(imm32)
	}
	return stmt{ins: ins}, err
}

func setRawField(ins *Instruction, key string, n number) error {
	var v uint64
	var err error
	switch key {
	case "op":
		v, err = n.unsigned("op", math.MaxUint8)
		ins.Op = Opcode(v)
	case "dst", "src":
		v, err = n.unsigned(key, 15)
		if key == "dst" {
			ins.Dst = Register(v)
		} else {
			ins.Src = Register(v)
		}
	case "off":
		ins.Off, err = n.off16()
	case "imm": // depends on op; set by rawInsn
	default:
		err = fmt.Errorf(".insn: unknown field %q", key)
	}
	return err
}
