package loader

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"github.com/cilium/ebpf/btf"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/gobee-dev/gobee/maps"
)

const progsObj = "../testdata/loader/progs.o"

func mustLoad(t testing.TB, path string) *CollectionSpec {
	t.Helper()
	cs, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestLoadProgs(t *testing.T) {
	cs := mustLoad(t, progsObj)
	want := map[string]struct {
		typ    ProgType
		attach AttachType
		to     string
	}{
		"xdp_count":   {ProgXDP, AttachXDP, ""},
		"sock_len":    {ProgSocketFilter, AttachNone, ""},
		"tc_version":  {ProgSchedCLS, AttachNone, ""},
		"kprobe_open": {ProgKprobe, AttachNone, "do_sys_openat2"},
	}
	if len(cs.Programs) != len(want) {
		t.Errorf("got %d programs, want %d", len(cs.Programs), len(want))
	}
	for name, w := range want {
		p := cs.Programs[name]
		if p == nil {
			t.Fatalf("no program %s", name)
		}
		if p.Type != w.typ || p.AttachType != w.attach || p.AttachTo != w.to || p.License != "GPL" {
			t.Errorf("%s: %v %v %q %q", name, p.Type, p.AttachType, p.AttachTo, p.License)
		}
		if p.Funcs[0] != name {
			t.Errorf("%s: first function %q", name, p.Funcs[0])
		}
		if len(p.Lines) == 0 {
			t.Errorf("%s: no line info", name)
		}
	}
	// Subprograms linked in: xdp_count -> eth_proto, account -> mix.
	funcs := map[string]bool{}
	for _, f := range cs.Programs["xdp_count"].Funcs {
		funcs[f] = true
	}
	for _, f := range []string{"account", "mix", "eth_proto"} {
		if !funcs[f] {
			t.Errorf("xdp_count lacks subprogram %s (has %v)", f, cs.Programs["xdp_count"].Funcs)
		}
	}

	wantMaps := map[string]MapSpec{
		"legacy_counts": {Type: maps.Array, KeySize: 4, ValueSize: 8, MaxEntries: 4},
		"proto_bytes":   {Type: maps.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 64},
		"stats":         {Type: maps.Array, KeySize: 4, ValueSize: 8, MaxEntries: 8},
		".rodata":       {Type: maps.Array, KeySize: 4, ValueSize: 6, MaxEntries: 1, Flags: maps.FlagRdonlyProg, Frozen: true},
		".data":         {Type: maps.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1},
		".bss":          {Type: maps.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1},
		".data.custom":  {Type: maps.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1},
		".kconfig":      {Type: maps.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1, Flags: maps.FlagRdonlyProg, Frozen: true},
	}
	for name, w := range wantMaps {
		m := cs.Maps[name]
		if m == nil {
			t.Errorf("no map %s", name)
			continue
		}
		if m.Type != w.Type || m.KeySize != w.KeySize || m.ValueSize != w.ValueSize ||
			m.MaxEntries != w.MaxEntries || m.Flags != w.Flags || m.Frozen != w.Frozen {
			t.Errorf("map %s: %+v, want %+v", name, *m, w)
		}
	}
	if c := cs.Maps[".data"].Contents; binary.LittleEndian.Uint64(c) != 0x1234 {
		t.Errorf(".data contents %x", c)
	}
	if c := cs.Maps[".data.custom"].Contents; binary.LittleEndian.Uint32(c) != 7 {
		t.Errorf(".data.custom contents %x", c)
	}
	if c := cs.Maps[".bss"].Contents; !bytes.Equal(c, make([]byte, 8)) {
		t.Errorf(".bss contents %x", c)
	}
	if c := cs.Maps[".rodata"].Contents; binary.LittleEndian.Uint32(c) != 20 {
		t.Errorf(".rodata contents %x", c)
	}
	if c := cs.Maps[".kconfig"].Contents; uint64(binary.LittleEndian.Uint32(c)) != hostKernelVersion() {
		t.Errorf(".kconfig contents %x", c)
	}

	// Map references of tc_version: legacy map (fd), stats (fd), .kconfig (value).
	kinds := map[string]RefKind{}
	for _, r := range cs.Programs["tc_version"].MapRefs {
		kinds[r.Map] = r.Kind
		if !cs.Programs["tc_version"].Instructions[r.Index].IsLDDW() {
			t.Errorf("map ref %+v is not an lddw", r)
		}
	}
	if kinds["legacy_counts"] != RefFD || kinds["stats"] != RefFD || kinds[".kconfig"] != RefValue {
		t.Errorf("tc_version map refs %v", kinds)
	}
}

// TestInstructionCounts compares each function's instruction count with
// llvm-objdump's disassembly of the object.
func TestInstructionCounts(t *testing.T) {
	objdump, err := exec.LookPath("llvm-objdump-19")
	if err != nil {
		if objdump, err = exec.LookPath("llvm-objdump"); err != nil {
			t.Skip("no llvm-objdump")
		}
	}
	out, err := exec.Command(objdump, "-d", "--no-show-raw-insn", progsObj).Output()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	sym := regexp.MustCompile(`^[0-9a-f]+ <([^>]+)>:$`)
	insn := regexp.MustCompile(`^\s+[0-9a-f]+:\s`)
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := sym.FindStringSubmatch(line); m != nil {
			cur = m[1]
			continue
		}
		if cur != "" && insn.MatchString(line) {
			counts[cur]++
		}
	}
	cs := mustLoad(t, progsObj)
	checked := 0
	for name, p := range cs.Programs {
		starts := make([]int, 0, len(p.Funcs))
		for i := range p.Funcs {
			starts = append(starts, i)
		}
		for _, s := range starts {
			end := len(p.Instructions)
			for _, o := range starts {
				if o > s && o < end {
					end = o
				}
			}
			fn := p.Funcs[s]
			if counts[fn] != end-s {
				t.Errorf("%s: function %s has %d instructions, llvm-objdump %d", name, fn, end-s, counts[fn])
			}
			checked++
		}
	}
	if checked < 6 {
		t.Errorf("only %d functions checked", checked)
	}
}

func TestBadInput(t *testing.T) {
	data, err := os.ReadFile(progsObj)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"empty.o", nil},
		{"text.o", []byte("this is not an ELF file")},
		{"truncated.o", data[:len(data)/3]},
		{"header.o", data[:64]},
	} {
		_, err := Load(write(c.name, c.data))
		if err == nil || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// A program in a section no table row matches.
	if _, err := Load("../testdata/loader/badsec.o"); !errors.Is(err, ErrUnknownSection) ||
		!strings.Contains(err.Error(), "weird_section") {
		t.Errorf("unknown section: %v", err)
	}
	// Missing file.
	if _, err := Load(dir + "/missing.o"); err == nil {
		t.Error("missing file loaded")
	}
}

// fuzzMinimizeTime bounds the fuzzing engine's minimization of each new
// FuzzLoad input when -test.fuzzminimizetime is not given.
//
// Why: whenever a mutant of a seed widens coverage, the engine minimizes
// it before counting it as "interesting", for up to -fuzzminimizetime
// (default 60s). The seeds are whole ELF objects (3-70 KB), and byte-level
// minimization (internal/fuzz minimizeBytes) tries O(n²) candidates —
// each one a full run plus a copy of the coverage counters of every
// instrumented package (cilium/ebpf included), some 20k runs/s here. An
// ELF object barely shrinks (its section header table sits at the end),
// so every minimization runs to its time limit, and the engine reports the
// minimization's runs only when it ends. The first new input, found after
// a handful of runs, thus kept the worker busy (>100% CPU, single-digit
// "execs") for the whole of a 30s -fuzztime; killing the worker ended the
// minimization and the counter jumped. Loading itself was never slow.
const fuzzMinimizeTime = "1s"

// boundFuzzMinimization sets -test.fuzzminimizetime to fuzzMinimizeTime
// when fuzzing and the flag was not set explicitly. The coordinator
// process reads the flag in f.Fuzz and passes the bound to its workers.
func boundFuzzMinimization(f *testing.F) {
	fz := flag.Lookup("test.fuzz")
	if fz == nil || fz.Value.String() == "" {
		return
	}
	set := false
	flag.Visit(func(fl *flag.Flag) {
		if fl.Name == "test.fuzzminimizetime" {
			set = true
		}
	})
	if set {
		return
	}
	if err := flag.Set("test.fuzzminimizetime", fuzzMinimizeTime); err != nil {
		f.Logf("bounding fuzz minimization: %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	boundFuzzMinimization(f)
	for _, p := range []string{progsObj, "../testdata/loader/sections.o", "../testdata/loader/badsec.o"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Parse the kernel's BTF once per fuzz worker: reparsing it for every
	// input that carries CO-RE relocations made the fuzzer crawl.
	opts := Options{}
	if spec, err := btf.LoadKernelSpec(); err == nil {
		opts.KernelBTF = spec
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := LoadReaderWith(bytes.NewReader(b), &opts)
		if err != nil {
			return
		}
		ms := map[string]maps.Map{}
		for _, p := range cs.Programs {
			_, _ = Link(p, ms)
		}
	})
}
