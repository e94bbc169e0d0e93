// Package pkthelpers implements the kernel's packet helpers (net/core/filter.c)
// for gobee's interpreter: loading and storing skb bytes, checksum fix-ups,
// growing and shrinking skbs and XDP frames, VLAN tags, protocol changes,
// hashes, redirects and socket cookies. Helpers are numbered as in the
// kernel's enum bpf_func_id and return what the kernel returns, negative
// errnos included.
//
// A helper finds the packet through the run's Input.Context, which must
// implement SKBContext (a *progtype.SKBuff) or XDPContext (a
// *progtype.XDPBuff); package testrun's contexts do.
//
// Packet memory. Helpers that move skb->data or data_end only update the
// offsets of the buffer: the verifier makes a program re-read ctx->data and
// ctx->data_end after any helper that changes packet data
// (bpf_helper_changes_pkt_data), so nothing the program holds can go stale
// unnoticed, and the interpreter caches no packet pointer. The whole
// buffer, headroom and tailroom included, is one region of the run: bounds
// inside it are the program's own business (its data_end checks, as in the
// kernel, where the verifier enforces them). When an skb must grow beyond
// its buffer the helper allocates a new one and grants it to the run; the
// old one stays granted until the run ends, as freed memory never is
// reused while a run may still point to it.
package pkthelpers

import (
	"fmt"
	"syscall"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/progtype"
)

// Helper ids (enum bpf_func_id in include/uapi/linux/bpf.h).
const (
	IDSkbStoreBytes               = 9
	IDL3CsumReplace               = 10
	IDL4CsumReplace               = 11
	IDSkbVlanPush                 = 18
	IDSkbVlanPop                  = 19
	IDRedirect                    = 23
	IDSkbLoadBytes                = 26
	IDCsumDiff                    = 28
	IDSkbChangeProto              = 31
	IDSkbChangeType               = 32
	IDGetHashRecalc               = 34
	IDSkbChangeTail               = 38
	IDSkbPullData                 = 39
	IDCsumUpdate                  = 40
	IDSetHashInvalid              = 41
	IDSkbChangeHead               = 43
	IDXdpAdjustHead               = 44
	IDGetSocketCookie             = 46
	IDSetHash                     = 48
	IDSkbAdjustRoom               = 50
	IDRedirectMap                 = 51
	IDXdpAdjustMeta               = 54
	IDXdpAdjustTail               = 65
	IDSkbLoadBytesRelative        = 68
	maxStack                      = 512 // MAX_BPF_STACK: the most a helper's memory argument can be
	errENOTSUPP                   = syscall.Errno(524)
	errEOPNOTSUPP                 = syscall.EOPNOTSUPP
	skbMaxLen                     = 16384 - 320 // BPF_SKB_MAX_LEN = SKB_MAX_ALLOC on x86-64
	ethHlen                       = 14
	vlanHlen                      = 4
	ethPIP                 uint16 = 0x0800
	ethPIPv6               uint16 = 0x86dd
	ethP8021Q              uint16 = 0x8100
	ethP8021AD             uint16 = 0x88a8
	ethP8023               uint16 = 0x0001
	ethP8022               uint16 = 0x0004
)

// SKBContext is implemented by the Input.Context of runs over an skb.
type SKBContext interface {
	SKBuff() *progtype.SKBuff
}

// PacketSetter may be implemented by the Input.Context of skb runs whose
// legacy ld_abs/ld_ind loads read Input.Packet: the helpers that move
// skb->data or skb->tail hand it the new packet.
type PacketSetter interface {
	SetPacket([]byte)
}

// syncPacket tells the run's context where the packet is now.
func syncPacket(r *interp.Run, s *progtype.SKBuff) {
	if ps, ok := r.Context().(PacketSetter); ok {
		ps.SetPacket(s.Buf[s.Data:s.Tail])
	}
}

// XDPContext is implemented by the Input.Context of runs over an XDP frame.
type XDPContext interface {
	XDPBuff() *progtype.XDPBuff
}

// Env is what the helpers need from their surroundings. The zero value
// works: redirect_map then only knows the maps that Register returned a
// handle for.
type Env struct {
	// Maps resolves the map handle a program passes to bpf_redirect_map.
	// If nil (or it reports false) the handles of Register are used.
	Maps func(handle uint64) (RedirectMap, bool)
}

// Helper is one helper function.
type Helper struct {
	ID   int32
	Name string
	Fn   interp.HelperFunc
}

// List returns the packet helpers a program of type typ may call, with the
// variant of the type (bpf_redirect and bpf_redirect_map differ between
// XDP and tc, bpf_skb_adjust_room between sk_skb and the rest), filtered
// by progtype's per-type helper set.
func List(typ progtype.Type, env *Env) []Helper {
	if env == nil {
		env = &Env{}
	}
	xdp := typ == progtype.XDP
	all := []Helper{
		{IDSkbStoreBytes, "bpf_skb_store_bytes", skbStoreBytes},
		{IDL3CsumReplace, "bpf_l3_csum_replace", l3CsumReplace},
		{IDL4CsumReplace, "bpf_l4_csum_replace", l4CsumReplace},
		{IDSkbVlanPush, "bpf_skb_vlan_push", skbVlanPush},
		{IDSkbVlanPop, "bpf_skb_vlan_pop", skbVlanPop},
		{IDSkbLoadBytes, "bpf_skb_load_bytes", skbLoadBytes},
		{IDCsumDiff, "bpf_csum_diff", csumDiff},
		{IDSkbChangeProto, "bpf_skb_change_proto", skbChangeProto},
		{IDSkbChangeType, "bpf_skb_change_type", skbChangeType},
		{IDGetHashRecalc, "bpf_get_hash_recalc", getHashRecalc},
		{IDSkbChangeTail, "bpf_skb_change_tail", skbChangeTail},
		{IDSkbPullData, "bpf_skb_pull_data", skbPullData},
		{IDCsumUpdate, "bpf_csum_update", csumUpdate},
		{IDSetHashInvalid, "bpf_set_hash_invalid", setHashInvalid},
		{IDSkbChangeHead, "bpf_skb_change_head", skbChangeHead},
		{IDXdpAdjustHead, "bpf_xdp_adjust_head", xdpAdjustHead},
		{IDGetSocketCookie, "bpf_get_socket_cookie", getSocketCookie},
		{IDSetHash, "bpf_set_hash", setHash},
		{IDSkbAdjustRoom, "bpf_skb_adjust_room", skbAdjustRoom},
		{IDXdpAdjustMeta, "bpf_xdp_adjust_meta", xdpAdjustMeta},
		{IDXdpAdjustTail, "bpf_xdp_adjust_tail", xdpAdjustTail},
		{IDSkbLoadBytesRelative, "bpf_skb_load_bytes_relative", skbLoadBytesRelative},
	}
	if typ == progtype.SKSKB {
		for i := range all {
			if all[i].ID == IDSkbAdjustRoom {
				all[i].Fn = skSkbAdjustRoom
			}
		}
	}
	if xdp {
		all = append(all, Helper{IDRedirect, "bpf_redirect", xdpRedirect},
			Helper{IDRedirectMap, "bpf_redirect_map", env.redirectMap})
	} else {
		all = append(all, Helper{IDRedirect, "bpf_redirect", tcRedirect})
	}
	info := progtype.Lookup(typ)
	var out []Helper
	for _, h := range all {
		if info != nil && info.Helpers.Has(h.ID) {
			out = append(out, h)
		}
	}
	return out
}

// Table returns List(typ, env) as a helper table for interp.Options.
func Table(typ progtype.Type, env *Env) map[int32]interp.HelperFunc {
	m := map[int32]interp.HelperFunc{}
	for _, h := range List(typ, env) {
		m[h.ID] = h.Fn
	}
	return m
}

// Merge adds the packet helpers of typ to table (which may be nil) and
// returns it: a run's table is usually the generic helpers plus these.
func Merge(table map[int32]interp.HelperFunc, typ progtype.Type, env *Env) map[int32]interp.HelperFunc {
	if table == nil {
		table = map[int32]interp.HelperFunc{}
	}
	for id, fn := range Table(typ, env) {
		table[id] = fn
	}
	return table
}

func errno(e syscall.Errno) uint64 { return uint64(-int64(e)) }

// skbOf returns the run's skb; a helper called from a run without one is
// a program the verifier would have refused for this context.
func skbOf(r *interp.Run, name string) (*progtype.SKBuff, error) {
	if c, ok := r.Context().(SKBContext); ok {
		if s := c.SKBuff(); s != nil {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%s: the run has no skb (Input.Context does not implement pkthelpers.SKBContext)", name)
}

func xdpOf(r *interp.Run, name string) (*progtype.XDPBuff, error) {
	if c, ok := r.Context().(XDPContext); ok {
		if x := c.XDPBuff(); x != nil {
			return x, nil
		}
	}
	return nil, fmt.Errorf("%s: the run has no XDP frame (Input.Context does not implement pkthelpers.XDPContext)", name)
}

// mem returns a memory argument of n bytes; the verifier only accepts
// programs whose pointer arguments are valid, so a bad one aborts the run.
func mem(r *interp.Run, name string, addr, n uint64, write bool) ([]byte, error) {
	if n > maxStack {
		return nil, fmt.Errorf("%s: size %d exceeds what the verifier allows for a memory argument", name, n)
	}
	b, err := r.Mem(addr, n, write)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

func bswap16(v uint16) uint16 { return v>>8 | v<<8 }
