package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/objects"
	"github.com/gobee-dev/gobee/progtype"
)

func init() {
	register("prog", "load, show, list, dump and pin programs like bpftool prog", runProg)
}

const progUsage = `usage: gobee [-j|-p] [--pin-root DIR] prog COMMAND
  prog load OBJ PATH [--program NAME]   load OBJ and pin one program at PATH
  prog show|list [PROG]                 show pinned programs (or one)
  prog dump xlated PROG                 print the instructions gobee runs
  prog pin PROG PATH                    pin a program at another path
PROG := pinned PATH | id ID | OBJ --program NAME

Programs are per process: a pin records the object the program came
from, and every gobee invocation that opens the pin loads the program
again from that object (with its own ID and statistics).
`

func sortStrings(s []string) []string { sort.Strings(s); return s }

func progNames(m map[string]*objects.ProgramSpec) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	return sortStrings(out)
}

type progCmd struct {
	stdout, stderr io.Writer
	reg            *objects.Registry
	colls          []*objects.Collection
}

func (c *progCmd) fail(format string, args ...any) int {
	return cliFail(c.stdout, c.stderr, format, args...)
}

func runProg(args []string, stdout, stderr io.Writer) int {
	args, err := stripGlobalFlags(args, &global)
	if err != nil {
		return cliFail(stdout, stderr, "%v", err)
	}
	if len(args) == 0 || args[0] == "help" {
		fmt.Fprint(stderr, progUsage)
		return 2
	}
	c := &progCmd{stdout: stdout, stderr: stderr, reg: registryFor(pinRoot())}
	defer func() {
		for _, coll := range c.colls {
			coll.Close()
		}
	}()
	switch sub, rest := args[0], args[1:]; {
	case isPrefix(sub, "load"):
		return c.load(rest)
	case isPrefix(sub, "show"), isPrefix(sub, "list"):
		return c.show(rest)
	case isPrefix(sub, "dump"):
		if len(rest) == 0 || !isPrefix(rest[0], "xlated") {
			return c.fail("only 'prog dump xlated' is supported (gobee has no JIT image)")
		}
		return c.dumpXlated(rest[1:])
	case isPrefix(sub, "pin"):
		return c.pin(rest)
	}
	return c.fail("unknown prog command %q\n%s", args[0], progUsage)
}

// loadObject loads OBJ into the command's registry and returns the
// program called name (or the only/first one).
func (c *progCmd) loadObject(obj, name string) (*objects.Program, error) {
	spec, err := objects.LoadCollectionSpec(obj)
	if err != nil {
		return nil, err
	}
	names := progNames(spec.Programs)
	if len(names) == 0 {
		return nil, fmt.Errorf("%s has no programs", obj)
	}
	if name == "" {
		name = names[0] // as bpftool prog load: the first program
	}
	if spec.Programs[name] == nil {
		return nil, fmt.Errorf("%s: no program %q (has %s)", obj, name, strings.Join(names, ", "))
	}
	coll, err := c.reg.NewCollection(spec)
	if err != nil {
		return nil, err
	}
	c.colls = append(c.colls, coll)
	return coll.Programs[name], nil
}

// openProg resolves PROG (pinned PATH | id ID | OBJ --program NAME) and
// returns the rest of the arguments.
func (c *progCmd) openProg(args []string) (*objects.Program, []string, error) {
	if len(args) == 0 {
		return nil, nil, fmt.Errorf("expected a program: pinned PATH, id ID, or OBJ --program NAME")
	}
	switch args[0] {
	case "pinned":
		if len(args) < 2 {
			return nil, nil, fmt.Errorf("pinned needs a PATH")
		}
		p, err := c.reg.LoadPinnedProgram(args[1])
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %s", args[1], detail(err))
		}
		return p, args[2:], nil
	case "id":
		if len(args) < 2 {
			return nil, nil, fmt.Errorf("id needs a number")
		}
		id, err := strconv.ParseUint(args[1], 0, 32)
		if err != nil {
			return nil, nil, fmt.Errorf("bad id %q", args[1])
		}
		p, err := c.reg.ProgramFromID(uint32(id))
		if err != nil {
			return nil, nil, fmt.Errorf("get by id (%d): %s (program IDs are per gobee process; use pinned PATH)", id, detail(err))
		}
		return p, args[2:], nil
	}
	fs := flag.NewFlagSet("prog", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	name := fs.String("program", "", "program `name` in the object")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if len(pos) == 0 {
		return nil, nil, fmt.Errorf("expected an object file")
	}
	if *name == "" {
		return nil, nil, fmt.Errorf("%s: missing --program NAME", pos[0])
	}
	p, err := c.loadObject(pos[0], *name)
	return p, pos[1:], err
}

// load is "prog load OBJ PATH [--program NAME]".
func (c *progCmd) load(args []string) int {
	fs := flag.NewFlagSet("prog load", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	name := fs.String("program", "", "program `name` to pin (default: the first)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 2 {
		return c.fail("usage: prog load OBJ PATH [--program NAME]")
	}
	p, err := c.loadObject(pos[0], *name)
	if err != nil {
		return c.fail("%v", err)
	}
	if err := p.Pin(pos[1]); err != nil {
		return c.fail("failed to pin program at %s: %s", pos[1], detail(err))
	}
	if global.json {
		writeJSON(c.stdout, nil)
	}
	return 0
}

// pin is "prog pin PROG PATH".
func (c *progCmd) pin(args []string) int {
	p, rest, err := c.openProg(args)
	if err != nil {
		return c.fail("%v", err)
	}
	defer p.Close()
	if len(rest) != 1 {
		return c.fail("usage: prog pin PROG PATH")
	}
	if err := p.Pin(rest[0]); err != nil {
		return c.fail("failed to pin program at %s: %s", rest[0], detail(err))
	}
	if global.json {
		writeJSON(c.stdout, nil)
	}
	return 0
}

// progJSON is bpftool's JSON of a program, with gobee's pinned paths.
type progJSON struct {
	ID        uint32   `json:"id"`
	Type      string   `json:"type"`
	Name      string   `json:"name"`
	Tag       string   `json:"tag"`
	GPL       bool     `json:"gpl_compatible"`
	RunTimeNs uint64   `json:"run_time_ns,omitempty"`
	RunCnt    uint64   `json:"run_cnt,omitempty"`
	LoadedAt  int64    `json:"loaded_at"`
	UID       int      `json:"uid"`
	Xlated    int      `json:"bytes_xlated"`
	Jited     bool     `json:"jited"`
	MapIDs    []uint32 `json:"map_ids,omitempty"`
	Pinned    []string `json:"pinned,omitempty"`
}

func describe(p *objects.Program, pinned string) (progJSON, error) {
	info, err := p.Info()
	if err != nil {
		return progJSON{}, err
	}
	id, _ := info.ID()
	cnt, _ := info.RunCount()
	rt, _ := info.Runtime()
	insns, _ := info.Instructions()
	ids, _ := info.MapIDs()
	j := progJSON{ID: id, Type: objects.ProgTypeOf(info.Type).String(), Name: info.Name, Tag: info.Tag, GPL: info.GPL,
		RunTimeNs: uint64(rt.Nanoseconds()), RunCnt: cnt, LoadedAt: info.LoadedAt.Unix(), UID: os.Getuid(),
		Xlated: insns.Slots() * isa.InstructionSize, MapIDs: ids}
	if pinned == "" {
		pinned = info.Pinned
	}
	if pinned != "" {
		j.Pinned = []string{pinned}
	}
	return j, nil
}

func (c *progCmd) printProg(j progJSON) {
	gpl := ""
	if j.GPL {
		gpl = "  gpl"
	}
	fmt.Fprintf(c.stdout, "%d: %s  name %s  tag %s%s", j.ID, j.Type, j.Name, j.Tag, gpl)
	if j.RunCnt > 0 {
		fmt.Fprintf(c.stdout, " run_time_ns %d run_cnt %d", j.RunTimeNs, j.RunCnt)
	}
	fmt.Fprintf(c.stdout, "\n\tloaded_at %s  uid %d\n", timeOf(j.LoadedAt), j.UID)
	fmt.Fprintf(c.stdout, "\txlated %dB  not jited\n", j.Xlated)
	if len(j.MapIDs) > 0 {
		ids := make([]string, len(j.MapIDs))
		for i, id := range j.MapIDs {
			ids[i] = fmt.Sprint(id)
		}
		fmt.Fprintf(c.stdout, "\tmap_ids %s\n", strings.Join(ids, ","))
	}
	for _, p := range j.Pinned {
		fmt.Fprintf(c.stdout, "\tpinned %s\n", p)
	}
}

// show is "prog show|list [PROG]": without PROG, every program pinned
// under the pin root (loaded again in this process, see progUsage).
func (c *progCmd) show(args []string) int {
	var list []progJSON
	if len(args) > 0 {
		p, rest, err := c.openProg(args)
		if err != nil {
			return c.fail("%v", err)
		}
		defer p.Close()
		if len(rest) > 0 {
			return c.fail("unexpected arguments %q", rest)
		}
		pinned := ""
		if args[0] == "pinned" {
			pinned = args[1]
			if !filepath.IsAbs(pinned) {
				pinned = filepath.Join(pinRoot(), pinned)
			}
		}
		j, err := describe(p, pinned)
		if err != nil {
			return c.fail("%v", err)
		}
		if global.json {
			writeJSON(c.stdout, j)
		} else {
			c.printProg(j)
		}
		return 0
	}
	paths, err := c.reg.PinnedPrograms()
	if err != nil {
		return c.fail("%v", err)
	}
	for _, path := range paths {
		p, err := c.reg.LoadPinnedProgram(path)
		if err != nil {
			fmt.Fprintf(c.stderr, "Warning: %s: %s\n", path, detail(err))
			continue
		}
		j, err := describe(p, path)
		p.Close()
		if err != nil {
			return c.fail("%v", err)
		}
		list = append(list, j)
	}
	if global.json {
		if list == nil {
			list = []progJSON{}
		}
		writeJSON(c.stdout, list)
		return 0
	}
	for _, j := range list {
		c.printProg(j)
	}
	return 0
}

// xlatedJSON is one instruction of "prog dump xlated" in JSON.
type xlatedJSON struct {
	PC     int    `json:"pc"`
	Code   string `json:"code"`
	Disasm string `json:"disasm"`
	Func   string `json:"func,omitempty"`
	Source string `json:"src,omitempty"`
}

// dumpXlated prints the instructions in bpftool's style:
//
//	0: (b7) r0 = 2
func (c *progCmd) dumpXlated(args []string) int {
	p, rest, err := c.openProg(args)
	if err != nil {
		return c.fail("%v", err)
	}
	defer p.Close()
	if len(rest) > 0 {
		return c.fail("unexpected arguments %q", rest)
	}
	info, err := p.Info()
	if err != nil {
		return c.fail("%v", err)
	}
	insns, _ := info.Instructions()
	ids, _ := info.MapIDs()
	spec := p.Spec()
	slots := insns.SlotIndex()
	var out []xlatedJSON
	for i, ins := range insns {
		x := xlatedJSON{PC: slots[i], Code: fmt.Sprintf("0x%02x", uint8(ins.Op)), Disasm: xlatedText(ins, ids)}
		if spec != nil {
			if f, ok := spec.Funcs[i]; ok {
				x.Func = f
			}
			if l, ok := spec.Lines[i]; ok {
				x.Source = strings.TrimSpace(l.Text)
			}
		}
		out = append(out, x)
	}
	if global.json {
		if out == nil {
			out = []xlatedJSON{}
		}
		writeJSON(c.stdout, out)
		return 0
	}
	for _, x := range out {
		if x.Func != "" {
			fmt.Fprintf(c.stdout, "%s:\n", x.Func)
		}
		if x.Source != "" {
			fmt.Fprintf(c.stdout, "; %s\n", x.Source)
		}
		fmt.Fprintf(c.stdout, "%4d: (%s) %s\n", x.PC, x.Code[2:], x.Disasm)
	}
	return 0
}

// xlatedText is gobee's disassembly with bpftool's renderings of map
// references and helper calls.
func xlatedText(ins isa.Instruction, mapIDs []uint32) string {
	switch {
	case ins.IsLDDW() && (ins.Src == isa.PseudoMapIdx || ins.Src == isa.PseudoMapIdxValue):
		idx := uint32(ins.Imm)
		id := fmt.Sprintf("idx:%d", idx)
		if int(idx) < len(mapIDs) {
			id = fmt.Sprintf("id:%d", mapIDs[idx])
		}
		if ins.Src == isa.PseudoMapIdx {
			return fmt.Sprintf("r%d = map[%s]", ins.Dst, id)
		}
		return fmt.Sprintf("r%d = map[%s][0]+%d", ins.Dst, id, uint32(uint64(ins.Imm)>>32))
	case ins.IsHelperCall():
		id := ins.Imm32()
		if n, ok := progtype.HelperNames[id]; ok {
			return fmt.Sprintf("call %s#%d", n, id)
		}
	}
	return ins.String()
}

func timeOf(unix int64) string {
	return time.Unix(unix, 0).Format("2006-01-02T15:04:05-0700")
}
