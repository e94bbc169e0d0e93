package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const nopObj = "../../testdata/bench/nop.kern.o"

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTestRunCommand(t *testing.T) {
	pkt := writeFile(t, "pkt", make([]byte, 64))
	out, errOut, code := runCLI(t, "test-run", nopObj, "--program", "nop", "--data-in", pkt, "--repeat", "5")
	if code != 0 || !regexp.MustCompile(`^Return value: 2, duration \(average\): \d+ns\n$`).MatchString(out) {
		t.Fatalf("exit %d, out %q, err %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, "-j", "test-run", nopObj, "--program", "nop", "--data-in", pkt, "--data-out", "-")
	var res struct {
		Retval     *uint32 `json:"retval"`
		DurationNs *int64  `json:"duration_ns"`
		DataOut    []int   `json:"data_out"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Retval == nil || *res.Retval != 2 || res.DurationNs == nil || len(res.DataOut) != 64 {
		t.Fatalf("-j: exit %d, out %q, err %q", code, out, errOut)
	}
	// data_out and ctx_out to files.
	dir := t.TempDir()
	dout, cout := filepath.Join(dir, "dout"), filepath.Join(dir, "cout")
	if _, errOut, code := runCLI(t, "test-run", nopObj, "--program", "nop", "--data-in", pkt, "--data-out", dout, "--ctx-out", cout); code != 0 {
		t.Fatalf("outputs: %s", errOut)
	}
	if b, _ := os.ReadFile(dout); len(b) != 64 {
		t.Errorf("data_out file has %d bytes", len(b))
	}
	if b, _ := os.ReadFile(cout); len(b) != 24 { // struct xdp_md
		t.Errorf("ctx_out file: %x", b)
	}
}

// TestTestRunRefusals: what the kernel refuses exits non-zero with the
// kernel's error, on both engines; bad input gets a clear error.
func TestTestRunRefusals(t *testing.T) {
	short := writeFile(t, "short", make([]byte, 10))
	pkt := writeFile(t, "pkt", make([]byte, 64))
	badCtx := writeFile(t, "ctx", append(make([]byte, 31), 1))
	corrupt := writeFile(t, "bad.o", []byte("\x7fELF this is not an object"))
	engines := []string{"interp"}
	if os.Geteuid() == 0 {
		engines = append(engines, "kernel")
	}
	for _, eng := range engines {
		for _, c := range []struct {
			name string
			args []string
			want string
		}{
			{"short packet", []string{nopObj, "--program", "nop", "--data-in", short}, "failed to run program: Invalid argument"},
			{"ctx_in too big", []string{nopObj, "--program", "nop", "--data-in", pkt, "--ctx-in", badCtx}, "failed to run program: Argument list too long"},
			{"missing program", []string{nopObj, "--data-in", pkt}, "missing --program NAME"},
			{"unknown program", []string{nopObj, "--program", "nope", "--data-in", pkt}, `no program "nope" (has nop)`},
			{"corrupt object", []string{corrupt, "--program", "nop", "--data-in", pkt}, "bad.o"},
			{"missing data file", []string{nopObj, "--program", "nop", "--data-in", filepath.Join(t.TempDir(), "none")}, "no such file"},
		} {
			args := append([]string{"test-run", "--engine", eng}, c.args...)
			out, errOut, code := runCLI(t, args...)
			if code == 0 || !strings.Contains(errOut, c.want) || !strings.HasPrefix(errOut, "Error: ") {
				t.Errorf("%s/%s: exit %d, stdout %q, stderr %q; want %q", eng, c.name, code, out, errOut, c.want)
			}
		}
	}
	out, _, code := runCLI(t, "-j", "test-run", nopObj, "--program", "nop", "--data-in", short)
	var e struct{ Error string }
	if code == 0 || json.Unmarshal([]byte(out), &e) != nil || !strings.Contains(e.Error, "Invalid argument") {
		t.Errorf("-j refusal: exit %d, %q", code, out)
	}
}

func TestTestRunEnginesAgree(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("kernel engine needs root")
	}
	pkt, err := os.ReadFile("../../testdata/bench/packet_1500.bin")
	if err != nil {
		t.Fatal(err)
	}
	in := writeFile(t, "pkt", pkt)
	for _, obj := range []string{"parse_packet", "mem_sum", "alu_loop"} {
		path := "../../testdata/bench/" + obj + ".kern.o"
		var got [2]string
		for i, eng := range []string{"interp", "kernel"} {
			out, errOut, code := runCLI(t, "-j", "test-run", path, "--program", obj, "--data-in", in, "--data-out", "-", "--engine", eng)
			if code != 0 {
				t.Fatalf("%s/%s: %s %s", obj, eng, out, errOut)
			}
			var r map[string]any
			json.Unmarshal([]byte(out), &r)
			delete(r, "duration")
			delete(r, "duration_ns")
			b, _ := json.Marshal(r)
			got[i] = string(b)
		}
		if got[0] != got[1] {
			t.Errorf("%s: interp %s\nkernel %s", obj, got[0], got[1])
		}
	}
}
