package maps

import (
	"encoding/binary"
	"sync"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// Map ids: user space puts maps into ARRAY_OF_MAPS and HASH_OF_MAPS by a
// 4-byte reference (gobee's stand-in for a map fd) and reads back the
// inner map's id, as the kernel's lookups do. MapID hands out kernel-style
// ids (from 1, never reused).
var mapIDs struct {
	sync.Mutex
	next uint32
	byID map[uint32]*object
	ids  map[*object]uint32
}

// MapID registers m (once) and returns its id: the value to store in a
// map-in-map from user space, and what lookups of one return. It returns
// 0 for a Map that this package did not create.
func MapID(m Map) uint32 {
	o, ok := m.(*object)
	if !ok || o == nil {
		return 0
	}
	mapIDs.Lock()
	defer mapIDs.Unlock()
	if mapIDs.byID == nil {
		mapIDs.byID = map[uint32]*object{}
		mapIDs.ids = map[*object]uint32{}
	}
	if id, ok := mapIDs.ids[o]; ok {
		return id
	}
	mapIDs.next++
	mapIDs.byID[mapIDs.next] = o
	mapIDs.ids[o] = mapIDs.next
	return mapIDs.next
}

// MapByID returns the map with this id.
func MapByID(id uint32) (Map, bool) {
	o, ok := mapByID(id)
	return o, ok
}

func mapByID(id uint32) (*object, bool) {
	mapIDs.Lock()
	defer mapIDs.Unlock()
	o, ok := mapIDs.byID[id]
	return o, ok
}

// newMap is New, called through a variable to break the initialisation
// cycle rules → alloc → New → rules.
var newMap func(Spec) (Map, error)

func init() { newMap = New }

// innerMeta is the template a map-in-map's inner maps must match
// (bpf_map_meta_alloc): it is created from Spec.InnerMap.
func innerMeta(s *Spec) (*object, error) {
	if s.InnerMap == nil {
		return nil, errorf(unix.EBADF, "%v needs an inner map (Spec.InnerMap)", s.Type)
	}
	in := *s.InnerMap
	if in.NumCPU == 0 {
		in.NumCPU = s.NumCPU
	}
	switch in.Type {
	case ArrayOfMaps, HashOfMaps:
		return nil, errorf(unix.EINVAL, "an inner map cannot be a map-in-map (one level only)")
	case ProgArray:
		// No map_meta_equal in the kernel's prog array ops.
		return nil, errorf(ENOTSUPP, "a prog array cannot be an inner map")
	}
	m, err := newMap(in)
	if err != nil {
		return nil, err
	}
	return m.(*object), nil
}

// metaEqual is the inner map template's map_meta_equal: same type, key and
// value sizes and flags; arrays also need the same max_entries unless the
// template has BPF_F_INNER_MAP.
func metaEqual(meta, m *object) bool {
	a, b := meta.spec, m.spec
	if a.Type != b.Type || a.KeySize != b.KeySize || a.ValueSize != b.ValueSize || a.Flags != b.Flags {
		return false
	}
	switch a.Type {
	case Array, PerCPUArray:
		return a.Flags&FlagInnerMap != 0 || a.MaxEntries == b.MaxEntries
	}
	return true
}

// innerEntry is bpf_map_fd_get_ptr: an unknown id is EBADF, an
// incompatible map EINVAL.
func innerEntry(meta *object, id uint32) (*fdEntry, error) {
	m, ok := mapByID(id)
	if !ok {
		return nil, errorf(unix.EBADF, "no map with id %d", id)
	}
	if !metaEqual(meta, m) {
		return nil, errorf(unix.EINVAL, "map %d (%v, key %d, value %d, max_entries %d, flags %#x) does not match the inner map template",
			id, m.spec.Type, m.spec.KeySize, m.spec.ValueSize, m.spec.MaxEntries, m.spec.Flags)
	}
	Handle(m)
	return &fdEntry{id: id, m: m}, nil
}

// handleLookup is implemented by the map-in-map cores: a program's
// bpf_map_lookup_elem returns the inner map's handle itself.
type handleLookup interface {
	lookupInner(key []byte) uint64
}

// arrayOfMaps is BPF_MAP_TYPE_ARRAY_OF_MAPS.
type arrayOfMaps struct {
	*fdArrayCore
	meta *object
}

func arrayOfMapsCheck(s *Spec) error {
	return fdArrayAllocCheck(s)
}

func newArrayOfMapsCore(o *object) (core, error) {
	meta, err := innerMeta(&o.spec)
	if err != nil {
		return nil, err
	}
	a := &arrayOfMaps{meta: meta}
	a.fdArrayCore = newFdArray(o, func(id uint32) (*fdEntry, error) { return innerEntry(meta, id) })
	return a, nil
}

func (a *arrayOfMaps) lookupInner(key []byte) uint64 {
	i, _ := a.index(key)
	if e := a.entry(uint64(i)); e != nil {
		return Handle(e.m)
	}
	return 0
}

// hashOfMaps is BPF_MAP_TYPE_HASH_OF_MAPS: a hash table whose values are
// inner map handles (8 bytes inside, 4-byte ids in the user API).
type hashOfMaps struct {
	o    *object
	meta *object
	h    *object // Hash, value_size 8: the inner map's handle
}

// fdHtabAllocCheck is fd_htab_map_alloc_check followed by the inner map.
func fdHtabAllocCheck(s *Spec) error {
	if s.ValueSize != 4 {
		return errorf(unix.EINVAL, "value_size %d: %v values are 4 bytes", s.ValueSize, s.Type)
	}
	return htabAllocCheck(s)
}

func newHashOfMapsCore(o *object) (core, error) {
	meta, err := innerMeta(&o.spec)
	if err != nil {
		return nil, err
	}
	s := o.spec
	h, err := newMap(Spec{Type: Hash, KeySize: s.KeySize, ValueSize: 8, MaxEntries: s.MaxEntries,
		Flags: s.Flags & (FlagNoPrealloc | FlagNumaNode | FlagZeroSeed), NumCPU: s.NumCPU})
	if err != nil {
		return nil, err
	}
	return &hashOfMaps{o: o, meta: meta, h: h.(*object)}, nil
}

func (m *hashOfMaps) lookup(key, dst []byte) error {
	var v [8]byte
	if err := m.h.core.lookup(key, v[:]); err != nil {
		return err
	}
	o, ok := lookupHandle(binary.NativeEndian.Uint64(v[:]))
	if !ok {
		return errNoKey
	}
	binary.NativeEndian.PutUint32(dst, MapID(o))
	return nil
}

// update is bpf_fd_htab_map_update_elem: the reference is resolved first
// (EBADF, EINVAL), then htab's update with its flags.
func (m *hashOfMaps) update(key, value []byte, flags uint64, cpu int, user bool) error {
	if !user {
		return errNotSupp
	}
	e, err := innerEntry(m.meta, binary.NativeEndian.Uint32(value))
	if err != nil {
		return err
	}
	v := binary.NativeEndian.AppendUint64(nil, Handle(e.m))
	return m.h.core.update(key, v, flags, userCPU, true)
}

func (m *hashOfMaps) delete(key []byte) error               { return m.h.core.delete(key) }
func (m *hashOfMaps) nextKey(key []byte) ([]byte, error)    { return m.h.core.nextKey(key) }
func (m *hashOfMaps) lookupAndDelete(key, dst []byte) error { return errNotSupp }
func (m *hashOfMaps) lookupElem(key []byte, cpu int) []byte { return nil }
func (m *hashOfMaps) lookupInner(key []byte) uint64 {
	v := m.h.core.lookupElem(key, 0)
	if v == nil {
		return 0
	}
	return binary.NativeEndian.Uint64(v)
}

// lookupBatch is htab's batch lookup with each value turned into the
// inner map's id, as the kernel's does for fd hash maps.
func (m *hashOfMaps) lookupBatch(o *object, cursor, keys, values []byte, del bool) (int, []byte, error) {
	count := len(keys) / o.keySize
	handles := make([]byte, count*8)
	n, next, err := m.h.core.lookupBatch(m.h, cursor, keys, handles, del)
	for i := 0; i < n; i++ {
		var id uint32
		if in, ok := lookupHandle(binary.NativeEndian.Uint64(handles[i*8:])); ok {
			id = MapID(in)
		}
		binary.NativeEndian.PutUint32(values[i*4:], id)
	}
	return n, next, err
}
