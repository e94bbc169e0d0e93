//go:build linux

package objects

import (
	"bytes"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
)

// TestKfuncsAgainstKernel runs the kfunc programs of testdata/kfuncs
// (numeric iterators with packet-dependent bounds, an RCU section, skb and
// xdp dynptr slices) under gobee and the kernel, which resolves the kfuncs
// against its own vmlinux BTF, and compares errors, return values and
// data_out. Program tags are not compared: the kernel hashes the calls'
// vmlinux BTF ids, gobee its own kfunc ids.
func TestKfuncsAgainstKernel(t *testing.T) {
	requireKernel(t)
	const obj = "../testdata/kfuncs/kfuncs.o"
	ks, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := ebpf.NewCollection(ks)
	if err != nil {
		t.Fatalf("kernel refuses %s: %v", obj, err)
	}
	defer kc.Close()
	gs, err := LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := NewRegistry(WithPinRoot(t.TempDir())).NewCollection(gs)
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()

	pkts := diffPackets()
	// Packets whose first bytes steer the programs' loop bounds and slice
	// offsets over their whole range.
	for b := 0; b < 256; b += 5 {
		for _, n := range []int{16, 64, 300} {
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(b + i*b)
			}
			p[0], p[13] = byte(b), byte(b*3)
			pkts = append(pkts, p)
		}
	}
	runs := 0
	for _, name := range sortedKeys(gc.Programs) {
		gp, kp := gc.Programs[name], kc.Programs[name]
		if kp == nil {
			t.Fatalf("kernel has no program %s", name)
		}
		for i, pkt := range pkts {
			kopts := ebpf.RunOptions{Data: pkt, DataOut: make([]byte, len(pkt)+258)}
			kret, kerr := kp.Run(&kopts)
			gopts := RunOptions{Data: pkt, DataOut: make([]byte, len(pkt)+258)}
			gret, gerr := gp.Run(&gopts)
			where := fmt.Sprintf("%s: packet %d (%d bytes)", name, i, len(pkt))
			runs++
			if kerr != nil || gerr != nil {
				var ke, ge syscall.Errno
				if !errors.As(kerr, &ke) || !errors.As(gerr, &ge) || ke != ge {
					t.Errorf("%s: kernel error %v, gobee error %v", where, kerr, gerr)
				}
				continue
			}
			if kret != gret {
				t.Errorf("%s: retval kernel %d, gobee %d", where, kret, gret)
			}
			if !bytes.Equal(kopts.DataOut, gopts.DataOut) {
				t.Errorf("%s: data_out differs\nkernel %.64x\ngobee  %.64x", where, kopts.DataOut, gopts.DataOut)
			}
		}
	}
	fmt.Printf("kfuncs: compared %d runs against the kernel\n", runs)
}
