package loader

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/gobee-dev/gobee/progtype"
)

// CO-RE in gobee.
//
// Every relocation is resolved against one of two targets, chosen by the
// name of its local type (flavour suffixes "___x" stripped):
//
//   - gobee's own context BTF (Options.ContextBTF, by default
//     progtype.ContextBTF: struct __sk_buff, xdp_md, bpf_sock, ...,
//     enum xdp_action, ...) when it defines a type of that name. gobee
//     runs the program, so the layouts gobee implements are the truth for
//     those types, and no kernel is needed;
//   - otherwise the kernel's BTF: Options.KernelBTF, else the file named by
//     Options.KernelBTFPath, else the running kernel's DefaultKernelBTF.
//     It is only loaded when some relocation needs it.
//
// A relocation that matches nothing is "poisoned" by cilium/ebpf as libbpf
// does: its instruction becomes a call to helper 0xbad2310 (or an lddw of
// that constant into r10). The kernel accepts such a program as long as
// the verifier never reaches the poisoned instruction (typically code
// guarded by bpf_core_field_exists) and otherwise refuses the load with
// "invalid func unknown#195896080". gobee does the same at load time: a
// constant-propagating reachability pass over the program finds the
// poisoned instructions that can run and turns the first one into a load
// error naming the program, instruction, relocation kind and type/field
// (ErrCOREPoisoned); unreachable ones are replaced by no-ops, since gobee's
// interpreter refuses unknown helpers even in dead code.

// ErrCOREPoisoned is the error (wrapped in *Error, and wrapping ErrCORE)
// for a reachable instruction whose CO-RE relocation matched nothing.
var ErrCOREPoisoned = fmt.Errorf("%w: no matching type or field in the target BTF", ErrCORE)

// coreRelo is one relocation with what the loader knows about it.
type coreRelo struct {
	idx   int // instruction index
	relo  *btf.CORERelocation
	kind  string
	local btf.Type // nil if unknown
	acc   []int
}

var reloString = regexp.MustCompile(`^CORERelocation\(([a-z_0-9]+), .*\[([0-9:]*)\], local_id=([0-9]+)\)$`)

// describe parses what cilium/ebpf exposes of a relocation: its String.
func (l *linker) describe(idx int, r *btf.CORERelocation) coreRelo {
	cr := coreRelo{idx: idx, relo: r, kind: "unknown"}
	sm := reloString.FindStringSubmatch(r.String())
	if sm == nil {
		return cr
	}
	cr.kind = sm[1]
	for _, p := range strings.Split(sm[2], ":") {
		if n, err := strconv.Atoi(p); err == nil {
			cr.acc = append(cr.acc, n)
		}
	}
	if id, err := strconv.ParseUint(sm[3], 10, 32); err == nil && l.ccs.Types != nil {
		if t, err := l.ccs.Types.TypeByID(btf.TypeID(id)); err == nil {
			cr.local = t
		}
	}
	return cr
}

// essentialName is a type's name without a libbpf flavour suffix.
func essentialName(t btf.Type) string {
	n := t.TypeName()
	if i := strings.Index(n, "___"); i > 0 {
		n = n[:i]
	}
	return n
}

func kindWord(t btf.Type) string {
	switch t.(type) {
	case *btf.Struct:
		return "struct "
	case *btf.Union:
		return "union "
	case *btf.Enum:
		return "enum "
	}
	return ""
}

// target names the type, field or enum value a relocation refers to:
// "struct __sk_buff.cb[2]", "enum xdp_action::XDP_PASS", "struct foo".
func (cr *coreRelo) target() string {
	if cr.local == nil {
		return cr.relo.String()
	}
	t := btf.UnderlyingType(cr.local)
	var b strings.Builder
	b.WriteString(kindWord(t) + t.TypeName())
	switch cr.kind {
	case "enumval_exists", "enumval_value":
		if e, ok := t.(*btf.Enum); ok && len(cr.acc) == 1 && cr.acc[0] < len(e.Values) {
			b.WriteString("::" + e.Values[cr.acc[0]].Name)
		}
		return b.String()
	case "byte_off", "byte_sz", "field_exists", "signed", "lshift_u64", "rshift_u64":
	default:
		return b.String()
	}
	for i, a := range cr.acc {
		if i == 0 {
			if a != 0 {
				fmt.Fprintf(&b, "[%d]", a)
			}
			continue
		}
		switch u := btf.UnderlyingType(t).(type) {
		case *btf.Struct:
			if a >= len(u.Members) {
				return b.String()
			}
			if n := u.Members[a].Name; n != "" {
				b.WriteString("." + n)
			}
			t = u.Members[a].Type
		case *btf.Union:
			if a >= len(u.Members) {
				return b.String()
			}
			if n := u.Members[a].Name; n != "" {
				b.WriteString("." + n)
			}
			t = u.Members[a].Type
		case *btf.Array:
			fmt.Fprintf(&b, "[%d]", a)
			t = u.Type
		default:
			return b.String()
		}
	}
	return b.String()
}

func (l *linker) contextTargets() ([]*btf.Spec, error) {
	if l.opts.ContextBTF != nil {
		return l.opts.ContextBTF, nil
	}
	s, err := progtype.ContextBTF()
	if err != nil {
		return nil, err
	}
	return []*btf.Spec{s}, nil
}

// kernelTarget is the BTF for types gobee's context BTF does not define.
func (l *linker) kernelTarget() (*btf.Spec, string, error) {
	if l.opts.KernelBTF != nil {
		return l.opts.KernelBTF, "Options.KernelBTF", nil
	}
	path := l.opts.KernelBTFPath
	if path == "" {
		path = DefaultKernelBTF
	}
	s, err := loadBTFCached(path)
	if err != nil {
		return nil, path, fmt.Errorf("target BTF %s: %w", path, err)
	}
	return s, path, nil
}

// hasType reports whether any spec defines a type named name.
func hasType(specs []*btf.Spec, name string) bool {
	for _, s := range specs {
		if ts, err := s.AnyTypesByName(name); err == nil && len(ts) > 0 {
			return true
		}
	}
	return false
}

// applyCORE resolves the CO-RE relocations of insns in place.
func (l *linker) applyCORE(insns asm.Instructions, bo binary.ByteOrder, errAt func(int, error) error) error {
	var ctxRelos, kernRelos []coreRelo
	var ctx []*btf.Spec
	for i := range insns {
		r := btf.CORERelocationMetadata(&insns[i])
		if r == nil {
			continue
		}
		if ctx == nil {
			var err error
			if ctx, err = l.contextTargets(); err != nil {
				return errAt(i, fmt.Errorf("%w: gobee context BTF: %v", ErrCORE, err))
			}
		}
		cr := l.describe(i, r)
		if cr.kind == "local_type_id" || (cr.local != nil && hasType(ctx, essentialName(btf.UnderlyingType(cr.local)))) {
			ctxRelos = append(ctxRelos, cr)
		} else {
			kernRelos = append(kernRelos, cr)
		}
	}
	if len(ctxRelos)+len(kernRelos) == 0 {
		return nil
	}
	poisoned := map[int]coreRelo{}
	apply := func(group []coreRelo, targets []*btf.Spec, what string) error {
		if len(group) == 0 {
			return nil
		}
		relos := make([]*btf.CORERelocation, len(group))
		for k, cr := range group {
			relos[k] = cr.relo
		}
		b, err := btf.NewBuilder(nil, nil)
		if err != nil {
			return err
		}
		fixups, err := btf.CORERelocate(relos, targets, bo, b.Add)
		if err != nil {
			return errAt(group[0].idx, fmt.Errorf("%w: against %s: %v", ErrCORE, what, err))
		}
		for k, f := range fixups {
			cr := group[k]
			if err := f.Apply(&insns[cr.idx]); err != nil {
				return errAt(cr.idx, fmt.Errorf("%w: %s of %s against %s: %v", ErrCORE, cr.kind, cr.target(), what, err))
			}
			if isPoisoned(&insns[cr.idx]) {
				poisoned[cr.idx] = cr
			}
		}
		return nil
	}
	if err := apply(ctxRelos, ctx, "gobee's context BTF"); err != nil {
		return err
	}
	if len(kernRelos) > 0 {
		k, what, err := l.kernelTarget()
		if err != nil {
			cr := kernRelos[0]
			return errAt(cr.idx, fmt.Errorf("%w: %s of %s: %v", ErrCORE, cr.kind, cr.target(), err))
		}
		if err := apply(kernRelos, []*btf.Spec{k}, what); err != nil {
			return err
		}
	}
	if len(poisoned) == 0 {
		return nil
	}
	live := reachable(insns)
	first := -1
	for i := range insns {
		if _, ok := poisoned[i]; ok && live[i] {
			first = i
			break
		}
	}
	if first >= 0 {
		cr := poisoned[first]
		return errAt(first, fmt.Errorf("%w: %s of %s (the kernel refuses this program: invalid func unknown#%d)",
			ErrCOREPoisoned, cr.kind, cr.target(), btf.COREBadRelocationSentinel))
	}
	for i := range poisoned {
		// Dead code: make it something gobee's interpreter accepts.
		if insns[i].OpCode.IsDWordLoad() {
			insns[i] = asm.LoadImm(asm.R0, 0, asm.DWord).WithMetadata(insns[i].Metadata)
		} else {
			insns[i] = asm.Instruction{OpCode: asm.OpCode(asm.JumpClass).SetJumpOp(asm.Ja)}.WithMetadata(insns[i].Metadata)
		}
	}
	return nil
}

func isPoisoned(ins *asm.Instruction) bool {
	if ins.OpCode.IsDWordLoad() {
		return ins.Dst == asm.R10 && ins.Constant == btf.COREBadRelocationSentinel
	}
	return ins.IsBuiltinCall() && ins.Constant == btf.COREBadRelocationSentinel
}

type regState struct {
	known [11]bool
	val   [11]int64
}

func (s *regState) set(r asm.Register, v int64) {
	if r < 11 {
		s.known[r], s.val[r] = true, v
	}
}

func (s *regState) clobber(r asm.Register) {
	if r < 11 {
		s.known[r] = false
	}
}

// join merges o into s; it reports whether s changed.
func (s *regState) join(o *regState) bool {
	changed := false
	for r := range s.known {
		if s.known[r] && (!o.known[r] || o.val[r] != s.val[r]) {
			s.known[r] = false
			changed = true
		}
	}
	return changed
}

// reachable marks the instructions that can run, from the entry and from
// every function start, with registers that hold constants (CO-RE results
// and other immediates) propagated so that branches on them are decided,
// as the kernel's verifier decides them.
func reachable(insns asm.Instructions) []bool {
	n := len(insns)
	slotOf := make([]int, n+1)
	idxOf := map[int]int{}
	s := 0
	for i := range insns {
		slotOf[i] = s
		idxOf[s] = i
		s += int(insns[i].Size() / asm.InstructionSize)
	}
	slotOf[n] = s
	states := make([]*regState, n)
	var work []int
	push := func(i int, st *regState) {
		if i < 0 || i >= n {
			return
		}
		if states[i] == nil {
			c := *st
			states[i] = &c
			work = append(work, i)
		} else if states[i].join(st) {
			work = append(work, i)
		}
	}
	for i := range insns {
		if i == 0 || insns[i].Symbol() != "" {
			push(i, &regState{})
		}
	}
	jumpTo := func(i int, off int64) int {
		if t, ok := idxOf[slotOf[i]+1+int(off)]; ok {
			return t
		}
		return -1
	}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		st := *states[i]
		ins := insns[i]
		op := ins.OpCode
		switch cls := op.Class(); {
		case cls == asm.ALUClass || cls == asm.ALU64Class:
			alu(&st, ins, cls == asm.ALU64Class)
		case op.IsDWordLoad():
			if ins.Src == 0 && ins.Reference() == "" {
				st.set(ins.Dst, ins.Constant)
			} else {
				st.clobber(ins.Dst)
			}
		case cls == asm.LdXClass:
			st.clobber(ins.Dst)
		case cls == asm.LdClass: // ld_abs / ld_ind
			for r := asm.R0; r <= asm.R5; r++ {
				st.clobber(r)
			}
		case cls == asm.StXClass && op.Mode() == asm.AtomicMode:
			st.clobber(ins.Src)
			st.clobber(asm.R0)
		case cls == asm.JumpClass || cls == asm.Jump32Class:
			jop := op.JumpOp()
			switch jop {
			case asm.Exit:
				continue
			case asm.Call:
				for r := asm.R0; r <= asm.R5; r++ {
					st.clobber(r)
				}
			case asm.Ja:
				off := int64(ins.Offset)
				if cls == asm.Jump32Class {
					off = ins.Constant
				}
				push(jumpTo(i, off), &st)
				continue
			default:
				taken, decided := decide(&st, ins, cls == asm.Jump32Class)
				if !decided || taken {
					push(jumpTo(i, int64(ins.Offset)), &st)
				}
				if decided && taken {
					continue
				}
			}
		}
		push(i+1, &st)
	}
	live := make([]bool, n)
	for i := range states {
		live[i] = states[i] != nil
	}
	return live
}

func alu(st *regState, ins asm.Instruction, is64 bool) {
	op := ins.OpCode
	d := ins.Dst
	var src int64
	srcKnown := false
	if op.Source() == asm.ImmSource {
		src, srcKnown = ins.Constant, true
	} else if ins.Src < 11 && st.known[ins.Src] {
		src, srcKnown = st.val[ins.Src], true
	}
	trunc := func(v int64) int64 {
		if is64 {
			return v
		}
		return int64(uint32(v))
	}
	aop := op.ALUOp()
	if aop == asm.Mov && ins.Offset == 0 {
		if srcKnown {
			st.set(d, trunc(src))
		} else {
			st.clobber(d)
		}
		return
	}
	if d >= 11 || !st.known[d] || !srcKnown || ins.Offset != 0 {
		st.clobber(d)
		return
	}
	v := st.val[d]
	switch aop {
	case asm.Add:
		v += src
	case asm.Sub:
		v -= src
	case asm.And:
		v &= src
	case asm.Or:
		v |= src
	case asm.Xor:
		v ^= src
	case asm.LSh:
		v <<= uint64(src) & 63
	case asm.RSh:
		if is64 {
			v = int64(uint64(v) >> (uint64(src) & 63))
		} else {
			v = int64(uint32(v) >> (uint64(src) & 31))
		}
	default:
		st.clobber(d)
		return
	}
	st.set(d, trunc(v))
}

// decide evaluates a conditional jump whose operands are known.
func decide(st *regState, ins asm.Instruction, is32 bool) (taken, decided bool) {
	d := ins.Dst
	if d >= 11 || !st.known[d] {
		return false, false
	}
	a := st.val[d]
	var b int64
	if ins.OpCode.Source() == asm.ImmSource {
		b = ins.Constant
	} else if ins.Src < 11 && st.known[ins.Src] {
		b = st.val[ins.Src]
	} else {
		return false, false
	}
	if is32 {
		a, b = int64(int32(a)), int64(int32(b))
	}
	ua, ub := uint64(a), uint64(b)
	if is32 {
		ua, ub = uint64(uint32(a)), uint64(uint32(b))
	}
	switch ins.OpCode.JumpOp() {
	case asm.JEq:
		return ua == ub, true
	case asm.JNE:
		return ua != ub, true
	case asm.JGT:
		return ua > ub, true
	case asm.JGE:
		return ua >= ub, true
	case asm.JLT:
		return ua < ub, true
	case asm.JLE:
		return ua <= ub, true
	case asm.JSGT:
		return a > b, true
	case asm.JSGE:
		return a >= b, true
	case asm.JSLT:
		return a < b, true
	case asm.JSLE:
		return a <= b, true
	case asm.JSet:
		return ua&ub != 0, true
	}
	return false, false
}
