package maps

import (
	"fmt"
	"runtime"
	"sort"
	"sync/atomic"
	"unsafe"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
)

// Special fields of map values, as the kernel's btf_record: a struct
// bpf_spin_lock and a struct bpf_timer that the value's BTF declares.
//
// The kernel never lets user space see or overwrite them:
// copy_map_value copies a value around them (so an update leaves the
// live lock word and timer alone, and a lookup returns them zeroed), and
// BPF_F_LOCK copies while holding the value's spin lock, the same lock
// bpf_spin_lock takes from programs (copy_map_value_locked). A timer is
// cancelled and freed when its element goes away (delete, replace,
// eviction), when an array element is updated, and when the map is
// released (bpf_obj_free_fields).

// FieldKind is the kind of a special field.
type FieldKind uint8

// Special field kinds.
const (
	// FieldSpinLock is struct bpf_spin_lock: 4 bytes, 4-byte aligned.
	FieldSpinLock FieldKind = iota + 1
	// FieldTimer is struct bpf_timer: 16 bytes, 8-byte aligned.
	FieldTimer
)

func (k FieldKind) String() string {
	switch k {
	case FieldSpinLock:
		return "bpf_spin_lock"
	case FieldTimer:
		return "bpf_timer"
	}
	return fmt.Sprintf("field(%d)", uint8(k))
}

// Size is the field's size in bytes (0 for an unknown kind).
func (k FieldKind) Size() int {
	switch k {
	case FieldSpinLock:
		return 4
	case FieldTimer:
		return 16
	}
	return 0
}

// Align is the field's alignment in bytes.
func (k FieldKind) Align() int {
	if k == FieldTimer {
		return 8
	}
	return 4
}

// MaxFields is the number of special fields a Spec holds.
const MaxFields = 2

// Field is one special field of a map value.
type Field struct {
	Kind   FieldKind
	Offset uint32
}

func (s *Spec) fieldOff(k FieldKind) int {
	for _, f := range s.Fields {
		if f.Kind == k && k != 0 {
			return int(f.Offset)
		}
	}
	return -1
}

// SpinLockOff is the offset of the value's bpf_spin_lock, -1 if none.
func (s *Spec) SpinLockOff() int { return s.fieldOff(FieldSpinLock) }

// TimerOff is the offset of the value's bpf_timer, -1 if none.
func (s *Spec) TimerOff() int { return s.fieldOff(FieldTimer) }

// checkFields is what map_check_btf does with the value's btf_record:
// the fields must be well formed (btf_parse_fields: one spin lock and one
// timer at most, E2BIG for a second; aligned and inside the value), the
// map must not restrict programs' access (EACCES), and the type must
// allow the field (EOPNOTSUPP): a spin lock in HASH and ARRAY, a timer
// in HASH, LRU_HASH and ARRAY (of the types gobee implements).
func checkFields(s *Spec) error {
	if s.Fields == ([MaxFields]Field{}) {
		return nil
	}
	var seen [3]bool
	for _, f := range s.Fields {
		if f.Kind == 0 {
			continue
		}
		n := f.Kind.Size()
		switch {
		case n == 0:
			return errorf(unix.EINVAL, "unknown special field kind %d", uint8(f.Kind))
		case seen[f.Kind]:
			return errorf(unix.E2BIG, "more than one %v in the value", f.Kind)
		case int(f.Offset)%f.Kind.Align() != 0:
			return errorf(unix.EINVAL, "%v at offset %d is not %d-byte aligned", f.Kind, f.Offset, f.Kind.Align())
		case uint64(f.Offset)+uint64(n) > uint64(s.ValueSize):
			return errorf(unix.EINVAL, "%v at offset %d does not fit in value_size %d", f.Kind, f.Offset, s.ValueSize)
		}
		seen[f.Kind] = true
	}
	if l, t := s.SpinLockOff(), s.TimerOff(); l >= 0 && t >= 0 && l+4 > t && t+16 > l {
		return errorf(unix.EINVAL, "bpf_spin_lock at %d overlaps bpf_timer at %d", l, t)
	}
	if s.Flags&(FlagRdonlyProg|FlagWronlyProg) != 0 {
		return errorf(unix.EACCES, "special fields in a map with BPF_F_RDONLY_PROG or BPF_F_WRONLY_PROG")
	}
	for _, f := range s.Fields {
		if f.Kind == 0 {
			continue
		}
		ok := false
		switch f.Kind {
		case FieldSpinLock:
			ok = s.Type == Hash || s.Type == Array
		case FieldTimer:
			ok = s.Type == Hash || s.Type == LRUHash || s.Type == Array
		}
		if !ok {
			return errorf(unix.EOPNOTSUPP, "%v not allowed in a %v map", f.Kind, s.Type)
		}
	}
	return nil
}

// special is a map's record of its special fields, ready for copies.
type special struct {
	lock, timer int // offset + 1; 0: none
	// skip are the fields' byte ranges, in offset order.
	skip [][2]int
}

func newSpecial(s *Spec) special {
	var p special
	for _, f := range s.Fields {
		if f.Kind == 0 {
			continue
		}
		off := int(f.Offset)
		switch f.Kind {
		case FieldSpinLock:
			p.lock = off + 1
		case FieldTimer:
			p.timer = off + 1
		}
		p.skip = append(p.skip, [2]int{off, off + f.Kind.Size()})
	}
	sort.Slice(p.skip, func(i, j int) bool { return p.skip[i][0] < p.skip[j][0] })
	return p
}

func (p *special) hasLock() bool  { return p.lock != 0 }
func (p *special) hasTimer() bool { return p.timer != 0 }

// copy is copy_map_value: src into dst around the special fields (up to
// the shorter of the two).
func (p *special) copy(dst, src []byte) {
	at := 0
	n := min(len(dst), len(src))
	for _, r := range p.skip {
		if r[0] >= n {
			break
		}
		copy(dst[at:r[0]], src[at:r[0]])
		at = r[1]
	}
	if at < n {
		copy(dst[at:n], src[at:n])
	}
}

// zero clears the special fields of a value copied to user space
// (check_and_init_map_value).
func (p *special) zero(dst []byte) {
	for _, r := range p.skip {
		if r[0] >= len(dst) {
			break
		}
		clear(dst[r[0]:min(r[1], len(dst))])
	}
}

// lockWordOf is the spin lock word of a live value.
func (p *special) lockWordOf(live []byte) *uint32 {
	return (*uint32)(unsafe.Pointer(&live[p.lock-1]))
}

// copyLocked is copy_map_value_locked: the copy between a live value
// and a buffer, holding the live value's spin lock.
func (p *special) copyLocked(dst, src, live []byte) {
	w := p.lockWordOf(live)
	spinAcquire(w)
	p.copy(dst, src)
	spinRelease(w)
}

// spinAcquire takes a bpf_spin_lock word (0 free, 1 held), spinning and
// then yielding while another holder has it.
func spinAcquire(w *uint32) {
	for spins := 0; !atomic.CompareAndSwapUint32(w, 0, 1); spins++ {
		if spins > 16 {
			runtime.Gosched()
		}
	}
}

func spinRelease(w *uint32) { atomic.StoreUint32(w, 0) }

// freeFields is bpf_obj_free_fields on a live value that is going away
// or being reset: its timer is cancelled and freed, so its callback
// never runs again and the timer reads as uninitialised.
func (p *special) freeFields(live []byte) {
	if p.timer != 0 && len(live) >= p.timer-1+16 {
		timerFree(live[p.timer-1:])
	}
}

// lockFlagOK is the BPF_F_LOCK check of map_update_elem and
// map_lookup_elem: EINVAL unless the value has a spin lock.
func (o *object) lockFlagOK(flags uint64) error {
	if flags&UpdateLock != 0 && !o.special.hasLock() {
		return errLockFlag
	}
	return nil
}

// LookupFlags is Lookup with BPF_MAP_LOOKUP_ELEM's flags: BPF_F_LOCK
// (UpdateLock) copies the value while holding its bpf_spin_lock, EINVAL
// if the value has none; other flags are EINVAL. As in the kernel the
// flags are checked before anything else, then the permissions.
func (o *object) LookupFlags(key []byte, flags uint64) ([]byte, error) {
	if flags&^uint64(UpdateLock) != 0 {
		return nil, errorf(unix.EINVAL, "lookup flags %#x", flags)
	}
	if flags == 0 {
		return o.Lookup(key)
	}
	if err := o.canRead(); err != nil {
		return nil, err
	}
	if err := o.lockFlagOK(flags); err != nil {
		return nil, err
	}
	if err := o.checkKey(key); err != nil {
		return nil, err
	}
	v := make([]byte, o.userValueSize)
	var err error
	switch c := o.core.(type) {
	case *hashCore:
		err = c.lookupLocked(key, v)
	case *arrayCore:
		err = c.lookupLocked(key, v)
	default:
		err = errLockFlag
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// lookupLocked copies key's value holding its spin lock.
func (h *hashCore) lookupLocked(key, dst []byte) error {
	e := h.find(key, htabHash(key, h.seed))
	if e == nil {
		return errNoKey
	}
	h.o.special.zero(dst)
	h.o.special.copyLocked(dst, e.value, e.value)
	return nil
}

// lookupLocked copies element key's value holding its spin lock.
func (a *arrayCore) lookupLocked(key, dst []byte) error {
	i, ok := a.index(key)
	if !ok {
		return errNoKey
	}
	e := a.elem(i)
	a.o.special.zero(dst)
	a.o.special.copyLocked(dst, e, e)
	return nil
}
