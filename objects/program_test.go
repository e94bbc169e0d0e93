package objects

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestProgramAPI(t *testing.T) {
	root := t.TempDir()
	reg := NewRegistry(WithPinRoot(root))
	spec, err := LoadCollectionSpec("../testdata/bench/nop.kern.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := reg.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	p := coll.Programs["nop"]
	ret, out, err := p.Test(make([]byte, 64))
	if err != nil || ret != 2 || len(out) != 64 {
		t.Fatalf("Test: %d %d %v", ret, len(out), err)
	}
	if _, err := p.Run(&RunOptions{Data: make([]byte, 10)}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("short packet: %v", err)
	}
	if _, err := p.Run(&RunOptions{Data: make([]byte, 64), Context: append(make([]byte, 31), 1)}); !errors.Is(err, syscall.E2BIG) {
		t.Errorf("ctx_in too big: %v", err)
	}
	info, err := p.Info()
	if n, _ := info.RunCount(); err != nil || n != 1 || info.Tag != "d4f8542f2b42fac5" || info.Name != "nop" || info.Type != XDP {
		t.Fatalf("info %+v %v", info, err)
	}
	if err := p.Pin("nop"); err != nil {
		t.Fatal(err)
	}
	same, err := reg.LoadPinnedProgram("nop")
	if err != nil || same.ID() != p.ID() {
		t.Fatalf("same process: %v", err)
	}
	same.Close()
	// Another registry plays another process: it loads the program again.
	other, err := NewRegistry(WithPinRoot(root)).LoadPinnedProgram(filepath.Join(root, "nop"))
	if err != nil {
		t.Fatal(err)
	}
	if ret, _, err := other.Test(make([]byte, 64)); err != nil || ret != 2 {
		t.Errorf("reloaded: %d %v", ret, err)
	}
	other.Close()
	if err := p.Unpin(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "nop")); !os.IsNotExist(err) {
		t.Errorf("pin file stays: %v", err)
	}
	p.Close()
	if _, err := p.Run(nil); !errors.Is(err, syscall.EBADF) {
		t.Errorf("closed: %v", err)
	}
	if _, err := LoadCollectionSpec("program_test.go"); err == nil {
		t.Error("not an object: no error")
	}
}

func TestNewProgramNeedsMaps(t *testing.T) {
	spec, err := LoadCollectionSpec("../testdata/loader/progs.o")
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewRegistry(WithPinRoot(t.TempDir())).NewProgram(spec.Programs["xdp_count"])
	if err == nil || !errors.Is(err, syscall.EBADF) {
		t.Fatalf("want a missing-map error, got %v", err)
	}
}
