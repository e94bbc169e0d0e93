package difftest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/gobee-dev/gobee/internal/progen"
	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/kernel"
)

// testCase is one generated program with its input.
type testCase struct {
	seed  uint64
	cfg   progen.Config
	where kernel.Memory
	insns isa.Instructions
	mem   []byte
}

// seedStream is the second PCG word; with it a seed alone names a case.
const seedStream = 0x9e3779b97f4a7c15

// memSizes are the memory sizes cases use; 0 stands for a random size.
// Below 80 bytes there is no register dump area.
var memSizes = []int{128, 128, 128, 128, 80, 64, 16, 8, 0}

// newCase derives a program, its configuration and its memory from seed.
// Half the programs use atomics on the memory, which the kernel allows
// only in a map value, so those run with the memory in a map.
func newCase(seed uint64) testCase {
	rng := rand.New(rand.NewPCG(seed, seedStream))
	cfg := progen.Config{
		MemSize:    memSizes[rng.IntN(len(memSizes))],
		Size:       8 + rng.IntN(200),
		MemAtomics: rng.IntN(2) == 0,
	}
	if cfg.MemSize == 0 {
		cfg.MemSize = 8 + rng.IntN(256)
	}
	where := kernel.InPacket
	if cfg.MemAtomics {
		where = kernel.InMapValue
	}
	insns := progen.Generate(rng, cfg)
	mem := make([]byte, cfg.MemSize)
	for i := range mem {
		mem[i] = byte(rng.Uint32())
	}
	return testCase{seed: seed, cfg: cfg, where: where, insns: insns, mem: mem}
}

// outcome is what one engine made of a case.
type outcome struct {
	r0  uint64
	mem []byte
	err error
}

// runKernel runs the case in the kernel.
func (c *testCase) runKernel() outcome {
	r0, mem, err := kernel.RunSubprogramIn(c.where, c.insns, c.mem)
	return outcome{r0, mem, err}
}

// interpBudget bounds a run: generated loops are short, so a program that
// runs this long has gone wrong.
const interpBudget = 1 << 24

// runInterp runs the case in gobee's interpreter with the same calling
// convention: r1 = the memory, r2 = its length.
func (c *testCase) runInterp() outcome {
	p, err := interp.Load(c.insns, &interp.Options{Budget: interpBudget})
	if err != nil {
		return outcome{err: fmt.Errorf("interp load: %w", err)}
	}
	mem := bytes.Clone(c.mem)
	r0, err := p.Run(&interp.Input{
		Args:    [5]uint64{interp.Addr(mem), uint64(len(mem))},
		Regions: []interp.Region{{Mem: mem, Writable: true}},
	})
	if err != nil {
		return outcome{err: fmt.Errorf("interp run: %w", err)}
	}
	return outcome{r0: r0, mem: mem}
}

// rejected reports whether the kernel's verifier refused the program.
func (o outcome) rejected() (*kernel.VerifierError, bool) {
	var ve *kernel.VerifierError
	return ve, errors.As(o.err, &ve)
}

// diff describes how got (gobee) differs from want (the kernel), or
// returns "" when they agree.
func diff(want, got outcome) string {
	var b strings.Builder
	if got.err != nil {
		fmt.Fprintf(&b, "gobee failed: %v\n", got.err)
		return b.String()
	}
	if want.r0 != got.r0 {
		fmt.Fprintf(&b, "r0: kernel %#x, gobee %#x\n", want.r0, got.r0)
	}
	for i := range want.mem {
		if i >= len(got.mem) || want.mem[i] != got.mem[i] {
			fmt.Fprintf(&b, "mem differs first at byte %d: kernel\n%s gobee\n%s", i, hexdump(want.mem), hexdump(got.mem))
			break
		}
	}
	return b.String()
}

// report describes a case for a failure message: how to reproduce it,
// its input and its disassembly.
func (c *testCase) report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d (reproduce: go test ./difftest -run 'Differential$' -difftest.seed=%d -difftest.n=1)\n", c.seed, c.seed)
	fmt.Fprintf(&b, "config %+v, memory in %v\n", c.cfg, c.where)
	if w := c.cfg.WorkSize(); w < len(c.mem) {
		fmt.Fprintf(&b, "bytes %d.. receive r1–r8 and the fp-8 accumulator at exit\n", w)
	}
	fmt.Fprintf(&b, "input mem:\n%s", hexdump(c.mem))
	b.WriteString("program:\n")
	b.WriteString(disassemble(c.insns))
	return b.String()
}

// disassemble renders insns with their slot numbers, falling back to the
// raw fields when the disassembler gives nothing.
func disassemble(insns isa.Instructions) string {
	var b strings.Builder
	lines := strings.Split(strings.TrimRight(isa.Disassemble(insns), "\n"), "\n")
	slots := insns.SlotIndex()
	for i, ins := range insns {
		if len(lines) == len(insns) && lines[i] != "" {
			fmt.Fprintf(&b, "%5d: %s\n", slots[i], lines[i])
		} else {
			fmt.Fprintf(&b, "%5d: %+v\n", slots[i], ins)
		}
	}
	return b.String()
}

// hexdump formats memory 16 bytes to a line.
func hexdump(m []byte) string {
	var b strings.Builder
	for i := 0; i < len(m); i += 16 {
		fmt.Fprintf(&b, "\t%04x: % x\n", i, m[i:min(i+16, len(m))])
	}
	return b.String()
}
