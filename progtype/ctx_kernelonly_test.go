package progtype

import (
	"errors"
	"testing"

	"github.com/gobee-dev/gobee/interp"
)

// TestSockOpsLayout: struct bpf_sock_ops as the uapi header lays it out.
func TestSockOpsLayout(t *testing.T) {
	c := &SockOpsContext
	if c.Size != SockOpsSize || len(c.Fields) != 50 {
		t.Fatalf("size %d, %d fields", c.Size, len(c.Fields))
	}
	end := uint32(0)
	for _, f := range c.Fields {
		if f.Off != end {
			t.Errorf("%s at %d, want %d", f.Name, f.Off, end)
		}
		end = f.Off + f.Size
	}
	if end != SockOpsSize {
		t.Errorf("fields end at %d", end)
	}
	for name, off := range map[string]uint32{"sk_txhash": SockOpsSkTxhash, "sk": SockOpsSk, "skb_len": SockOpsSkbLen, "skb_hwtstamp": SockOpsSkbHwtstamp} {
		if f, ok := c.FieldAt(off); !ok || f.Name != name {
			t.Errorf("%s: %+v", name, f)
		}
	}
}

// TestKernelCtx: pointer fields, store masks and the rule's refusals.
func TestKernelCtx(t *testing.T) {
	mem := make([]byte, SockAddrSize)
	c := &KernelCtx{Mem: mem, Ptrs: map[uint32]uint64{SockAddrSk: 0x1234},
		StoreMask: map[uint32]uint64{SockAddrUserPort: 0xffff},
		Rule: func(off, size uint32, write bool) error {
			return SockAddrAccess(AttachCGroupInet4Connect, off, size, write)
		}}
	if v, err := c.LoadContext(nil, SockAddrSk, 8); err != nil || v != 0x1234 {
		t.Errorf("sk: %#x %v", v, err)
	}
	if err := c.StoreContext(nil, SockAddrUserPort, 4, 0xabcd1234); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.LoadContext(nil, SockAddrUserPort, 4); v != 0x1234 {
		t.Errorf("user_port %#x", v)
	}
	if err := c.StoreContext(nil, SockAddrFamily, 4, 1); !errors.Is(err, interp.ErrContextAccess) {
		t.Errorf("family store: %v", err)
	}
	if _, err := c.LoadContext(nil, 8, 4); !errors.Is(err, interp.ErrContextAccess) {
		t.Errorf("user_ip6 of a connect4 program: %v", err)
	}
}
