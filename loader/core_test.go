//go:build linux

package loader_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/gobee-dev/gobee/internal/testutil"
	"github.com/gobee-dev/gobee/loader"
	"github.com/gobee-dev/gobee/objects"
)

const (
	coreObj        = "../testdata/loader/core.o"
	coreBadObj     = "../testdata/loader/core_bad.o"
	coreVmlinuxObj = "../testdata/loader/core_vmlinux.o"
)

// corePackets are frames the kernel accepts for XDP and TC test runs.
func corePackets() [][]byte {
	var out [][]byte
	for i, n := range []int{14, 60, 95, 96, 97, 128, 512, 1500} {
		for _, proto := range []uint16{0x0800, 0x86dd} {
			p := make([]byte, n)
			for j := range p {
				p[j] = byte(i*31 + j*7)
			}
			binary.BigEndian.PutUint16(p[12:], proto)
			out = append(out, p)
		}
	}
	return out
}

// wantCore are the values core_xdp writes, from the uapi layouts.
var wantCoreXDP = []uint32{12, 4, 1, 0, 0, 1, 32, 32, 1, 0, 24, 1, 1, 1, 3, 0, 2, 1, 56, 32}

// TestCOREWithoutKernel loads core.o with no kernel BTF at all: every
// relocation resolves against gobee's context BTF.
func TestCOREWithoutKernel(t *testing.T) {
	cs, err := objects.LoadCollectionSpecWith(coreObj, &loader.Options{KernelBTFPath: "/nonexistent/vmlinux"})
	if err != nil {
		t.Fatal(err)
	}
	coll, err := objects.NewCollection(cs)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	pkt := make([]byte, 128)
	ret, out, err := coll.Programs["core_xdp"].Test(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if ret != 2 {
		t.Errorf("core_xdp returned %d, want XDP_PASS", ret)
	}
	for i, w := range wantCoreXDP {
		if got := binary.LittleEndian.Uint32(out[4*i:]); got != w {
			t.Errorf("core_xdp v[%d] = %d, want %d", i, got, w)
		}
	}
	if got := binary.LittleEndian.Uint32(out[4*21:]); got != 0xdead {
		t.Errorf("guarded missing field: v[21] = %#x, want 0xdead", got)
	}
}

// TestCOREAgainstKernel runs the CO-RE programs under gobee (objects API)
// and under the kernel (cilium/ebpf) on the same packets and compares
// return values and data_out. core_vmlinux.o resolves against a copy of
// the running kernel's BTF named with Options.KernelBTFPath.
func TestCOREAgainstKernel(t *testing.T) {
	testutil.RequireRoot(t)
	vmlinux := copyVmlinux(t)
	runs := 0
	for _, c := range []struct {
		obj  string
		opts *loader.Options
	}{
		{coreObj, nil},
		{coreVmlinuxObj, &loader.Options{KernelBTFPath: vmlinux}},
	} {
		cs, err := objects.LoadCollectionSpecWith(c.obj, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		coll, err := objects.NewCollection(cs)
		if err != nil {
			t.Fatal(err)
		}
		defer coll.Close()
		kspec, err := ebpf.LoadCollectionSpec(c.obj)
		if err != nil {
			t.Fatal(err)
		}
		kcoll, err := ebpf.NewCollection(kspec)
		if err != nil {
			t.Fatalf("kernel refuses %s: %v", c.obj, err)
		}
		defer kcoll.Close()
		for name, kp := range kcoll.Programs {
			gp := coll.Programs[name]
			if gp == nil {
				t.Fatalf("%s: gobee has no program %s", c.obj, name)
			}
			for _, pkt := range corePackets() {
				kret, kout, kerr := kp.Test(pkt)
				gret, gout, gerr := gp.Test(pkt)
				if (kerr == nil) != (gerr == nil) {
					t.Fatalf("%s len %d: kernel err %v, gobee err %v", name, len(pkt), kerr, gerr)
				}
				if kret != gret || !bytes.Equal(kout, gout) {
					t.Fatalf("%s len %d: kernel %d %x\ngobee %d %x", name, len(pkt), kret, kout, gret, gout)
				}
				runs++
			}
		}
	}
	if runs == 0 {
		t.Fatal("no runs")
	}
	fmt.Printf("loader: compared %d CO-RE runs against the kernel\n", runs)
}

func copyVmlinux(t *testing.T) string {
	t.Helper()
	src, err := os.Open(loader.DefaultKernelBTF)
	if err != nil {
		t.Skip(err)
	}
	defer src.Close()
	dst := filepath.Join(t.TempDir(), "vmlinux.btf")
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, src); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestCOREVmlinuxFile: types gobee's context BTF lacks resolve against the
// file the user names, and a file that is not there is a clear error.
func TestCOREVmlinuxFile(t *testing.T) {
	vmlinux := copyVmlinux(t)
	if _, err := loader.LoadWith(coreVmlinuxObj, &loader.Options{KernelBTFPath: vmlinux}); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.btf")
	_, err := loader.LoadWith(coreVmlinuxObj, &loader.Options{KernelBTFPath: missing})
	if !errors.Is(err, loader.ErrCORE) {
		t.Fatalf("err = %v, want ErrCORE", err)
	}
	for _, want := range []string{"core_vmlinux", "instruction", missing} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.btf")
	if err := os.WriteFile(bad, []byte("not BTF at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loader.LoadWith(coreVmlinuxObj, &loader.Options{KernelBTFPath: bad}); !errors.Is(err, loader.ErrCORE) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("bad BTF file: err = %v", err)
	}
}

// TestCOREUnmatched: an unguarded relocation against a field that does
// not exist is refused at load time, naming program, instruction,
// relocation kind and field, as the kernel refuses it.
func TestCOREUnmatched(t *testing.T) {
	_, err := objects.LoadCollectionSpec(coreBadObj)
	if !errors.Is(err, loader.ErrCOREPoisoned) {
		t.Fatalf("err = %v, want ErrCOREPoisoned", err)
	}
	var le *loader.Error
	if !errors.As(err, &le) || le.Program != "core_bad" || le.Insn < 0 {
		t.Fatalf("err = %#v", err)
	}
	for _, want := range []string{"core_bad", "instruction", "byte_off", "struct xdp_md___bad.no_such_field", "unknown#195896080"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	t.Logf("gobee: %v", err)
	if os.Geteuid() != 0 {
		return
	}
	kspec, err := ebpf.LoadCollectionSpec(coreBadObj)
	if err != nil {
		t.Fatal(err)
	}
	kcoll, err := ebpf.NewCollection(kspec)
	if err == nil {
		kcoll.Close()
		t.Fatal("the kernel accepts core_bad")
	}
	if !strings.Contains(fmt.Sprintf("%+v", err), "195896080") {
		t.Errorf("kernel error %v does not mention the poisoned call", err)
	}
}

// TestCOREKindsCovered checks that the test objects exercise every CO-RE
// relocation kind the loader supports.
func TestCOREKindsCovered(t *testing.T) {
	seen := map[string]int{}
	for _, obj := range []string{coreObj, coreVmlinuxObj, coreBadObj} {
		spec, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range spec.Programs {
			for i := range p.Instructions {
				if r := btf.CORERelocationMetadata(&p.Instructions[i]); r != nil {
					kind, _, _ := strings.Cut(strings.TrimPrefix(r.String(), "CORERelocation("), ",")
					seen[kind]++
				}
			}
		}
	}
	for _, k := range []string{"byte_off", "byte_sz", "field_exists", "signed", "lshift_u64", "rshift_u64",
		"local_type_id", "target_type_id", "type_exists", "type_size", "enumval_exists", "enumval_value"} {
		if seen[k] == 0 {
			t.Errorf("no %s relocation in the test objects", k)
		}
	}
	t.Logf("relocation kinds: %v", seen)
}
