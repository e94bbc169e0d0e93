// Package iface receives and sends Ethernet frames on a network interface
// through an AF_PACKET socket (Linux only), for running programs on live
// traffic (`gobee run --iface`).
package iface

import (
	"errors"
	"time"
)

// Frame is one received frame.
type Frame struct {
	Timestamp time.Time
	// Data are the captured bytes (at most the buffer given to Read).
	Data []byte
	// OrigLen is the frame's full length.
	OrigLen int
	// Outgoing: the frame was sent by this host (PACKET_OUTGOING).
	Outgoing bool
}

// ErrTimeout is returned by Read when the read deadline passes.
var ErrTimeout = errors.New("iface: read timeout")

// ErrUnsupported is returned on systems without AF_PACKET.
var ErrUnsupported = errors.New("iface: AF_PACKET sockets need Linux")
