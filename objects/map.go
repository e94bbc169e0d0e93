package objects

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/maps"
)

var sprintf = fmt.Sprintf

// MapType is a map type (enum bpf_map_type).
type MapType = maps.Type

// Map types, as in cilium/ebpf.
const (
	Hash          = maps.Hash
	Array         = maps.Array
	PerCPUHash    = maps.PerCPUHash
	PerCPUArray   = maps.PerCPUArray
	LRUHash       = maps.LRUHash
	LRUCPUHash    = maps.LRUPerCPUHash
	LPMTrie       = maps.LPMTrie
	Queue         = maps.Queue
	Stack         = maps.Stack
	BloomFilter   = maps.BloomFilter
	RingBuf       = maps.RingBuf
	ProgramArray  = maps.ProgArray
	ArrayOfMaps   = maps.ArrayOfMaps
	HashOfMaps    = maps.HashOfMaps
	PerfEventArry = maps.PerfEventArray
)

// MapUpdateFlags are the flags of Update.
type MapUpdateFlags uint64

// Update flags.
const (
	UpdateAny     MapUpdateFlags = maps.UpdateAny
	UpdateNoExist MapUpdateFlags = maps.UpdateNoExist
	UpdateExist   MapUpdateFlags = maps.UpdateExist
	UpdateLock    MapUpdateFlags = maps.UpdateLock
)

// MapLookupFlags are the flags of LookupWithFlags, as cilium/ebpf's.
type MapLookupFlags uint64

// LookupLock (BPF_F_LOCK) copies the value holding its bpf_spin_lock.
const LookupLock MapLookupFlags = maps.UpdateLock

// PinType says how NewMapWithOptions pins a map.
type PinType int

const (
	// PinNone: the map is not pinned.
	PinNone PinType = iota
	// PinByName: the map is pinned at MapOptions.PinPath/Name; if a map is
	// already pinned there it is opened instead (and must match the spec).
	PinByName
)

// Errors, as in cilium/ebpf. errors.Is works with them on any map error.
var (
	ErrKeyNotExist     error = unix.ENOENT
	ErrKeyExist        error = unix.EEXIST
	ErrMapIncompatible       = errors.New("map spec is incompatible with existing map")
)

// MapSpec describes a map, like cilium/ebpf's MapSpec.
type MapSpec struct {
	Name       string
	Type       MapType
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
	MapExtra   uint64
	Pinning    PinType
	// NumCPU is the number of virtual CPUs of per-CPU maps; 0 means
	// GOMAXPROCS.
	NumCPU int
	// Fields are the value's bpf_spin_lock and bpf_timer (what the
	// kernel reads from the value's BTF; loader.ValueFields computes
	// them from a btf.Type).
	Fields [maps.MaxFields]maps.Field
}

func (s *MapSpec) mapsSpec() maps.Spec {
	return maps.Spec{Name: s.Name, Type: s.Type, KeySize: s.KeySize, ValueSize: s.ValueSize,
		MaxEntries: s.MaxEntries, Flags: s.Flags, MapExtra: s.MapExtra, NumCPU: s.NumCPU, Fields: s.Fields}
}

// MapOptions are the options of NewMapWithOptions.
type MapOptions struct {
	// PinPath is the directory (inside the pin root, or relative to it)
	// where PinByName maps are pinned; "" is the pin root itself.
	PinPath string
}

// MapInfo is what BPF_OBJ_GET_INFO_BY_FD says about a map, plus where it
// is pinned.
type MapInfo struct {
	Type       MapType
	ID         uint32
	Name       string
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
	Frozen     bool
	NumCPU     int
	// FileBacked: the map's storage is a file that other processes can
	// open (see docs/pinning.md).
	FileBacked bool
	// Pinned lists the paths the map is pinned at.
	Pinned []string
}

// mapObject is the map as the "kernel" holds it.
type mapObject struct {
	id  uint32
	reg *Registry

	// mu is held shared by every operation and exclusively while the
	// storage is switched (Pin of an in-memory map).
	mu  sync.RWMutex
	m   maps.Map
	old []maps.Map // storages replaced by a migration, released with the object

	// Under reg.mu:
	handles int
	pinned  string
	dead    bool
}

// Map is a handle to a map, like cilium/ebpf's *Map (a file descriptor).
// The map lives while it has handles or is pinned.
type Map struct {
	obj    *mapObject
	closed atomic.Bool
}

// NewMap creates a map in the default registry.
func NewMap(spec *MapSpec) (*Map, error) { return Default().NewMap(spec) }

// NewMapWithOptions creates (or, for PinByName, opens) a map in the
// default registry.
func NewMapWithOptions(spec *MapSpec, opts MapOptions) (*Map, error) {
	return Default().NewMapWithOptions(spec, opts)
}

// LoadPinnedMap opens a pinned map in the default registry.
func LoadPinnedMap(path string) (*Map, error) { return Default().LoadPinnedMap(path) }

// NewMap creates a map (BPF_MAP_CREATE).
func (r *Registry) NewMap(spec *MapSpec) (*Map, error) {
	return r.NewMapWithOptions(spec, MapOptions{})
}

// NewMapWithOptions creates a map; with spec.Pinning == PinByName it
// opens the map pinned at opts.PinPath/spec.Name if there is one (which
// must match the spec, else ErrMapIncompatible) and otherwise creates it
// there, file-backed from the start if its type allows.
func (r *Registry) NewMapWithOptions(spec *MapSpec, opts MapOptions) (*Map, error) {
	if spec == nil {
		return nil, errorf(unix.EINVAL, "nil MapSpec")
	}
	ms := spec.mapsSpec()
	if spec.Pinning != PinByName {
		m, err := maps.New(ms)
		if err != nil {
			return nil, err
		}
		return r.newHandle(m, ""), nil
	}
	if spec.Name == "" {
		return nil, errorf(unix.EINVAL, "PinByName needs a map name")
	}
	p := filepath.Join(opts.PinPath, spec.Name)
	for range 3 {
		m, err := r.LoadPinnedMap(p)
		if err == nil {
			if err := compatible(ms, m); err != nil {
				m.Close()
				return nil, err
			}
			return m, nil
		}
		if !isErrno(err, unix.ENOENT) {
			return nil, err
		}
		m, err = r.createPinned(ms, p)
		if isErrno(err, unix.EEXIST) {
			continue // another process won the race: open its map
		}
		return m, err
	}
	return nil, errorf(unix.EAGAIN, "pin path %s keeps changing", p)
}

func compatible(s maps.Spec, m *Map) error {
	got := m.obj.m.Spec()
	want, err := maps.New(maps.Spec{Type: s.Type, KeySize: s.KeySize, ValueSize: s.ValueSize,
		MaxEntries: s.MaxEntries, Flags: s.Flags, MapExtra: s.MapExtra, NumCPU: s.NumCPU})
	if err != nil {
		return err
	}
	w := want.Spec()
	if s.NumCPU == 0 {
		w.NumCPU = got.NumCPU
	}
	if got.Type != w.Type || got.KeySize != w.KeySize || got.ValueSize != w.ValueSize ||
		got.MaxEntries != w.MaxEntries || got.Flags != w.Flags || got.NumCPU != w.NumCPU {
		return fmt.Errorf("%w: pinned %v key %d value %d entries %d flags %#x cpus %d, spec %v key %d value %d entries %d flags %#x cpus %d",
			ErrMapIncompatible, got.Type, got.KeySize, got.ValueSize, got.MaxEntries, got.Flags, got.NumCPU,
			w.Type, w.KeySize, w.ValueSize, w.MaxEntries, w.Flags, w.NumCPU)
	}
	return nil
}

// fileBackable: the map can live in a file shared between processes.
// Values with a bpf_spin_lock or bpf_timer cannot (the file format has no
// record of them, and neither a lock nor a timer can be shared), so such
// maps get a process-local pin.
func fileBackable(s maps.Spec) bool {
	return maps.FileBacked(s.Type) && s.Fields == [maps.MaxFields]maps.Field{}
}

// createPinned creates a map pinned at p: file-backed if the type allows,
// else in memory with a process-local pin.
func (r *Registry) createPinned(s maps.Spec, p string) (*Map, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	full, err := r.pinPath(p, true)
	if err != nil {
		return nil, err
	}
	var m maps.Map
	if fileBackable(s) {
		m, err = maps.NewFile(s, full)
	} else {
		m, err = maps.New(s)
		if err == nil {
			err = maps.WriteLocalPin(m.Spec(), full)
		}
	}
	if err != nil {
		return nil, err
	}
	h := r.newHandleLocked(m, full)
	return h, nil
}

func (r *Registry) newHandle(m maps.Map, pinned string) *Map {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.newHandleLocked(m, pinned)
}

func (r *Registry) newHandleLocked(m maps.Map, pinned string) *Map {
	o := &mapObject{m: m, handles: 1, pinned: pinned, reg: r}
	r.nextID++
	o.id = r.nextID
	r.maps[o.id] = o
	if pinned != "" {
		r.pins[pinned] = o
	}
	return &Map{obj: o}
}

// LoadPinnedMap opens the map pinned at path (BPF_OBJ_GET): a new handle
// to the same object if this registry has it, else the pinned file,
// mapped into this process. A pin of another process's in-memory map is
// ENOTSUPP; a file that is not a valid pinned map is EINVAL.
func (r *Registry) LoadPinnedMap(path string) (*Map, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	full, err := r.pinPath(path, false)
	if err != nil {
		return nil, err
	}
	if o := r.pins[full]; o != nil && !o.dead {
		o.handles++
		return &Map{obj: o}, nil
	}
	m, err := maps.OpenFile(full)
	if err != nil {
		return nil, err
	}
	return r.newHandleLocked(m, full), nil
}

// use returns the current storage, holding o.mu shared; call done after.
func (m *Map) use() (maps.Map, error) {
	if m == nil || m.obj == nil || m.closed.Load() {
		return nil, errClosed
	}
	m.obj.mu.RLock()
	s := m.obj.m
	if !s.Frozen() && maps.FileFrozen(s) {
		s.Freeze() // another process froze the file
	}
	return s, nil
}

func (m *Map) done() { m.obj.mu.RUnlock() }

// Lookup copies key's value into valueOut (BPF_MAP_LOOKUP_ELEM).
func (m *Map) Lookup(key, valueOut any) error {
	return m.readValue(key, valueOut, maps.Map.Lookup)
}

// LookupWithFlags is Lookup with BPF_MAP_LOOKUP_ELEM's flags
// (LookupLock).
func (m *Map) LookupWithFlags(key, valueOut any, flags MapLookupFlags) error {
	return m.readValue(key, valueOut, func(s maps.Map, k []byte) ([]byte, error) {
		return s.LookupFlags(k, uint64(flags))
	})
}

// LookupAndDelete copies key's value into valueOut and deletes it.
func (m *Map) LookupAndDelete(key, valueOut any) error {
	return m.readValue(key, valueOut, maps.Map.LookupAndDelete)
}

// readValue is the shape of every call that takes a key and gives a
// value: hold the map, encode the key, call op, decode into valueOut.
func (m *Map) readValue(key, valueOut any, op func(maps.Map, []byte) ([]byte, error)) error {
	s, err := m.use()
	if err != nil {
		return err
	}
	defer m.done()
	k, err := marshalKey(s, key)
	if err != nil {
		return err
	}
	v, err := op(s, k)
	if err != nil {
		return err
	}
	return unmarshalValue(s, valueOut, v)
}

// Update sets key's value (BPF_MAP_UPDATE_ELEM). Per-CPU maps take a slice
// with one value per CPU (or the user-format bytes).
func (m *Map) Update(key, value any, flags MapUpdateFlags) error {
	s, err := m.use()
	if err != nil {
		return err
	}
	defer m.done()
	k, err := marshalKey(s, key)
	if err != nil {
		return err
	}
	v, err := marshalValue(s, value)
	if err != nil {
		return err
	}
	return s.Update(k, v, uint64(flags))
}

// Put is Update with UpdateAny.
func (m *Map) Put(key, value any) error { return m.Update(key, value, UpdateAny) }

// Delete removes key (BPF_MAP_DELETE_ELEM).
func (m *Map) Delete(key any) error {
	s, err := m.use()
	if err != nil {
		return err
	}
	defer m.done()
	k, err := marshalKey(s, key)
	if err != nil {
		return err
	}
	return s.Delete(k)
}

// NextKey stores the key after key in nextKeyOut (BPF_MAP_GET_NEXT_KEY); a
// nil key gives the first. After the last key it returns ErrKeyNotExist.
func (m *Map) NextKey(key, nextKeyOut any) error {
	s, err := m.use()
	if err != nil {
		return err
	}
	defer m.done()
	var k []byte
	if key != nil {
		if k, err = marshalKey(s, key); err != nil {
			return err
		}
	}
	next, err := s.NextKey(k)
	if err != nil {
		return err
	}
	return unmarshal(nextKeyOut, next)
}

// Freeze makes the map read-only to user space, in every process that has
// it open if it is file-backed (BPF_MAP_FREEZE).
func (m *Map) Freeze() error {
	s, err := m.use()
	if err != nil {
		return err
	}
	defer m.done()
	return maps.FreezeFile(s)
}

// Storage is the map's current storage, for the program side (helpers and
// the loader take its maps.Handle). Pin of an in-memory map replaces it.
func (m *Map) Storage() maps.Map {
	s, err := m.use()
	if err != nil {
		return nil
	}
	defer m.done()
	return s
}

// Info describes the map (BPF_OBJ_GET_INFO_BY_FD).
func (m *Map) Info() (*MapInfo, error) {
	s, err := m.use()
	if err != nil {
		return nil, err
	}
	defer m.done()
	sp := s.Spec()
	info := &MapInfo{Type: sp.Type, ID: m.obj.id, Name: sp.Name, KeySize: sp.KeySize, ValueSize: sp.ValueSize,
		MaxEntries: sp.MaxEntries, Flags: sp.Flags, Frozen: s.Frozen() || maps.FileFrozen(s), NumCPU: sp.NumCPU,
		FileBacked: maps.IsFile(s)}
	m.obj.reg.mu.Lock()
	if m.obj.pinned != "" {
		info.Pinned = []string{m.obj.pinned}
	}
	m.obj.reg.mu.Unlock()
	return info, nil
}

// ID is the map's ID.
func (m *Map) ID() uint32 { return m.obj.id }

// Type, KeySize, ValueSize, MaxEntries and Flags are the map's spec.
func (m *Map) Type() MapType      { return m.obj.spec().Type }
func (m *Map) KeySize() uint32    { return m.obj.spec().KeySize }
func (m *Map) ValueSize() uint32  { return m.obj.spec().ValueSize }
func (m *Map) MaxEntries() uint32 { return m.obj.spec().MaxEntries }
func (m *Map) Flags() uint32      { return m.obj.spec().Flags }

func (o *mapObject) spec() maps.Spec {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.m.Spec()
}

// IsPinned reports whether the map is pinned.
func (m *Map) IsPinned() bool {
	m.obj.reg.mu.Lock()
	defer m.obj.reg.mu.Unlock()
	return m.obj.pinned != ""
}

// Clone returns a new handle to the same map.
func (m *Map) Clone() (*Map, error) {
	if m.closed.Load() {
		return nil, errClosed
	}
	r := m.obj.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	m.obj.handles++
	return &Map{obj: m.obj}, nil
}

// Close releases the handle. The map is freed when it has no handles and
// is not pinned; its pinned file, if any, stays.
func (m *Map) Close() error {
	if m == nil || m.obj == nil || !m.closed.CompareAndSwap(false, true) {
		return nil
	}
	r := m.obj.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	m.obj.handles--
	return r.maybeFree(m.obj)
}

// Pin pins the map at path (BPF_OBJ_PIN), inside the pin root. Pinning at
// the path it is pinned at already does nothing; pinning a pinned map
// elsewhere moves the pin (as cilium/ebpf does). A map of a file-backed
// type that lives in memory is moved into a file first: its elements are
// copied while its users are held off, then every handle uses the file.
// Other map types get a pin that only this process can open.
func (m *Map) Pin(path string) error {
	if m.closed.Load() {
		return errClosed
	}
	o := m.obj
	r := o.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	full, err := r.pinPath(path, true)
	if isErrno(err, unix.EEXIST) && o.pinned != "" {
		if cur, err2 := r.pinPath(path, false); err2 == nil && cur == o.pinned {
			return nil
		}
	}
	if err != nil {
		return err
	}
	if o.pinned != "" {
		if err := renameNoReplace(o.pinned, full); err != nil {
			return errorf(maps.Errno(err), "move pin %s to %s: %v", o.pinned, full, err)
		}
		delete(r.pins, o.pinned)
		o.pinned = full
		r.pins[full] = o
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	cur := o.m
	switch {
	case fileBackable(cur.Spec()):
		// In memory, or a file whose pin was removed: copy into a new file.
		nm, err := maps.MigrateToFile(cur, full)
		if err != nil {
			return err
		}
		o.old = append(o.old, cur)
		o.m = nm
	default:
		if err := maps.WriteLocalPin(cur.Spec(), full); err != nil {
			return err
		}
	}
	o.pinned = full
	r.pins[full] = o
	return nil
}

// Unpin removes the map's pin (the file); the map itself lives on while
// it has handles, and processes that have the file mapped keep using it.
func (m *Map) Unpin() error {
	if m.closed.Load() {
		return errClosed
	}
	o := m.obj
	r := o.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if o.pinned == "" {
		return nil
	}
	if err := os.Remove(o.pinned); err != nil && !os.IsNotExist(err) {
		return errorf(maps.Errno(err), "unpin %s: %v", o.pinned, err)
	}
	delete(r.pins, o.pinned)
	o.pinned = ""
	return r.maybeFree(o)
}
