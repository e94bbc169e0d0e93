//go:build !linux

package iface

import "time"

// Conn is an AF_PACKET socket; it cannot be opened on this system.
type Conn struct{ Outgoing bool }

// Open fails: AF_PACKET needs Linux.
func Open(name string) (*Conn, error) { return nil, ErrUnsupported }

// Name is the interface's name.
func (c *Conn) Name() string { return "" }

// Index is the interface's ifindex.
func (c *Conn) Index() int { return 0 }

// SetReadTimeout fails.
func (c *Conn) SetReadTimeout(time.Duration) error { return ErrUnsupported }

// Read fails.
func (c *Conn) Read([]byte) (Frame, error) { return Frame{}, ErrUnsupported }

// Write fails.
func (c *Conn) Write([]byte) error { return ErrUnsupported }

// Close does nothing.
func (c *Conn) Close() error { return nil }
