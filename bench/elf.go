package bench

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gobee-dev/gobee/isa"
)

// This file is a deliberately small loader for the -DBENCH_UBPF builds of
// testdata/bench: one .text section whose first function is `entry`,
// bpf-to-bpf calls already resolved by clang as pc-relative offsets, and at
// most R_BPF_64_64 relocations against map symbols. The general ELF loader
// belongs to package loader.

// Relocation types of the BPF ELF ABI (llvm's ELFRelocs/BPF.def).
const (
	relBPF64_64 = 1 // lddw imm64 = symbol address
	relBPF64_32 = 10
)

const relEntrySize = 16 // sizeof(Elf64_Rel)

// Errors returned by loadUBPF.
var (
	errNoEntry      = errors.New("no function symbol `entry` in .text")
	errEntryNotZero = errors.New("`entry` is not at offset 0 of .text")
	errBadReloc     = errors.New("unsupported relocation")
	errBadCall      = errors.New("bpf-to-bpf call does not land on a function in .text")
)

// loadUBPF reads a -DBENCH_UBPF object and returns its .text as decoded
// instructions, entry first, subprograms following at the offsets clang
// gave them. Each lddw that references a symbol named in handles gets that
// handle as its 64-bit immediate (src stays 0, so it is a plain constant the
// harness's helpers recognise).
func loadUBPF(path string, handles map[string]int64) (isa.Instructions, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	insns, err := textInstructions(f, handles)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return insns, nil
}

// textInstructions decodes .text of f, applies its relocations and checks
// the call graph.
func textInstructions(f *elf.File, handles map[string]int64) (isa.Instructions, error) {
	if f.Machine != elf.EM_BPF {
		return nil, fmt.Errorf("machine %v, want EM_BPF", f.Machine)
	}
	text := f.Section(".text")
	if text == nil {
		return nil, errors.New("no .text section")
	}
	raw, err := text.Data()
	if err != nil {
		return nil, fmt.Errorf("read .text: %w", err)
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("read symbols: %w", err)
	}
	starts, err := functionStarts(f, syms, text)
	if err != nil {
		return nil, err
	}
	insns, err := isa.Decode(raw, binary.LittleEndian)
	if err != nil {
		return nil, fmt.Errorf("decode .text: %w", err)
	}
	if err := applyRelocations(f, syms, insns, handles); err != nil {
		return nil, err
	}
	if err := checkCalls(insns, starts); err != nil {
		return nil, err
	}
	return insns, nil
}

// functionStarts returns the slot indexes at which functions in text begin,
// and checks that `entry` is the first of them.
func functionStarts(f *elf.File, syms []elf.Symbol, text *elf.Section) (map[int]string, error) {
	starts := map[int]string{}
	entry := false
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || int(s.Section) >= len(f.Sections) || f.Sections[s.Section] != text {
			continue
		}
		starts[int(s.Value/isa.InstructionSize)] = s.Name
		if s.Name == "entry" {
			if s.Value != 0 {
				return nil, errEntryNotZero
			}
			entry = true
		}
	}
	if !entry {
		return nil, errNoEntry
	}
	return starts, nil
}

// applyRelocations resolves the R_BPF_64_64 relocations of .rel.text
// against handles. Any other relocation is an error.
func applyRelocations(f *elf.File, syms []elf.Symbol, insns isa.Instructions, handles map[string]int64) error {
	rel := f.Section(".rel.text")
	if rel == nil {
		return nil
	}
	data, err := rel.Data()
	if err != nil {
		return fmt.Errorf("read .rel.text: %w", err)
	}
	bySlot := slotToInsn(insns)
	for off := 0; off+relEntrySize <= len(data); off += relEntrySize {
		rOff := f.ByteOrder.Uint64(data[off:])
		info := f.ByteOrder.Uint64(data[off+8:])
		if err := relocate(insns, bySlot, syms, rOff, info, handles); err != nil {
			return fmt.Errorf(".rel.text entry %d: %w", off/relEntrySize, err)
		}
	}
	return nil
}

// relocate applies one relocation entry.
func relocate(insns isa.Instructions, bySlot map[int]int, syms []elf.Symbol, rOff, info uint64, handles map[string]int64) error {
	typ, symIdx := uint32(info), int(info>>32)
	if typ != relBPF64_64 {
		return fmt.Errorf("%w: type %d (R_BPF_64_32 is %d)", errBadReloc, typ, relBPF64_32)
	}
	if symIdx < 1 || symIdx > len(syms) {
		return fmt.Errorf("%w: symbol index %d out of range", errBadReloc, symIdx)
	}
	name := syms[symIdx-1].Name // f.Symbols omits the null symbol
	handle, ok := handles[name]
	if !ok {
		return fmt.Errorf("%w: no handle for symbol %q", errBadReloc, name)
	}
	i, ok := bySlot[int(rOff/isa.InstructionSize)]
	if !ok || rOff%isa.InstructionSize != 0 || !insns[i].IsLDDW() {
		return fmt.Errorf("%w: offset %#x against %q is not an lddw", errBadReloc, rOff, name)
	}
	insns[i].Imm = handle
	return nil
}

// checkCalls verifies that every bpf-to-bpf call lands on a function start,
// so the pc-relative offsets clang emitted are usable as they are.
func checkCalls(insns isa.Instructions, starts map[int]string) error {
	idx := insns.SlotIndex()
	for i, ins := range insns {
		if !ins.IsLocalCall() {
			continue
		}
		target := idx[i] + 1 + int(ins.Imm)
		if _, ok := starts[target]; !ok {
			return fmt.Errorf("%w: insn %d calls slot %d", errBadCall, idx[i], target)
		}
	}
	return nil
}

// slotToInsn maps slot indexes to instruction indexes.
func slotToInsn(insns isa.Instructions) map[int]int {
	m := make(map[int]int, len(insns))
	for i, slot := range insns.SlotIndex()[:len(insns)] {
		m[slot] = i
	}
	return m
}
