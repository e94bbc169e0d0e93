package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// TestConformanceCommand checks the contract of `gobee conformance`: the
// last line is "N passed, M failed" and failures are listed per file.
func TestConformanceCommand(t *testing.T) {
	files, err := filepath.Glob("../../testdata/conformance/*.data")
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance files: %v", err)
	}
	out, _, code := runCLI(t, append([]string{"conformance"}, files...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := regexp.MustCompile(`^(\d+) passed, 0 failed$`)
	if m := want.FindStringSubmatch(lines[len(lines)-1]); m == nil || m[1] != strconv.Itoa(len(files)) || code != 0 {
		t.Fatalf("last line %q, exit %d; want %d passed, 0 failed", lines[len(lines)-1], code, len(files))
	}

	bad := filepath.Join(t.TempDir(), "bad.data")
	os.WriteFile(bad, []byte("-- asm\nmov %r0, 1\nexit\n-- result\n0x2\n"), 0o644)
	out, _, code = runCLI(t, "conformance", bad)
	if code == 0 || !strings.Contains(out, "bad.data") || !strings.HasSuffix(strings.TrimSpace(out), "0 passed, 1 failed") {
		t.Fatalf("failing file: exit %d, output %q", code, out)
	}
}

// TestAsmDisasmRoundTrip assembles text, disassembles the bytes and
// assembles the listing again: the bytes must not change.
func TestAsmDisasmRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "p.s")
	os.WriteFile(src, []byte("r1 = 0x1122334455667788 ll\nloop:\nw2 += 7\nif r1 > 0x5 goto loop\n*(u32 *)(r10 - 8) = r1\nr0 = atomic_fetch_add((u64 *)(r10 - 8), r0)\ncall 12\nexit\n"), 0o644)
	bin1 := filepath.Join(dir, "p.bin")
	if _, errOut, code := runCLI(t, "asm", src, "-o", bin1); code != 0 {
		t.Fatalf("asm: %s", errOut)
	}
	listing, errOut, code := runCLI(t, "disasm", bin1)
	if code != 0 {
		t.Fatalf("disasm: %s", errOut)
	}
	src2, bin2 := filepath.Join(dir, "q.s"), filepath.Join(dir, "q.bin")
	os.WriteFile(src2, []byte(listing), 0o644)
	if _, errOut, code := runCLI(t, "asm", src2, "-o", bin2); code != 0 {
		t.Fatalf("asm of listing: %s\n%s", errOut, listing)
	}
	a, _ := os.ReadFile(bin1)
	b, _ := os.ReadFile(bin2)
	if !bytes.Equal(a, b) || len(a) != 8*8 {
		t.Fatalf("round trip changed the bytes:\n% x\n% x", a, b)
	}
	if _, errOut, code := runCLI(t, "asm", filepath.Join(dir, "missing.s")); code == 0 || errOut == "" {
		t.Fatal("missing file: want an error")
	}
}
