//go:build linux

package iface

import (
	"errors"
	"fmt"
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Conn is an AF_PACKET socket bound to one interface.
type Conn struct {
	fd      int
	ifindex int
	name    string
	// Outgoing: Read also returns frames the host sends on the
	// interface (off by default: only received frames).
	Outgoing bool
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Open opens a raw AF_PACKET socket on the interface name receiving every
// protocol (ETH_P_ALL). It needs CAP_NET_RAW.
func Open(name string) (*Conn, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("iface %s: %w", name, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("iface %s: AF_PACKET socket: %w", name, err)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("iface %s: bind: %w", name, err)
	}
	// The kernel strips VLAN tags into the skb's metadata (rx VLAN
	// offload); auxdata gives them back so Read can put them in place, as
	// libpcap does.
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("iface %s: PACKET_AUXDATA: %w", name, err)
	}
	return &Conn{fd: fd, ifindex: ifi.Index, name: name}, nil
}

// Name is the interface's name; Index its ifindex.
func (c *Conn) Name() string { return c.name }

// Index is the interface's ifindex.
func (c *Conn) Index() int { return c.ifindex }

// SetReadTimeout bounds each Read (0: block forever).
func (c *Conn) SetReadTimeout(d time.Duration) error {
	tv := unix.NsecToTimeval(d.Nanoseconds())
	return unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
}

// Read receives the next frame into buf (a longer frame is cut, OrigLen
// tells its length). A VLAN tag the kernel took out of the frame is put
// back. It returns ErrTimeout when the read timeout passes.
func (c *Conn) Read(buf []byte) (Frame, error) {
	oob := make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.TpacketAuxdata{}))))
	for {
		n, oobn, _, from, err := unix.Recvmsg(c.fd, buf, oob, unix.MSG_TRUNC)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if errors.Is(err, unix.EAGAIN) {
				return Frame{}, ErrTimeout
			}
			return Frame{}, fmt.Errorf("iface %s: recvfrom: %w", c.name, err)
		}
		out := false
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			out = ll.Pkttype == unix.PACKET_OUTGOING
		}
		if out && !c.Outgoing {
			continue
		}
		got := min(n, len(buf))
		data := append([]byte(nil), buf[:got]...)
		if tag, ok := vlanTag(oob[:oobn]); ok && len(data) >= 12 {
			data = append(data[:12:12], append(tag[:], data[12:]...)...)
			n += 4
		}
		return Frame{Timestamp: time.Now(), Data: data, OrigLen: n, Outgoing: out}, nil
	}
}

// vlanTag returns the 802.1Q tag (TPID and TCI, network order) that
// PACKET_AUXDATA reports, if any.
func vlanTag(oob []byte) ([4]byte, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return [4]byte{}, false
	}
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_PACKET || m.Header.Type != unix.PACKET_AUXDATA ||
			len(m.Data) < int(unsafe.Sizeof(unix.TpacketAuxdata{})) {
			continue
		}
		aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&m.Data[0]))
		if aux.Status&unix.TP_STATUS_VLAN_VALID == 0 {
			return [4]byte{}, false
		}
		tpid := uint16(unix.ETH_P_8021Q)
		if aux.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
			tpid = aux.Vlan_tpid
		}
		return [4]byte{byte(tpid >> 8), byte(tpid), byte(aux.Vlan_tci >> 8), byte(aux.Vlan_tci)}, true
	}
	return [4]byte{}, false
}

// Write sends frame (starting with its Ethernet header) on the interface.
func (c *Conn) Write(frame []byte) error {
	sa := &unix.SockaddrLinklayer{Ifindex: c.ifindex, Halen: 6}
	if len(frame) >= 14 {
		copy(sa.Addr[:], frame[:6])
		sa.Protocol = uint16(frame[12]) | uint16(frame[13])<<8 // network order, as the kernel wants it
	}
	if err := unix.Sendto(c.fd, frame, 0, sa); err != nil {
		return fmt.Errorf("iface %s: sendto: %w", c.name, err)
	}
	return nil
}

// Close closes the socket.
func (c *Conn) Close() error { return unix.Close(c.fd) }
