package progtype

import (
	"encoding/binary"
	"fmt"

	"github.com/gobee-dev/gobee/interp"
)

// Offsets of struct bpf_sk_lookup fields.
const (
	SKLookupSk             = 0 // union with cookie
	SKLookupCookie         = 0
	SKLookupFamily         = 8
	SKLookupProtocol       = 12
	SKLookupRemoteIP4      = 16
	SKLookupRemoteIP6      = 20
	SKLookupRemotePort     = 36
	SKLookupLocalIP4       = 40
	SKLookupLocalIP6       = 44
	SKLookupLocalPort      = 60
	SKLookupIngressIfindex = 64
	// SKLookupSize is sizeof(struct bpf_sk_lookup).
	SKLookupSize = 72
)

// SKLookupAccess reports whether an sk_lookup program may load
// (write=false) or store size bytes at offset off of its bpf_sk_lookup
// (the kernel's sk_lookup_is_valid_access): everything is read-only; sk
// is an 8-byte pointer; the u32 fields allow narrow loads of 1, 2 and 4
// bytes; remote_port allows 1 and 2 bytes, and 4 bytes for backward
// compatibility, as does the zero padding after it.
func SKLookupAccess(off, size uint32, write bool) (Field, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: invalid bpf_context access off=%d size=%d (%s of bpf_sk_lookup.%s: %s)",
			interp.ErrContextAccess, off, size, op(write), SKLookupContext.fieldName(off), why)
	}
	f, _ := SKLookupContext.FieldAt(off)
	switch {
	case off >= SKLookupSize:
		return f, bad("beyond the struct")
	case size != 1 && size != 2 && size != 4 && size != 8 || off%size != 0:
		return f, bad("misaligned")
	case write:
		return f, bad("bpf_sk_lookup is read-only")
	}
	switch {
	case off == SKLookupSk:
		if size != 8 {
			return f, bad("only 8-byte access")
		}
		return f, nil
	case off >= SKLookupFamily && off < SKLookupRemotePort, off >= SKLookupLocalIP4 && off < SKLookupSize-4:
		if size > 4 {
			return f, bad("wrong width")
		}
		return f, nil
	case off >= SKLookupRemotePort && off < SKLookupLocalIP4:
		if size > 2 && !(size == 4 && off == SKLookupRemotePort) {
			return f, bad("wrong width")
		}
		return f, nil
	}
	return f, bad("no such field")
}

// SKLookupKern is the kernel's struct bpf_sk_lookup_kern: the values an
// sk_lookup program reads. Ports and IPv4 addresses hold the bytes the
// kernel stores, as a little-endian load of them gives.
type SKLookupKern struct {
	Family, Protocol uint16
	Sport            uint16 // network order bytes
	Dport            uint16 // host order
	V4Saddr, V4Daddr uint32 // network order bytes
	// V6Saddr and V6Daddr are nil unless the family is AF_INET6.
	V6Saddr, V6Daddr []byte
	IngressIfindex   uint32
	// SelectedSk is the address of the selected socket (0: none).
	SelectedSk uint64
}

// SKLookupCtx is the interp.ContextAccessor of a bpf_sk_lookup.
type SKLookupCtx struct {
	Kern *SKLookupKern
	Mem  []byte
}

// NewSKLookupCtx returns the context of an sk_lookup program over k.
func NewSKLookupCtx(k *SKLookupKern) *SKLookupCtx {
	return &SKLookupCtx{Kern: k, Mem: make([]byte, SKLookupSize)}
}

// Region returns the context as an interp.Region.
func (c *SKLookupCtx) Region() interp.Region { return interp.Region{Mem: c.Mem, Accessor: c} }

// Addr returns the address the program gets in r1.
func (c *SKLookupCtx) Addr() uint64 { return interp.Addr(c.Mem) }

// LoadContext implements interp.ContextAccessor with the kernel's
// sk_lookup_convert_ctx_access: family, protocol and local_port are u16
// in the kernel, so a narrow load of their upper half reads 0 while a
// 2-byte load at any offset reads the whole value.
func (c *SKLookupCtx) LoadContext(_ *interp.Run, off, size uint32) (uint64, error) {
	if _, err := SKLookupAccess(off, size, false); err != nil {
		return 0, err
	}
	k := c.Kern
	if off == SKLookupSk {
		return k.SelectedSk, nil
	}
	if off >= SKLookupRemotePort && off < SKLookupLocalIP4 {
		if size == 4 || off >= SKLookupRemotePort+2 {
			if off >= SKLookupRemotePort+2 {
				return 0, nil // the zero padding
			}
			return uint64(k.Sport), nil
		}
		return narrowLoad(uint64(k.Sport), off-SKLookupRemotePort, size, 2), nil
	}
	field := off &^ 3
	var v uint64
	target := uint32(4)
	ip6 := func(p []byte, base uint32) uint64 {
		if p == nil {
			return 0
		}
		return uint64(binary.LittleEndian.Uint32(p[field-base:]))
	}
	switch {
	case field == SKLookupFamily:
		v, target = uint64(k.Family), 2
	case field == SKLookupProtocol:
		v, target = uint64(k.Protocol), 2
	case field == SKLookupRemoteIP4:
		v = uint64(k.V4Saddr)
	case field == SKLookupLocalIP4:
		v = uint64(k.V4Daddr)
	case field >= SKLookupRemoteIP6 && field < SKLookupRemotePort:
		v = ip6(k.V6Saddr, SKLookupRemoteIP6)
	case field >= SKLookupLocalIP6 && field < SKLookupLocalPort:
		v = ip6(k.V6Daddr, SKLookupLocalIP6)
	case field == SKLookupLocalPort:
		v, target = uint64(k.Dport), 2
	case field == SKLookupIngressIfindex:
		v = uint64(k.IngressIfindex)
	}
	return narrowLoad(v, off-field, size, target), nil
}

// narrowLoad is the verifier's narrow-load rewrite: a load of size bytes
// at byte shift within a context field, of a kernel field of target
// bytes, shifts and masks only when it is narrower than the kernel field.
func narrowLoad(v uint64, shift, size, target uint32) uint64 {
	if size >= target {
		return v
	}
	return narrowValue(v, shift, size)
}

// StoreContext implements interp.ContextAccessor: the context is
// read-only.
func (c *SKLookupCtx) StoreContext(_ *interp.Run, off, size uint32, _ uint64) error {
	_, err := SKLookupAccess(off, size, true)
	return err
}
