package pcap

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// pcapng block types.
const (
	ngSHB uint32 = 0x0a0d0d0a
	ngIDB uint32 = 1
	ngSPB uint32 = 3
	ngEPB uint32 = 6

	ngByteOrderMagic uint32 = 0x1a2b3c4d
	ngMaxBlock              = 16 << 20
)

// ngIface is one interface description block.
type ngIface struct {
	linkType uint32
	snapLen  uint32
	// tsUnit is the timestamp unit in nanoseconds per tick, or, when
	// tsDiv is set, ticks per second for non-decimal resolutions.
	tsMul, tsDiv uint64
}

// readBlock reads a block's type, body and trailer; off is the block's
// file offset. The section header's type has already been read by the
// caller when first is set.
func (r *Reader) readSHB() error {
	start := r.off - 4
	var h [8]byte
	if n, err := io.ReadFull(r.r, h[:]); err != nil {
		return &FormatError{Offset: r.off + int64(n), Msg: "pcapng section header truncated", Err: io.ErrUnexpectedEOF}
	}
	r.off += 8
	switch {
	case binary.LittleEndian.Uint32(h[4:]) == ngByteOrderMagic:
		r.order = binary.LittleEndian
	case binary.BigEndian.Uint32(h[4:]) == ngByteOrderMagic:
		r.order = binary.BigEndian
	default:
		return &FormatError{Record: r.record, Offset: start, Msg: fmt.Sprintf("pcapng byte-order magic %#x: %v", binary.BigEndian.Uint32(h[4:]), ErrNotPcap), Err: ErrNotPcap}
	}
	total := r.order.Uint32(h[0:])
	if total < 28 || total%4 != 0 || total > ngMaxBlock {
		return &FormatError{Record: r.record, Offset: start, Msg: fmt.Sprintf("pcapng section header length %d", total)}
	}
	rest := make([]byte, total-12)
	if n, err := io.ReadFull(r.r, rest); err != nil {
		return &FormatError{Record: r.record, Offset: r.off + int64(n), Msg: "pcapng section header truncated", Err: io.ErrUnexpectedEOF}
	}
	r.off += int64(len(rest))
	if major := r.order.Uint16(rest[0:]); major != 1 {
		return &FormatError{Record: r.record, Offset: start, Msg: fmt.Sprintf("unsupported pcapng version %d", major)}
	}
	if r.order.Uint32(rest[len(rest)-4:]) != total {
		return &FormatError{Record: r.record, Offset: start, Msg: "pcapng section header: trailing length does not match"}
	}
	r.ifaces = r.ifaces[:0]
	return nil
}

// nextNG reads blocks until a packet block.
func (r *Reader) nextNG() (Packet, error) {
	for {
		start := r.off
		var h [8]byte
		n, err := io.ReadFull(r.r, h[:])
		if err == io.EOF {
			return Packet{}, io.EOF
		}
		if err != nil {
			return Packet{}, &FormatError{Record: r.record + 1, Offset: start, Msg: fmt.Sprintf("block header truncated: %d of 8 bytes", n), Err: io.ErrUnexpectedEOF}
		}
		typ := r.order.Uint32(h[0:])
		if binary.BigEndian.Uint32(h[0:]) == ngSHB {
			r.off += 4
			// Re-feed the length and magic to readSHB.
			if err := r.readSHBFrom(h[4:]); err != nil {
				return Packet{}, err
			}
			continue
		}
		r.off += 8
		total := r.order.Uint32(h[4:])
		isPkt := typ == ngEPB || typ == ngSPB
		rec := r.record
		if isPkt {
			rec++
		}
		if total < 12 || total%4 != 0 || total > ngMaxBlock {
			return Packet{}, &FormatError{Record: rec, Offset: start, Msg: fmt.Sprintf("block type %#x: bad length %d", typ, total)}
		}
		body := make([]byte, total-8)
		if n, err := io.ReadFull(r.r, body); err != nil {
			return Packet{}, &FormatError{Record: rec, Offset: start, Msg: fmt.Sprintf("block type %#x truncated: length %d, file has %d", typ, total, 8+n), Err: io.ErrUnexpectedEOF}
		}
		r.off += int64(len(body))
		if r.order.Uint32(body[len(body)-4:]) != total {
			return Packet{}, &FormatError{Record: rec, Offset: start, Msg: fmt.Sprintf("block type %#x: trailing length does not match", typ)}
		}
		body = body[:len(body)-4]
		switch typ {
		case ngIDB:
			if err := r.readIDB(body, start); err != nil {
				return Packet{}, err
			}
		case ngEPB, ngSPB:
			r.record++
			return r.packetNG(typ, body, start)
		}
	}
}

func (r *Reader) readSHBFrom(lenAndMagic []byte) error {
	// Put back the 4 bytes (length) we consumed beyond the type; the
	// byte-order magic is still unread.
	var magic [4]byte
	if n, err := io.ReadFull(r.r, magic[:]); err != nil {
		return &FormatError{Offset: r.off + int64(n), Msg: "pcapng section header truncated", Err: io.ErrUnexpectedEOF}
	}
	r.off += 8
	start := r.off - 12
	switch {
	case binary.LittleEndian.Uint32(magic[:]) == ngByteOrderMagic:
		r.order = binary.LittleEndian
	case binary.BigEndian.Uint32(magic[:]) == ngByteOrderMagic:
		r.order = binary.BigEndian
	default:
		return &FormatError{Record: r.record, Offset: start, Msg: "pcapng: bad byte-order magic"}
	}
	total := r.order.Uint32(lenAndMagic)
	if total < 28 || total%4 != 0 || total > ngMaxBlock {
		return &FormatError{Record: r.record, Offset: start, Msg: fmt.Sprintf("pcapng section header length %d", total)}
	}
	rest := make([]byte, total-12)
	if n, err := io.ReadFull(r.r, rest); err != nil {
		return &FormatError{Record: r.record, Offset: r.off + int64(n), Msg: "pcapng section header truncated", Err: io.ErrUnexpectedEOF}
	}
	r.off += int64(len(rest))
	r.ifaces = r.ifaces[:0]
	return nil
}

func (r *Reader) readIDB(b []byte, off int64) error {
	if len(b) < 8 {
		return &FormatError{Record: r.record, Offset: off, Msg: "interface description block too short"}
	}
	ifc := ngIface{linkType: uint32(r.order.Uint16(b[0:])), snapLen: r.order.Uint32(b[4:]), tsMul: 1000}
	opts := b[8:]
	for len(opts) >= 4 {
		code, l := r.order.Uint16(opts[0:]), int(r.order.Uint16(opts[2:]))
		opts = opts[4:]
		if code == 0 || l > len(opts) {
			break
		}
		if code == 9 && l >= 1 { // if_tsresol
			v := opts[0]
			if v&0x80 == 0 {
				exp := int(v)
				switch {
				case exp <= 9:
					mul := uint64(1)
					for i := exp; i < 9; i++ {
						mul *= 10
					}
					ifc.tsMul, ifc.tsDiv = mul, 0
				default:
					div := uint64(1)
					for i := 9; i < exp && i < 19; i++ {
						div *= 10
					}
					ifc.tsMul, ifc.tsDiv = 0, div
				}
			} else {
				ifc.tsMul, ifc.tsDiv = 0, 0
				if s := v & 0x7f; s < 63 {
					ifc.tsDiv = 1 << s // ticks per second, applied below
				}
				ifc.tsMul = 1 << 63 // marker: binary resolution
			}
		}
		opts = opts[(l+3)&^3:]
	}
	if len(r.ifaces) == 0 {
		r.linkType, r.snapLen = ifc.linkType, ifc.snapLen
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

func (ifc *ngIface) time(ticks uint64) time.Time {
	switch {
	case ifc.tsMul == 1<<63:
		if ifc.tsDiv == 0 {
			return time.Unix(0, 0).UTC()
		}
		sec := ticks / ifc.tsDiv
		rem := ticks % ifc.tsDiv
		return time.Unix(int64(sec), int64(rem*1e9/ifc.tsDiv)).UTC()
	case ifc.tsDiv != 0:
		return time.Unix(0, int64(ticks/ifc.tsDiv)).UTC()
	}
	return time.Unix(0, int64(ticks*ifc.tsMul)).UTC()
}

func (r *Reader) packetNG(typ uint32, b []byte, off int64) (Packet, error) {
	if len(r.ifaces) == 0 {
		return Packet{}, &FormatError{Record: r.record, Offset: off, Msg: "packet block before any interface description block"}
	}
	if typ == ngSPB {
		if len(b) < 4 {
			return Packet{}, &FormatError{Record: r.record, Offset: off, Msg: "simple packet block too short"}
		}
		orig := r.order.Uint32(b[0:])
		capLen := orig
		if s := r.ifaces[0].snapLen; s != 0 && capLen > s {
			capLen = s
		}
		if uint64(capLen) > uint64(len(b)-4) {
			return Packet{}, &FormatError{Record: r.record, Offset: off, Msg: fmt.Sprintf("simple packet block: %d bytes of data, block has %d", capLen, len(b)-4)}
		}
		return Packet{Data: append([]byte(nil), b[4:4+capLen]...), OrigLen: int(orig)}, nil
	}
	if len(b) < 20 {
		return Packet{}, &FormatError{Record: r.record, Offset: off, Msg: "enhanced packet block too short"}
	}
	id := r.order.Uint32(b[0:])
	if int(id) >= len(r.ifaces) || id > 1<<20 {
		return Packet{}, &FormatError{Record: r.record, Offset: off, Msg: fmt.Sprintf("enhanced packet block names interface %d of %d", id, len(r.ifaces))}
	}
	ticks := uint64(r.order.Uint32(b[4:]))<<32 | uint64(r.order.Uint32(b[8:]))
	capLen := r.order.Uint32(b[12:])
	orig := r.order.Uint32(b[16:])
	if uint64(capLen) > uint64(len(b)-20) {
		return Packet{}, &FormatError{Record: r.record, Offset: off, Msg: fmt.Sprintf("enhanced packet block: captured length %d, block has %d bytes of data", capLen, len(b)-20)}
	}
	ifc := &r.ifaces[id]
	return Packet{Timestamp: ifc.time(ticks), Data: append([]byte(nil), b[20:20+capLen]...), OrigLen: int(orig), Interface: int(id)}, nil
}
