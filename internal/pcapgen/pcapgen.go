// Package pcapgen builds the example captures: deterministic mixes of
// Ethernet frames (IPv4 with and without options, IPv6, 802.1Q VLAN,
// TCP, UDP, ICMP, ICMPv6, ARP) plus truncated and odd-length frames and a
// few the kernel's test run refuses (shorter than an Ethernet header,
// longer than a page).
package pcapgen

import (
	"encoding/binary"
	"math/rand/v2"
	"time"

	"github.com/gobee-dev/gobee/pcap"
)

// Config selects what a capture contains.
type Config struct {
	Seed uint64
	// N is the number of regular frames (the odd ones come on top).
	N int
	// SrcV4 are IPv4 sources to draw from; DstPorts the TCP/UDP
	// destination ports.
	SrcV4    [][4]byte
	DstPorts []uint16
}

// Examples are the captures of examples/, by file name relative to it.
var Examples = map[string]Config{
	"xdp_firewall/xdp_firewall.pcap": {Seed: 1, N: 120,
		SrcV4:    [][4]byte{{10, 0, 0, 1}, {10, 66, 3, 4}, {192, 0, 2, 200}, {192, 0, 2, 7}, {172, 16, 5, 9}},
		DstPorts: []uint16{80, 443, 23, 6666, 53}},
	"tc_bytecount/tc_bytecount.pcap": {Seed: 2, N: 100},
	"socket_filter/socket_filter.pcap": {Seed: 3, N: 100,
		DstPorts: []uint16{80, 80, 443, 22, 53}},
}

// Base is the timestamp of the first packet.
var Base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	macA = []byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}
	macB = []byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}
)

// Packets returns the frames of cfg in order.
func Packets(cfg Config) []pcap.Packet {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	if len(cfg.SrcV4) == 0 {
		cfg.SrcV4 = [][4]byte{{10, 0, 0, 1}, {172, 16, 5, 9}}
	}
	if len(cfg.DstPorts) == 0 {
		cfg.DstPorts = []uint16{80, 443, 53}
	}
	var frames [][]byte
	for i := 0; i < cfg.N; i++ {
		src := cfg.SrcV4[r.IntN(len(cfg.SrcV4))]
		dst := [4]byte{192, 168, 1, byte(1 + r.IntN(20))}
		port := cfg.DstPorts[r.IntN(len(cfg.DstPorts))]
		payload := make([]byte, r.IntN(120))
		for j := range payload {
			payload[j] = byte(r.Uint32())
		}
		var l3 []byte
		var typ uint16
		switch k := r.IntN(10); {
		case k < 5: // IPv4
			var l4 []byte
			proto := byte(6)
			switch r.IntN(4) {
			case 0, 1:
				l4 = TCP(uint16(1024+r.IntN(60000)), port, payload)
			case 2:
				proto, l4 = 17, UDP(uint16(1024+r.IntN(60000)), port, payload)
			default:
				proto, l4 = 1, ICMPEcho(uint16(i), payload)
			}
			l3, typ = IPv4(src, dst, proto, r.IntN(6) == 0, l4), 0x0800
		case k < 8: // IPv6
			var l4 []byte
			nh := byte(6)
			switch r.IntN(3) {
			case 0:
				l4 = TCP(uint16(1024+r.IntN(60000)), port, payload)
			case 1:
				nh, l4 = 17, UDP(uint16(1024+r.IntN(60000)), port, payload)
			default:
				nh, l4 = 58, ICMPEcho(uint16(i), payload)
				l4[0] = 128
			}
			l3, typ = IPv6(byte(r.IntN(256)), nh, l4), 0x86dd
		case k < 9: // 802.1Q VLAN with IPv4 inside
			inner := IPv4(src, dst, 17, false, UDP(5353, port, payload))
			l3 = binary.BigEndian.AppendUint16(nil, uint16(1+r.IntN(4094)))
			l3 = binary.BigEndian.AppendUint16(l3, 0x0800)
			l3, typ = append(l3, inner...), 0x8100
		default: // ARP request
			l3, typ = ARP(src, dst), 0x0806
		}
		frames = append(frames, Ether(macA, macB, typ, l3))
	}
	// Odd frames: truncated headers, odd lengths, too short and too long
	// for the kernel's test run.
	tcp := Ether(macA, macB, 0x0800, IPv4(cfg.SrcV4[0], [4]byte{192, 168, 1, 1}, 6, false, TCP(4000, cfg.DstPorts[0], []byte("GET / HTTP/1.1\r\n"))))
	v6 := Ether(macA, macB, 0x86dd, IPv6(0, 17, UDP(1000, cfg.DstPorts[0], make([]byte, 33))))
	odd := [][]byte{
		tcp[:14+19],       // IPv4 header cut
		tcp[:14+20+3],     // TCP ports cut
		v6[:14+39],        // IPv6 header cut
		v6[:14+41],        // ports cut
		tcp[:14],          // Ethernet header only
		tcp[:15],          // one byte of payload
		tcp[:13],          // shorter than an Ethernet header: refused
		nil,               // empty: refused
		append(tcp, 0xee), // odd length, trailing byte
		Ether(macA, macB, 0x0800, IPv4(cfg.SrcV4[0], [4]byte{192, 168, 1, 2}, 17, false, UDP(9, cfg.DstPorts[0], make([]byte, 3900)))), // longer than a test run takes
	}
	frames = append(frames, odd...)
	// Spread the odd frames through the capture.
	r.Shuffle(len(frames), func(i, j int) { frames[i], frames[j] = frames[j], frames[i] })
	ps := make([]pcap.Packet, len(frames))
	for i, f := range frames {
		ps[i] = pcap.Packet{Timestamp: Base.Add(time.Duration(i) * 1371 * time.Microsecond), Data: f, OrigLen: len(f)}
	}
	return ps
}

// Ether builds an Ethernet II frame.
func Ether(dst, src []byte, typ uint16, payload []byte) []byte {
	b := append(append(append([]byte{}, dst...), src...), byte(typ>>8), byte(typ))
	return append(b, payload...)
}

func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// IPv4 builds an IPv4 header (with a 4-byte NOP option when opts) and
// payload, with a correct header checksum.
func IPv4(src, dst [4]byte, proto byte, opts bool, payload []byte) []byte {
	hl := 20
	if opts {
		hl = 24
	}
	h := make([]byte, hl)
	h[0] = 0x40 | byte(hl/4)
	binary.BigEndian.PutUint16(h[2:], uint16(hl+len(payload)))
	binary.BigEndian.PutUint16(h[4:], 0x1234)
	h[8], h[9] = 64, proto
	copy(h[12:], src[:])
	copy(h[16:], dst[:])
	if opts {
		copy(h[20:], []byte{1, 1, 1, 0})
	}
	binary.BigEndian.PutUint16(h[10:], checksum(h, 0))
	return append(h, payload...)
}

// IPv6 builds an IPv6 header (fd00::1 → fd00::2) and payload.
func IPv6(tc, nextHdr byte, payload []byte) []byte {
	h := make([]byte, 40)
	h[0], h[1] = 0x60|tc>>4, tc<<4
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6], h[7] = nextHdr, 64
	h[8], h[9], h[23] = 0xfd, 0, 1
	h[24], h[25], h[39] = 0xfd, 0, 2
	return append(h, payload...)
}

// TCP builds a TCP header (ACK|PSH) and payload; the checksum is left 0.
func TCP(sport, dport uint16, payload []byte) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint32(h[4:], 1000)
	h[12], h[13] = 5<<4, 0x18
	binary.BigEndian.PutUint16(h[14:], 65535)
	return append(h, payload...)
}

// UDP builds a UDP header and payload; the checksum is left 0.
func UDP(sport, dport uint16, payload []byte) []byte {
	h := make([]byte, 8)
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint16(h[4:], uint16(8+len(payload)))
	return append(h, payload...)
}

// ICMPEcho builds an ICMP echo request.
func ICMPEcho(seq uint16, payload []byte) []byte {
	h := make([]byte, 8)
	h[0] = 8
	binary.BigEndian.PutUint16(h[4:], 1)
	binary.BigEndian.PutUint16(h[6:], seq)
	b := append(h, payload...)
	binary.BigEndian.PutUint16(b[2:], checksum(b, 0))
	return b
}

// ARP builds an ARP request for dst from src.
func ARP(src, dst [4]byte) []byte {
	b := []byte{0, 1, 8, 0, 6, 4, 0, 1}
	b = append(b, macB...)
	b = append(b, src[:]...)
	b = append(b, 0, 0, 0, 0, 0, 0)
	return append(b, dst[:]...)
}
