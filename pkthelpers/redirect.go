package pkthelpers

import (
	"sync"
	"unsafe"

	"github.com/gobee-dev/gobee/interp"
)

// Return codes of the redirect helpers.
const (
	xdpAborted     = 0 // XDP_ABORTED
	xdpTX          = 3 // XDP_TX
	xdpActRedirect = 4 // XDP_REDIRECT
	tcActShot      = 2 // TC_ACT_SHOT
	tcActRedir     = 7 // TC_ACT_REDIRECT

	FIngress        = 1 << 0 // BPF_F_INGRESS
	FBroadcast      = 1 << 3 // BPF_F_BROADCAST
	FExcludeIngress = 1 << 4 // BPF_F_EXCLUDE_INGRESS
)

// RedirectKind is the map type behind a redirect target.
type RedirectKind int

// The map types bpf_redirect_map accepts.
const (
	DevMap     RedirectKind = iota // BPF_MAP_TYPE_DEVMAP
	DevMapHash                     // BPF_MAP_TYPE_DEVMAP_HASH
	CPUMap                         // BPF_MAP_TYPE_CPUMAP
	XSKMap                         // BPF_MAP_TYPE_XSKMAP
)

// RedirectMap is a map that bpf_redirect_map redirects through (a devmap,
// cpumap or xskmap). gobee has no such maps of its own yet; anything that
// implements this can stand in for one.
type RedirectMap interface {
	RedirectKind() RedirectKind
	// RedirectLookup returns the target stored under key (a device, a
	// CPU, an AF_XDP socket), or false when there is none.
	RedirectLookup(key uint32) (target any, ok bool)
}

// Redirect is what a program asked for with bpf_redirect or
// bpf_redirect_map: the kernel's per-CPU struct bpf_redirect_info.
type Redirect struct {
	Map    RedirectMap // nil for bpf_redirect
	Index  uint32      // ifindex or map key
	Target any         // what the map holds under Index
	Flags  uint64
}

// RedirectRecorder may be implemented by a run's Input.Context to learn
// where the run redirected the packet; the last call wins, as in the
// kernel.
type RedirectRecorder interface {
	SetRedirect(Redirect)
}

var registry sync.Map // handle → RedirectMap

type box struct{ m RedirectMap }

// Register returns a handle by which programs can refer to m (the value of
// their map lddw) when Env.Maps does not resolve it.
func Register(m RedirectMap) uint64 {
	b := &box{m}
	h := uint64(uintptr(unsafe.Pointer(b)))
	registry.Store(h, b)
	return h
}

// Unregister forgets a handle of Register.
func Unregister(h uint64) { registry.Delete(h) }

func (e *Env) resolve(h uint64) (RedirectMap, bool) {
	if e.Maps != nil {
		if m, ok := e.Maps(h); ok {
			return m, true
		}
	}
	if b, ok := registry.Load(h); ok {
		return b.(*box).m, true
	}
	return nil, false
}

func record(r *interp.Run, rd Redirect) {
	if rec, ok := r.Context().(RedirectRecorder); ok {
		rec.SetRedirect(rd)
	}
}

// tcRedirect is bpf_redirect(ifindex, flags) for skb programs.
func tcRedirect(r *interp.Run, ifindex, flags, _, _, _ uint64) (uint64, error) {
	if flags&^FIngress != 0 {
		return tcActShot, nil
	}
	record(r, Redirect{Index: uint32(ifindex), Flags: flags})
	return tcActRedir, nil
}

// xdpRedirect is bpf_redirect(ifindex, flags) for XDP programs.
func xdpRedirect(r *interp.Run, ifindex, flags, _, _, _ uint64) (uint64, error) {
	if flags != 0 {
		return xdpAborted, nil
	}
	record(r, Redirect{Index: uint32(ifindex)})
	return xdpActRedirect, nil
}

// redirectMap is bpf_redirect_map(map, key, flags) for XDP programs: the
// low two bits of flags are the action returned when the key has no
// target; devmaps also take BPF_F_BROADCAST and BPF_F_EXCLUDE_INGRESS.
func (e *Env) redirectMap(r *interp.Run, handle, key, flags, _, _ uint64) (uint64, error) {
	m, ok := e.resolve(handle)
	if !ok {
		return 0, errNotRedirectMap(handle)
	}
	const actionMask = xdpTX
	var flagMask uint64
	if k := m.RedirectKind(); k == DevMap || k == DevMapHash {
		flagMask = FBroadcast | FExcludeIngress
	}
	if flags&^(actionMask|flagMask) != 0 {
		return xdpAborted, nil
	}
	t, found := m.RedirectLookup(uint32(key))
	if !found && flags&FBroadcast == 0 {
		return flags & actionMask, nil
	}
	rd := Redirect{Map: m, Index: uint32(key), Target: t}
	if flags&FBroadcast != 0 {
		rd.Flags = flags
	}
	record(r, rd)
	return xdpActRedirect, nil
}

type errNotRedirectMap uint64

func (e errNotRedirectMap) Error() string {
	return "bpf_redirect_map: the map argument is not a devmap, cpumap or xskmap gobee knows (pkthelpers.Env.Maps / Register)"
}

// StaticMap is a RedirectMap over fixed entries, for tests and for callers
// that only need bpf_redirect_map's lookup semantics.
type StaticMap struct {
	Kind    RedirectKind
	Entries map[uint32]any
}

// RedirectKind implements RedirectMap.
func (m *StaticMap) RedirectKind() RedirectKind { return m.Kind }

// RedirectLookup implements RedirectMap.
func (m *StaticMap) RedirectLookup(key uint32) (any, bool) {
	t, ok := m.Entries[key]
	return t, ok
}
