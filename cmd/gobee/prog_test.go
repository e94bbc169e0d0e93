package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestProgDumpXlated(t *testing.T) {
	out, errOut, code := runCLI(t, "prog", "dump", "xlated", nopObj, "--program", "nop")
	if code != 0 || !strings.Contains(out, "   0: (b4) w0 = 2\n   1: (95) exit\n") {
		t.Fatalf("exit %d, out %q, err %q", code, out, errOut)
	}
	out, _, code = runCLI(t, "prog", "dump", "xlated", "../../testdata/loader/progs.o", "--program", "xdp_count")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^   \d: \(18\) r1 = map\[id:\d+\]\[0\]\+0$`),
		regexp.MustCompile(`(?m)^  \d\d: \(85\) call bpf_map_lookup_elem#1$`),
		regexp.MustCompile(`(?m)^; packets\+\+;$`),
	} {
		if code != 0 || !want.MatchString(out) {
			t.Errorf("xdp_count listing lacks %v:\n%s", want, out)
		}
	}
	out, _, code = runCLI(t, "-j", "prog", "dump", "xlated", nopObj, "--program", "nop")
	var insns []struct {
		PC     int
		Disasm string
	}
	if code != 0 || json.Unmarshal([]byte(out), &insns) != nil || len(insns) != 2 || insns[1].Disasm != "exit" {
		t.Errorf("-j: exit %d, %q", code, out)
	}
	if _, errOut, code := runCLI(t, "prog", "dump", "xlated", nopObj); code == 0 || !strings.Contains(errOut, "missing --program NAME") {
		t.Errorf("missing program: exit %d, %q", code, errOut)
	}
}

func TestProgLoadShowPin(t *testing.T) {
	root := t.TempDir()
	if _, errOut, code := runCLI(t, "--pin-root", root, "prog", "load", nopObj, "nop"); code != 0 {
		t.Fatalf("load: %s", errOut)
	}
	if _, errOut, code := runCLI(t, "--pin-root", root, "prog", "pin", "pinned", "nop", "nop2"); code != 0 {
		t.Fatalf("pin: %s", errOut)
	}
	out, errOut, code := runCLI(t, "--pin-root", root, "prog", "show")
	// In one process a program has one pin: pin moves it (cilium/ebpf's
	// Pin semantics).
	if code != 0 || strings.Count(out, "name nop  tag d4f8542f2b42fac5  gpl") != 1 || !strings.Contains(out, "pinned "+root+"/nop2") {
		t.Fatalf("show: exit %d, %q %q", code, out, errOut)
	}
	out, _, code = runCLI(t, "--pin-root", root, "-j", "prog", "show", "pinned", "nop2")
	var j struct {
		Type, Name, Tag string
		Pinned          []string
	}
	if code != 0 || json.Unmarshal([]byte(out), &j) != nil || j.Type != "xdp" || j.Tag != "d4f8542f2b42fac5" || len(j.Pinned) != 1 {
		t.Fatalf("show -j: %q", out)
	}
	if _, errOut, code := runCLI(t, "--pin-root", root, "prog", "load", nopObj, "nop2"); code == 0 || !strings.Contains(errOut, "File exists") {
		t.Errorf("load at a used path: exit %d, %q", code, errOut)
	}
	if _, errOut, code := runCLI(t, "--pin-root", root, "prog", "show", "pinned", "none"); code == 0 || errOut == "" {
		t.Errorf("show of nothing: exit %d", code)
	}
}

func TestFeatureJSON(t *testing.T) {
	out, errOut, code := runCLI(t, "-j", "feature")
	var f struct {
		ProgramTypes map[string]bool     `json:"program_types"`
		MapTypes     map[string]bool     `json:"map_types"`
		Helpers      map[string][]string `json:"helpers"`
		KernelOnly   []string            `json:"kernel_only_prog_types"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &f) != nil {
		t.Fatalf("exit %d, %q %q", code, out, errOut)
	}
	if !f.ProgramTypes["have_xdp_prog_type"] || !f.MapTypes["have_hash_map_type"] || !f.MapTypes["have_ringbuf_map_type"] ||
		len(f.ProgramTypes) != 32 || !strings.Contains(strings.Join(f.KernelOnly, ","), "kprobe") {
		t.Errorf("feature: %v %v %v", f.ProgramTypes, f.MapTypes, f.KernelOnly)
	}
	xdp := strings.Join(f.Helpers["xdp_available_helpers"], ",")
	if !strings.Contains(xdp, "bpf_map_lookup_elem") || !strings.Contains(xdp, "bpf_tail_call") || strings.Contains(xdp, "helper#") {
		t.Errorf("xdp helpers: %s", xdp)
	}
	out, _, code = runCLI(t, "feature", "probe")
	if code != 0 || !strings.Contains(out, "eBPF program_type kprobe is available (only inside a kernel)\n") ||
		!strings.Contains(out, "eBPF helpers supported for program type xdp:\n\t- bpf_map_lookup_elem\n") {
		t.Errorf("feature text:\n%s", out)
	}
}
