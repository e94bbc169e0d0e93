package progtype

import (
	"fmt"

	"github.com/gobee-dev/gobee/interp"
)

// Offsets of struct bpf_flow_keys, which a flow dissector program fills
// through __sk_buff->flow_keys.
const (
	FlowKeysNhoff       = 0
	FlowKeysThoff       = 2
	FlowKeysAddrProto   = 4
	FlowKeysIsFrag      = 6
	FlowKeysIsFirstFrag = 7
	FlowKeysIsEncap     = 8
	FlowKeysIPProto     = 9
	FlowKeysNProto      = 10
	FlowKeysSport       = 12
	FlowKeysDport       = 14
	FlowKeysIPv4Src     = 16
	FlowKeysIPv4Dst     = 20
	FlowKeysIPv6Src     = 16
	FlowKeysIPv6Dst     = 32
	FlowKeysFlags       = 48
	FlowKeysFlowLabel   = 52
	// FlowKeysSize is sizeof(struct bpf_flow_keys).
	FlowKeysSize = 56
)

// FlowKeysContext is struct bpf_flow_keys. A program reaches it through
// the flow_keys pointer and may read and write any byte of it, at any
// width (the verifier's check_flow_keys_access only checks the bounds).
var FlowKeysContext = Context{Name: "bpf_flow_keys", Size: FlowKeysSize, Fields: []Field{
	{"nhoff", 0, 2, false}, {"thoff", 2, 2, false}, {"addr_proto", 4, 2, false}, {"is_frag", 6, 1, false},
	{"is_first_frag", 7, 1, false}, {"is_encap", 8, 1, false}, {"ip_proto", 9, 1, false}, {"n_proto", 10, 2, false},
	{"sport", 12, 2, false}, {"dport", 14, 2, false}, {"ipv4_src/ipv6_src", 16, 16, false}, {"ipv6_dst", 32, 16, false},
	{"flags", 48, 4, false}, {"flow_label", 52, 4, false},
}}

// FlowDissectorContext is the interp.ContextAccessor of a flow dissector
// program's __sk_buff. Outside an skb (BPF_PROG_TEST_RUN, and the
// dissector called without an skb) the kernel's context is struct
// bpf_flow_dissector: only data, data_end and flow_keys exist, all
// read-only (flow_dissector_is_valid_access).
type FlowDissectorContext struct {
	// Data is the packet from its Ethernet header on; the program may
	// only read it.
	Data []byte
	// Keys is the struct bpf_flow_keys (FlowKeysSize bytes) flow_keys
	// points to.
	Keys []byte
	// Mem is the context memory whose address the program gets in r1.
	Mem []byte
}

// NewFlowDissectorContext returns the context of a flow dissector run
// over data that fills keys.
func NewFlowDissectorContext(data, keys []byte) *FlowDissectorContext {
	return &FlowDissectorContext{Data: data, Keys: keys, Mem: make([]byte, SKBSize)}
}

// Regions returns the context, the packet (read-only) and the flow keys
// (writable) as interp regions.
func (c *FlowDissectorContext) Regions() []interp.Region {
	return []interp.Region{{Mem: c.Mem, Accessor: c}, {Mem: c.Data}, {Mem: c.Keys, Writable: true}}
}

// Addr returns the address the program gets in r1.
func (c *FlowDissectorContext) Addr() uint64 { return interp.Addr(c.Mem) }

// LoadContext implements interp.ContextAccessor.
func (c *FlowDissectorContext) LoadContext(_ *interp.Run, off, size uint32) (uint64, error) {
	f, err := SKBAccess(FlowDissector, off, size, false)
	if err != nil {
		return 0, err
	}
	switch f.Off {
	case SKBData:
		return interp.Addr(c.Data), nil
	case SKBDataEnd:
		return interp.Addr(c.Data) + uint64(len(c.Data)), nil
	case SKBFlowKeys:
		return interp.Addr(c.Keys), nil
	}
	return 0, fmt.Errorf("%w: __sk_buff field %s of a flow dissector", interp.ErrContextAccess, f.Name)
}

// StoreContext implements interp.ContextAccessor: the context is
// read-only.
func (c *FlowDissectorContext) StoreContext(_ *interp.Run, off, size uint32, _ uint64) error {
	_, err := SKBAccess(FlowDissector, off, size, true)
	return err
}
