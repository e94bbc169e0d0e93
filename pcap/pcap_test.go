package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func samplePackets() []Packet {
	var ps []Packet
	for i := 0; i < 20; i++ {
		d := make([]byte, 14+i*7)
		for j := range d {
			d[j] = byte(i + j)
		}
		ps = append(ps, Packet{Timestamp: time.Unix(1700000000+int64(i), int64(i)*1001001).UTC(), Data: d, OrigLen: len(d) + i%3})
	}
	return ps
}

func TestRoundTrip(t *testing.T) {
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, nano := range []bool{false, true} {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, &WriterOptions{Nano: nano, ByteOrder: bo, SnapLen: 65535})
			if err != nil {
				t.Fatal(err)
			}
			in := samplePackets()
			for _, p := range in {
				if err := w.WritePacket(p); err != nil {
					t.Fatal(err)
				}
			}
			r, err := NewReader(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if r.LinkType() != LinkTypeEthernet || r.SnapLen() != 65535 || r.Nanosecond() != nano || r.ByteOrder() != bo {
				t.Fatalf("%v nano=%v: header: link %d snap %d nano %v", bo, nano, r.LinkType(), r.SnapLen(), r.Nanosecond())
			}
			out, err := r.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != len(in) {
				t.Fatalf("%d packets, want %d", len(out), len(in))
			}
			for i := range in {
				want := in[i].Timestamp
				if !nano {
					want = want.Truncate(time.Microsecond)
				}
				if !bytes.Equal(out[i].Data, in[i].Data) || out[i].OrigLen != in[i].OrigLen || !out[i].Timestamp.Equal(want) {
					t.Fatalf("%v nano=%v: packet %d differs: %+v vs %+v", bo, nano, i, out[i], in[i])
				}
			}
		}
	}
}

func TestSnapLenCut(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, &WriterOptions{SnapLen: 16})
	_ = w.WritePacket(Packet{Data: make([]byte, 100)})
	ps, err := mustReader(t, buf.Bytes()).ReadAll()
	if err != nil || len(ps) != 1 || len(ps[0].Data) != 16 || ps[0].OrigLen != 100 {
		t.Fatalf("%v %+v", err, ps)
	}
}

func mustReader(t *testing.T, b []byte) *Reader {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTruncated(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, nil)
	for _, p := range samplePackets()[:3] {
		_ = w.WritePacket(p)
	}
	full := buf.Bytes()
	// Third record starts at 24 + (16+14) + (16+21) = 91 and has 28 bytes.
	for cut, want := range map[int]string{
		len(full) - 1: "record 3 at offset 91: record truncated: header says 28 bytes, file has 27",
		91 + 5:        "record 3 at offset 91: record header truncated: 5 of 16 bytes",
	} {
		_, err := mustReader(t, full[:cut]).ReadAll()
		var fe *FormatError
		if !errors.As(err, &fe) || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), want) {
			t.Errorf("cut at %d: %v, want %q", cut, err, want)
		}
	}
	// A huge captured length is refused, not allocated.
	bad := append([]byte(nil), full...)
	binary.LittleEndian.PutUint32(bad[24+8:], 1<<30)
	if _, err := mustReader(t, bad).Next(); err == nil || !strings.Contains(err.Error(), "record 1 at offset 24: captured length 1073741824") {
		t.Errorf("huge record: %v", err)
	}
}

func TestNotPcap(t *testing.T) {
	for _, in := range []string{"", "ab", "\x7fELF\x02\x01\x01\x00 and more bytes of an object", "hello world, this is text"} {
		_, err := NewReader(strings.NewReader(in))
		if !errors.Is(err, ErrNotPcap) {
			t.Errorf("%q: %v", in, err)
		}
	}
	var buf bytes.Buffer
	_, _ = NewWriter(&buf, nil)
	if _, err := NewReader(bytes.NewReader(buf.Bytes()[:10])); err == nil || !strings.Contains(err.Error(), "file header truncated") {
		t.Errorf("short header: %v", err)
	}
}

// ngBlock builds a pcapng block.
func ngBlock(bo binary.AppendByteOrder, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	total := uint32(12 + len(body))
	b := bo.AppendUint32(nil, typ)
	b = bo.AppendUint32(b, total)
	b = append(b, body...)
	return bo.AppendUint32(b, total)
}

func buildNG(bo binary.AppendByteOrder) []byte {
	shb := bo.AppendUint32(nil, ngByteOrderMagic)
	shb = bo.AppendUint16(shb, 1)
	shb = bo.AppendUint16(shb, 0)
	shb = bo.AppendUint64(shb, ^uint64(0))
	f := ngBlock(bo, ngSHB, shb)
	idb := bo.AppendUint16(nil, 1)
	idb = bo.AppendUint16(idb, 0)
	idb = bo.AppendUint32(idb, 64)
	idb = bo.AppendUint16(idb, 9) // if_tsresol = 10^-9
	idb = bo.AppendUint16(idb, 1)
	idb = append(idb, 9, 0, 0, 0)
	idb = append(idb, 0, 0, 0, 0) // opt_endofopt
	f = append(f, ngBlock(bo, ngIDB, idb)...)
	f = append(f, ngBlock(bo, 0x0bad, []byte{1, 2, 3})...) // unknown: skipped
	ts := uint64(1700000000123456789)
	epb := bo.AppendUint32(nil, 0)
	epb = bo.AppendUint32(epb, uint32(ts>>32))
	epb = bo.AppendUint32(epb, uint32(ts))
	epb = bo.AppendUint32(epb, 15)
	epb = bo.AppendUint32(epb, 20)
	epb = append(epb, []byte("abcdefghijklmno")...)
	f = append(f, ngBlock(bo, ngEPB, epb)...)
	spb := bo.AppendUint32(nil, 100) // cut to the snap length 64
	spb = append(spb, make([]byte, 64)...)
	return append(f, ngBlock(bo, ngSPB, spb)...)
}

func TestPcapng(t *testing.T) {
	for _, bo := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		f := buildNG(bo)
		r := mustReader(t, f)
		ps, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if !r.NG() || r.LinkType() != LinkTypeEthernet || r.SnapLen() != 64 || len(ps) != 2 {
			t.Fatalf("%v: %v %d %d %d", bo, r.NG(), r.LinkType(), r.SnapLen(), len(ps))
		}
		if string(ps[0].Data) != "abcdefghijklmno" || ps[0].OrigLen != 20 || ps[0].Timestamp.UnixNano() != 1700000000123456789 {
			t.Errorf("EPB: %+v", ps[0])
		}
		if len(ps[1].Data) != 64 || ps[1].OrigLen != 100 {
			t.Errorf("SPB: %d %d", len(ps[1].Data), ps[1].OrigLen)
		}
		_, err = mustReader(t, f[:len(f)-3]).ReadAll()
		if err == nil || !strings.Contains(err.Error(), "record 2 at offset") {
			t.Errorf("truncated pcapng: %v", err)
		}
	}
}

func FuzzReader(f *testing.F) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, &WriterOptions{Nano: true})
	for _, p := range samplePackets()[:4] {
		_ = w.WritePacket(p)
	}
	f.Add(buf.Bytes())
	f.Add(buildNG(binary.LittleEndian))
	f.Add(buildNG(binary.BigEndian))
	f.Add([]byte("not a capture"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		total := 0
		for i := 0; i < 10000; i++ {
			p, err := r.Next()
			if err != nil {
				var fe *FormatError
				if err != io.EOF && !errors.As(err, &fe) {
					t.Fatalf("error of type %T: %v", err, err)
				}
				return
			}
			total += len(p.Data)
			if total > len(b) {
				t.Fatalf("read %d bytes of packet data from a %d-byte file", total, len(b))
			}
		}
	})
}
