package kfuncs

import (
	"encoding/binary"
	"fmt"
	"syscall"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/pkthelpers"
)

// A dynptr is 16 bytes on the program's stack (struct bpf_dynptr). gobee
// lays it out as the kernel's struct bpf_dynptr_kern: 8 bytes of data
// (gobee: a non-zero tag, since the referent, the run's skb or XDP frame,
// is found through the run's context; 0 is a null dynptr), then a u32 of
// size (low 24 bits), type (bits 28–30) and read-only flag (bit 31), then
// a u32 offset into the packet.
const (
	dynptrSize      = 16
	dynptrTag       = 0x6565626f67 // "gobee"
	dynptrSizeMask  = 0xffffff
	dynptrTypeShift = 28
	dynptrRdonly    = 1 << 31

	// enum bpf_dynptr_type
	dynptrTypeSKB = 3
	dynptrTypeXDP = 4
)

type dynptr struct {
	mem    []byte
	null   bool
	typ    uint32
	rdonly bool
	size   uint32
	off    uint32
}

func loadDynptr(r *interp.Run, name string, addr uint64, write bool) (*dynptr, error) {
	b, err := r.Mem(addr, dynptrSize, write)
	if err != nil {
		return nil, fmt.Errorf("%s: dynptr argument: %w", name, err)
	}
	w := binary.NativeEndian.Uint32(b[8:])
	return &dynptr{
		mem: b, null: binary.NativeEndian.Uint64(b[0:]) != dynptrTag,
		typ: w >> dynptrTypeShift & 7, rdonly: w&dynptrRdonly != 0, size: w & dynptrSizeMask,
		off: binary.NativeEndian.Uint32(b[12:]),
	}, nil
}

func (d *dynptr) store() {
	if d.null {
		clear(d.mem)
		return
	}
	w := d.size&dynptrSizeMask | d.typ<<dynptrTypeShift
	if d.rdonly {
		w |= dynptrRdonly
	}
	binary.NativeEndian.PutUint64(d.mem[0:], dynptrTag)
	binary.NativeEndian.PutUint32(d.mem[8:], w)
	binary.NativeEndian.PutUint32(d.mem[12:], d.off)
}

// packetWritable reports whether the run may store to its packet (the
// program type may write packet data directly).
func packetWritable(r *interp.Run, buf []byte) bool {
	if len(buf) == 0 {
		return false
	}
	_, err := r.Mem(interp.Addr(buf), 1, true)
	return err == nil
}

func dynptrFromSKB(r *interp.Run, _, flags, ptr, _, _ uint64) (uint64, error) {
	const name = "bpf_dynptr_from_skb"
	d, err := loadDynptr(r, name, ptr, true)
	if err != nil {
		return 0, err
	}
	c, ok := r.Context().(pkthelpers.SKBContext)
	if !ok || c.SKBuff() == nil {
		return 0, fmt.Errorf("%s: the run has no skb", name)
	}
	s := c.SKBuff()
	if flags != 0 {
		d.null = true
		d.store()
		return errno(syscall.EINVAL), nil
	}
	*d = dynptr{mem: d.mem, typ: dynptrTypeSKB, size: uint32(s.Len()), rdonly: !packetWritable(r, s.Buf[s.Data:s.Tail])}
	d.store()
	return 0, nil
}

func dynptrFromXDP(r *interp.Run, _, flags, ptr, _, _ uint64) (uint64, error) {
	const name = "bpf_dynptr_from_xdp"
	d, err := loadDynptr(r, name, ptr, true)
	if err != nil {
		return 0, err
	}
	c, ok := r.Context().(pkthelpers.XDPContext)
	if !ok || c.XDPBuff() == nil {
		return 0, fmt.Errorf("%s: the run has no XDP frame", name)
	}
	x := c.XDPBuff()
	if flags != 0 {
		d.null = true
		d.store()
		return errno(syscall.EINVAL), nil
	}
	*d = dynptr{mem: d.mem, typ: dynptrTypeXDP, size: uint32(x.End - x.Data + len(x.Frags))}
	d.store()
	return 0, nil
}

// checkOffLen is bpf_dynptr_check_off_len.
func (d *dynptr) checkOffLen(off, n uint32) bool {
	return off <= d.size && n <= d.size-off
}

func dynptrSlice(r *interp.Run, p, offset, buf, n, _ uint64) (uint64, error) {
	return slice(r, "bpf_dynptr_slice", p, uint32(offset), buf, uint32(n), false)
}

func dynptrSliceRdwr(r *interp.Run, p, offset, buf, n, _ uint64) (uint64, error) {
	return slice(r, "bpf_dynptr_slice_rdwr", p, uint32(offset), buf, uint32(n), true)
}

// slice is bpf_dynptr_slice and, with rdwr, bpf_dynptr_slice_rdwr.
func slice(r *interp.Run, name string, p uint64, offset uint32, buf uint64, n uint32, rdwr bool) (uint64, error) {
	d, err := loadDynptr(r, name, p, false)
	if err != nil {
		return 0, err
	}
	if d.null || (rdwr && d.rdonly) || !d.checkOffLen(offset, n) {
		return 0, nil
	}
	var dst []byte
	if buf != 0 {
		if dst, err = r.Mem(buf, uint64(n), true); err != nil {
			return 0, fmt.Errorf("%s: buffer argument: %w", name, err)
		}
	}
	abs := int(d.off) + int(offset)
	switch d.typ {
	case dynptrTypeSKB:
		c, ok := r.Context().(pkthelpers.SKBContext)
		if !ok || c.SKBuff() == nil {
			return 0, fmt.Errorf("%s: the run has no skb", name)
		}
		s := c.SKBuff()
		if abs+int(n) <= s.Len() {
			return interp.Addr(s.Buf) + uint64(s.Data+abs), nil
		}
		// gobee's skbs are linear: nothing to copy from.
		return 0, nil
	case dynptrTypeXDP:
		c, ok := r.Context().(pkthelpers.XDPContext)
		if !ok || c.XDPBuff() == nil {
			return 0, fmt.Errorf("%s: the run has no XDP frame", name)
		}
		x := c.XDPBuff()
		lin := x.End - x.Data
		if abs+int(n) > lin+len(x.Frags) {
			return 0, nil
		}
		if abs+int(n) <= lin {
			return interp.Addr(x.Buf) + uint64(x.Data+abs), nil
		}
		if dst == nil {
			return 0, nil
		}
		whole := append(append([]byte(nil), x.Buf[x.Data:x.End]...), x.Frags...)
		copy(dst, whole[abs:])
		return buf, nil
	}
	return 0, fmt.Errorf("%s: dynptr of type %d is not supported by gobee", name, d.typ)
}

func dynptrSizeFn(r *interp.Run, p, _, _, _, _ uint64) (uint64, error) {
	d, err := loadDynptr(r, "bpf_dynptr_size", p, false)
	if err != nil || d.null {
		return 0, err
	}
	return uint64(d.size), nil
}

func dynptrIsNull(r *interp.Run, p, _, _, _, _ uint64) (uint64, error) {
	d, err := loadDynptr(r, "bpf_dynptr_is_null", p, false)
	if err != nil {
		return 0, err
	}
	if d.null {
		return 1, nil
	}
	return 0, nil
}

func dynptrIsRdonly(r *interp.Run, p, _, _, _, _ uint64) (uint64, error) {
	d, err := loadDynptr(r, "bpf_dynptr_is_rdonly", p, false)
	if err != nil {
		return 0, err
	}
	if !d.null && d.rdonly {
		return 1, nil
	}
	return 0, nil
}

func dynptrAdjust(r *interp.Run, p, start, end, _, _ uint64) (uint64, error) {
	d, err := loadDynptr(r, "bpf_dynptr_adjust", p, true)
	if err != nil {
		return 0, err
	}
	s, e := uint32(start), uint32(end)
	if d.null {
		return errno(syscall.EINVAL), nil
	}
	if s > d.size || e > d.size {
		return errno(syscall.ERANGE), nil
	}
	if s > e {
		return errno(syscall.EINVAL), nil
	}
	d.off += s
	d.size = e - s
	d.store()
	return 0, nil
}
