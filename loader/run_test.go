//go:build linux

package loader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/maps"

	"github.com/gobee-dev/gobee/internal/testutil"
)

// testPackets are frames of varied lengths and ethertypes.
func testPackets() [][]byte {
	var pkts [][]byte
	for i, n := range []int{14, 15, 20, 33, 60, 64, 101, 128, 512, 1500} {
		for _, proto := range []uint16{0x0800, 0x86dd, 0x0806, 0x8100} {
			p := make([]byte, n)
			for j := range p {
				p[j] = byte(i*7 + j)
			}
			binary.BigEndian.PutUint16(p[12:], proto)
			pkts = append(pkts, p)
		}
	}
	return pkts
}

// lowMem returns page-aligned memory below 4 GiB, so that a 32-bit
// xdp_md.data field can hold its address without the context rewrite
// that package progtype will provide.
func lowMem(t *testing.T, n int) []byte {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_32BIT)
	if err != nil {
		t.Skipf("MAP_32BIT: %v", err)
	}
	t.Cleanup(func() { _ = unix.Munmap(b) })
	return b
}

// TestRunAgainstKernel runs the XDP and socket programs of progs.o under
// gobee's interpreter and under the kernel's BPF_PROG_TEST_RUN on the same
// packets, and compares return values and the maps afterwards.
func TestRunAgainstKernel(t *testing.T) {
	testutil.RequireRoot(t)
	ccs, err := ebpf.LoadCollectionSpec(progsObj)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := ebpf.NewCollection(ccs)
	if err != nil {
		t.Fatalf("kernel refuses the object: %v", err)
	}
	defer coll.Close()

	cs := mustLoad(t, progsObj)
	ms, err := NewMaps(cs)
	if err != nil {
		t.Fatal(err)
	}
	mem := lowMem(t, 1<<16)
	runs := 0
	for _, name := range []string{"xdp_count", "sock_len"} {
		spec := cs.Programs[name]
		l, err := Link(spec, ms)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := interp.Load(l.Instructions, &interp.Options{Helpers: maps.Helpers(), ResolveImm64: l.ResolveImm64})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		kprog := coll.Programs[name]
		for i, pkt := range testPackets() {
			kret, err := kprog.Run(&ebpf.RunOptions{Data: pkt})
			if err != nil {
				// The kernel refuses some inputs (a socket filter needs
				// more than an Ethernet header); that check belongs to
				// gobee's test-run, not to the loader.
				t.Logf("%s: packet %d (%d bytes): kernel: %v", name, i, len(pkt), err)
				continue
			}
			data := mem[:len(pkt)]
			copy(data, pkt)
			var ctx []byte
			var regions []interp.Region
			switch spec.Type {
			case ProgXDP:
				// struct xdp_md: data, data_end, data_meta, ingress_ifindex, ...
				ctx = mem[4096 : 4096+24]
				a := uint32(interp.Addr(data))
				binary.LittleEndian.PutUint32(ctx[0:], a)
				binary.LittleEndian.PutUint32(ctx[4:], a+uint32(len(data)))
				binary.LittleEndian.PutUint32(ctx[8:], a)
				regions = append(regions, interp.Region{Mem: data, Writable: true})
			default:
				// struct __sk_buff: len is the frame without its Ethernet
				// header, as after eth_type_trans in the kernel's test run.
				ctx = make([]byte, 192)
				binary.LittleEndian.PutUint32(ctx[0:], uint32(len(pkt)-14))
			}
			regions = append(regions, interp.Region{Mem: ctx})
			regions = append(regions, l.Regions()...)
			gret, err := prog.Run(&interp.Input{Args: [5]uint64{interp.Addr(ctx)}, Regions: regions, Packet: data})
			if err != nil {
				t.Fatalf("%s: gobee run %d: %v", name, i, err)
			}
			if uint32(gret) != kret {
				t.Errorf("%s: packet %d (%d bytes): gobee %d, kernel %d", name, i, len(pkt), gret, kret)
			}
			runs++
		}
	}
	for name, km := range coll.Maps {
		gm := ms[name]
		if gm == nil {
			t.Errorf("no gobee map %s", name)
			continue
		}
		if err := compareMaps(km, gm); err != nil {
			t.Errorf("map %s: %v", name, err)
		}
	}
	fmt.Printf("loader: compared %d runs against the kernel\n", runs)
}

// compareMaps compares every key/value of a kernel map and a gobee map.
func compareMaps(km *ebpf.Map, gm maps.Map) error {
	want := map[string][]byte{}
	var k, v []byte
	it := km.Iterate()
	for it.Next(&k, &v) {
		want[string(k)] = append([]byte(nil), v...)
	}
	if err := it.Err(); err != nil {
		return err
	}
	got := 0
	var key []byte
	for {
		next, err := gm.NextKey(key)
		if err != nil {
			break
		}
		key = next
		val, err := gm.Lookup(key)
		if err != nil {
			return fmt.Errorf("lookup %x: %v", key, err)
		}
		w, ok := want[string(key)]
		if !ok {
			return fmt.Errorf("key %x only in gobee", key)
		}
		if !bytes.Equal(w, val) {
			return fmt.Errorf("key %x: gobee %x, kernel %x", key, val, w)
		}
		got++
	}
	if got != len(want) {
		return fmt.Errorf("gobee has %d keys, kernel %d", got, len(want))
	}
	return nil
}
