package progen

import (
	"fmt"

	"github.com/gobee-dev/gobee/isa"
)

// label names a position in the program, bound to the next instruction
// emitted after bind.
type label int

// fixupKind says which field of a branch receives the resolved distance.
type fixupKind int

const (
	fixOff fixupKind = iota // jumps: Off
	fixImm                  // calls and gotol: Imm
)

type fixup struct {
	seg, insn int
	target    label
	kind      fixupKind
}

// place is an instruction position: a segment and an index in it.
type place struct{ seg, insn int }

// builder assembles segments (one per subprogram) with symbolic branch
// targets, then concatenates them and resolves every target into a slot
// distance.
type builder struct {
	segs   []isa.Instructions
	labels []place // by label; insn -1 while unbound
	fixups []fixup
	cur    int // segment being written
}

// newSegment starts a segment and makes it current.
func (b *builder) newSegment() int {
	b.segs = append(b.segs, nil)
	b.cur = len(b.segs) - 1
	return b.cur
}

// emit appends an instruction to the current segment.
func (b *builder) emit(ins isa.Instruction) { b.segs[b.cur] = append(b.segs[b.cur], ins) }

// len returns the number of instructions in the current segment.
func (b *builder) len() int { return len(b.segs[b.cur]) }

// newLabel returns an unbound label.
func (b *builder) newLabel() label {
	b.labels = append(b.labels, place{-1, -1})
	return label(len(b.labels) - 1)
}

// bind binds l to the next instruction of the current segment.
func (b *builder) bind(l label) { b.labels[l] = place{b.cur, b.len()} }

// branch emits ins with its Off or Imm resolved to l later.
func (b *builder) branch(ins isa.Instruction, l label, kind fixupKind) {
	b.fixups = append(b.fixups, fixup{b.cur, b.len(), l, kind})
	b.emit(ins)
}

// link concatenates the segments in the given order and resolves branches.
func (b *builder) link(order []int) (isa.Instructions, error) {
	start := make([]int, len(b.segs)) // instruction index of each segment
	var out isa.Instructions
	for _, s := range order {
		start[s] = len(out)
		out = append(out, b.segs[s]...)
	}
	slots := out.SlotIndex()
	for _, f := range b.fixups {
		to := b.labels[f.target]
		if to.insn < 0 {
			return nil, fmt.Errorf("progen: label %d never bound", f.target)
		}
		from := start[f.seg] + f.insn
		dist := slots[start[to.seg]+to.insn] - slots[from] - 1
		switch f.kind {
		case fixOff:
			if dist < -1<<15 || dist >= 1<<15 {
				return nil, fmt.Errorf("progen: jump at %d too long (%d)", from, dist)
			}
			out[from].Off = int16(dist)
		case fixImm:
			out[from].Imm = int64(dist)
		}
	}
	return out, nil
}
