// Package pcap reads and writes packet captures: classic libpcap files
// (both byte orders, microsecond and nanosecond timestamps) and, for
// reading, pcapng files with one or more interfaces (enhanced and simple
// packet blocks).
//
// Errors about the file's contents are *FormatError values naming the
// record (1-based) and the byte offset where the problem was found.
package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Link types (LINKTYPE_* of the tcpdump.org registry).
const (
	LinkTypeNull     uint32 = 0
	LinkTypeEthernet uint32 = 1
	LinkTypeRaw      uint32 = 101
)

// Magic numbers of the classic format, as read in the file's byte order.
const (
	MagicMicro uint32 = 0xa1b2c3d4
	MagicNano  uint32 = 0xa1b23c4d
)

// MaxSnapLen is the largest record gobee accepts (libpcap's
// MAXIMUM_SNAPLEN): a bigger captured length is taken as corruption.
const MaxSnapLen = 262144

const (
	fileHeaderLen   = 24
	recordHeaderLen = 16
)

// Packet is one captured frame.
type Packet struct {
	Timestamp time.Time
	// Data are the captured bytes (at most the snap length).
	Data []byte
	// OrigLen is the frame's length on the wire (>= len(Data) in a
	// well-formed capture).
	OrigLen int
	// Interface is the pcapng interface index (0 for classic files).
	Interface int
}

// ErrNotPcap is wrapped by the error NewReader returns for input that is
// neither a pcap nor a pcapng file.
var ErrNotPcap = errors.New("not a pcap or pcapng file")

// FormatError is a malformed capture: what is wrong, in which record and
// at which byte offset of the file. Record is 0 for the file header.
type FormatError struct {
	Record int
	Offset int64
	Msg    string
	Err    error
}

func (e *FormatError) Error() string {
	if e.Record == 0 {
		return fmt.Sprintf("pcap: file header at offset %d: %s", e.Offset, e.Msg)
	}
	return fmt.Sprintf("pcap: record %d at offset %d: %s", e.Record, e.Offset, e.Msg)
}

// Unwrap returns the underlying error (ErrNotPcap, io.ErrUnexpectedEOF).
func (e *FormatError) Unwrap() error { return e.Err }

// Reader reads packets from a classic pcap or a pcapng file.
type Reader struct {
	r        *bufio.Reader
	off      int64
	record   int
	ng       bool
	order    binary.ByteOrder
	nano     bool
	snapLen  uint32
	linkType uint32
	ifaces   []ngIface
	hdr      [recordHeaderLen]byte
}

// NewReader reads the file header of r and returns a Reader positioned at
// the first packet. The format is detected from the magic number.
func NewReader(r io.Reader) (*Reader, error) {
	pr := &Reader{r: bufio.NewReaderSize(r, 1<<16)}
	var magic [4]byte
	n, err := io.ReadFull(pr.r, magic[:])
	if err != nil {
		return nil, &FormatError{Msg: fmt.Sprintf("%d bytes, too short for a pcap header (%v)", n, ErrNotPcap), Err: ErrNotPcap}
	}
	pr.off = 4
	if binary.BigEndian.Uint32(magic[:]) == ngSHB {
		pr.ng = true
		if err := pr.readSHB(); err != nil {
			return nil, err
		}
		return pr, nil
	}
	switch {
	case binary.LittleEndian.Uint32(magic[:]) == MagicMicro:
		pr.order = binary.LittleEndian
	case binary.LittleEndian.Uint32(magic[:]) == MagicNano:
		pr.order, pr.nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(magic[:]) == MagicMicro:
		pr.order = binary.BigEndian
	case binary.BigEndian.Uint32(magic[:]) == MagicNano:
		pr.order, pr.nano = binary.BigEndian, true
	default:
		return nil, &FormatError{Msg: fmt.Sprintf("magic %#08x: %v", binary.BigEndian.Uint32(magic[:]), ErrNotPcap), Err: ErrNotPcap}
	}
	var h [fileHeaderLen - 4]byte
	if n, err := io.ReadFull(pr.r, h[:]); err != nil {
		return nil, &FormatError{Offset: 4 + int64(n), Msg: "file header truncated", Err: io.ErrUnexpectedEOF}
	}
	pr.off = fileHeaderLen
	if major := pr.order.Uint16(h[0:]); major != 2 {
		return nil, &FormatError{Offset: 4, Msg: fmt.Sprintf("unsupported version %d.%d", major, pr.order.Uint16(h[2:]))}
	}
	pr.snapLen = pr.order.Uint32(h[12:])
	// The upper bits hold the FCS length (LINKTYPE_FCS); the link type is
	// the low 16 bits.
	pr.linkType = pr.order.Uint32(h[16:]) & 0xffff
	return pr, nil
}

// LinkType is the link type of the file (of the first interface for
// pcapng).
func (r *Reader) LinkType() uint32 { return r.linkType }

// SnapLen is the snap length of the file (of the first interface for
// pcapng).
func (r *Reader) SnapLen() uint32 { return r.snapLen }

// Nanosecond reports whether a classic file has nanosecond timestamps.
func (r *Reader) Nanosecond() bool { return r.nano }

// ByteOrder is the byte order of the file (of the current section for
// pcapng).
func (r *Reader) ByteOrder() binary.ByteOrder { return r.order }

// NG reports whether the file is pcapng.
func (r *Reader) NG() bool { return r.ng }

// Next returns the next packet, or io.EOF after the last one. Data is a
// new slice each time.
func (r *Reader) Next() (Packet, error) {
	if r.ng {
		return r.nextNG()
	}
	start := r.off
	n, err := io.ReadFull(r.r, r.hdr[:])
	if err == io.EOF {
		return Packet{}, io.EOF
	}
	r.record++
	if err != nil {
		return Packet{}, r.errAt(start, fmt.Sprintf("record header truncated: %d of %d bytes", n, recordHeaderLen), io.ErrUnexpectedEOF)
	}
	r.off += recordHeaderLen
	sec := r.order.Uint32(r.hdr[0:])
	frac := r.order.Uint32(r.hdr[4:])
	incl := r.order.Uint32(r.hdr[8:])
	orig := r.order.Uint32(r.hdr[12:])
	limit := uint32(MaxSnapLen)
	if r.snapLen > limit {
		limit = r.snapLen
	}
	if incl > limit {
		return Packet{}, r.errAt(start, fmt.Sprintf("captured length %d is larger than %d", incl, limit), nil)
	}
	data := make([]byte, incl)
	if n, err := io.ReadFull(r.r, data); err != nil {
		return Packet{}, r.errAt(start, fmt.Sprintf("record truncated: header says %d bytes, file has %d", incl, n), io.ErrUnexpectedEOF)
	}
	r.off += int64(incl)
	ns := int64(frac) * 1000
	if r.nano {
		ns = int64(frac)
	}
	return Packet{Timestamp: time.Unix(int64(sec), ns).UTC(), Data: data, OrigLen: int(orig)}, nil
}

func (r *Reader) errAt(off int64, msg string, err error) error {
	return &FormatError{Record: r.record, Offset: off, Msg: msg, Err: err}
}

// ReadAll reads every remaining packet.
func (r *Reader) ReadAll() ([]Packet, error) {
	var ps []Packet
	for {
		p, err := r.Next()
		if err == io.EOF {
			return ps, nil
		}
		if err != nil {
			return ps, err
		}
		ps = append(ps, p)
	}
}

// Writer writes a classic pcap file in the host-independent little-endian
// byte order.
type Writer struct {
	w       io.Writer
	nano    bool
	snapLen uint32
	ord     binary.ByteOrder
	buf     []byte
}

// WriterOptions configure NewWriter; the zero value writes an Ethernet
// capture with microsecond timestamps and snap length MaxSnapLen.
type WriterOptions struct {
	LinkType uint32
	SnapLen  uint32
	Nano     bool
	// ByteOrder of the file (default little endian).
	ByteOrder binary.ByteOrder
}

// NewWriter writes the file header to w.
func NewWriter(w io.Writer, o *WriterOptions) (*Writer, error) {
	var opt WriterOptions
	if o != nil {
		opt = *o
	}
	if opt.LinkType == 0 {
		opt.LinkType = LinkTypeEthernet
	}
	if opt.SnapLen == 0 {
		opt.SnapLen = MaxSnapLen
	}
	if opt.ByteOrder == nil {
		opt.ByteOrder = binary.LittleEndian
	}
	magic := MagicMicro
	if opt.Nano {
		magic = MagicNano
	}
	h := make([]byte, fileHeaderLen)
	opt.ByteOrder.PutUint32(h[0:], magic)
	opt.ByteOrder.PutUint16(h[4:], 2)
	opt.ByteOrder.PutUint16(h[6:], 4)
	opt.ByteOrder.PutUint32(h[16:], opt.SnapLen)
	opt.ByteOrder.PutUint32(h[20:], opt.LinkType)
	if _, err := w.Write(h); err != nil {
		return nil, err
	}
	return &Writer{w: w, nano: opt.Nano, snapLen: opt.SnapLen, ord: opt.ByteOrder, buf: make([]byte, recordHeaderLen)}, nil
}

// order is the byte order the header was written in; records use the same.
func (w *Writer) order() binary.ByteOrder { return w.ord }

// WritePacket appends one record. Data longer than the snap length is cut
// to it; OrigLen 0 means len(p.Data).
func (w *Writer) WritePacket(p Packet) error {
	data := p.Data
	if uint32(len(data)) > w.snapLen {
		data = data[:w.snapLen]
	}
	orig := p.OrigLen
	if orig == 0 || orig < len(p.Data) {
		orig = len(p.Data)
	}
	ts := p.Timestamp
	var sec, frac int64
	if !ts.IsZero() {
		sec = ts.Unix()
		frac = int64(ts.Nanosecond())
		if !w.nano {
			frac /= 1000
		}
	}
	o := w.order()
	o.PutUint32(w.buf[0:], uint32(sec))
	o.PutUint32(w.buf[4:], uint32(frac))
	o.PutUint32(w.buf[8:], uint32(len(data)))
	o.PutUint32(w.buf[12:], uint32(orig))
	if _, err := w.w.Write(w.buf); err != nil {
		return err
	}
	_, err := w.w.Write(data)
	return err
}
