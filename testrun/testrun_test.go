package testrun

import (
	"bytes"
	"errors"
	"syscall"
	"testing"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
	"github.com/gobee-dev/gobee/progtype"
)

func load(t *testing.T, asm string) *interp.Program {
	t.Helper()
	insns, err := isa.Assemble(asm)
	if err != nil {
		t.Fatal(err)
	}
	p, err := interp.Load(insns, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidation(t *testing.T) {
	p := load(t, "r0 = 2\nexit\n")
	pkt := append(make([]byte, 12), 0x08, 0x06, 1, 2, 3, 4)
	for _, c := range []struct {
		name string
		typ  progtype.Type
		opts Options
		want syscall.Errno
	}{
		{"xdp short", progtype.XDP, Options{DataIn: make([]byte, 13)}, syscall.EINVAL},
		{"skb short", progtype.SchedCLS, Options{DataIn: make([]byte, 13)}, syscall.EINVAL},
		{"skb big ctx", progtype.SchedCLS, Options{DataIn: pkt, CtxIn: append(make([]byte, 192), 1)}, syscall.E2BIG},
		{"skb bad ctx", progtype.SocketFilter, Options{DataIn: pkt, CtxIn: append([]byte{1}, make([]byte, 191)...)}, syscall.EINVAL},
		{"devmap", progtype.XDP, Options{DataIn: pkt, Attach: progtype.AttachXDPDevmap}, syscall.EINVAL},
		{"struct_ops", progtype.StructOps, Options{}, ENOTSUPP}, // kprobe and the other kernel-only hooks: kernelonly_test.go
	} {
		_, err := Run(p, c.typ, c.opts)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestSocketFilterDataOut(t *testing.T) {
	p := load(t, "r0 = *(u32 *)(r1 + 0)\nexit\n")
	pkt := append(bytes.Repeat([]byte{0xee}, 12), 0x08, 0x06, 1, 2, 3, 4)
	res, err := Run(p, progtype.SocketFilter, Options{DataIn: pkt, Repeat: 3})
	if err != nil {
		t.Fatal(err)
	}
	// skb->len excludes the pulled Ethernet header, which comes back zeroed.
	want := append(make([]byte, 14), 1, 2, 3, 4)
	if res.Retval != 4 || !bytes.Equal(res.DataOut, want) {
		t.Errorf("retval %d data_out %x", res.Retval, res.DataOut)
	}
}
