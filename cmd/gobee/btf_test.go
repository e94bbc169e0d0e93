package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestRunBTFFlag: --btf names the vmlinux BTF that CO-RE relocations
// against kernel types resolve to, on both engines; both must write the
// same relocated values, and a file that is not BTF is a clear error.
func TestTestRunBTFFlag(t *testing.T) {
	vmlinux, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		t.Skipf("no kernel BTF to copy: %v", err)
	}
	dir := t.TempDir()
	btfFile := filepath.Join(dir, "vmlinux")
	os.WriteFile(btfFile, vmlinux, 0o644)
	t.Cleanup(func() { coreBTF = "" })
	obj := "../../testdata/loader/core_vmlinux.o"
	pkt := writeFile(t, "pkt", make([]byte, 64))
	var outs [][]byte
	for _, engine := range []string{"interp", "kernel"} {
		dout := filepath.Join(dir, "dout-"+engine)
		_, errOut, code := runCLI(t, "test-run", obj, "--program", "core_vmlinux", "--data-in", pkt, "--data-out", dout, "--engine", engine, "--btf", btfFile)
		if code != 0 {
			if engine == "kernel" && strings.Contains(errOut, "operation not permitted") {
				t.Skipf("kernel engine unavailable: %s", errOut)
			}
			t.Fatalf("%s: exit %d: %s", engine, code, errOut)
		}
		b, _ := os.ReadFile(dout)
		outs = append(outs, b)
	}
	if !bytes.Equal(outs[0], outs[1]) || bytes.Count(outs[0][:40], []byte{0}) == 40 {
		t.Fatalf("relocated values differ or are empty:\ninterp % x\nkernel % x", outs[0][:40], outs[1][:40])
	}
	notBTF := writeFile(t, "notbtf", []byte("not btf"))
	_, errOut, code := runCLI(t, "test-run", obj, "--program", "core_vmlinux", "--data-in", pkt, "--btf", notBTF)
	if code == 0 || !strings.Contains(errOut, "notbtf") {
		t.Fatalf("non-BTF file: exit %d, %q", code, errOut)
	}
}
