//go:build linux

package iface

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"
)

// TestLoopback sends a frame on lo and reads it back.
func TestLoopback(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("AF_PACKET needs root")
	}
	c, err := Open("lo")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetReadTimeout(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	frame := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0xb5, 'g', 'o', 'b', 'e', 'e', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	if err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	buf := make([]byte, 2048)
	for time.Now().Before(deadline) {
		f, err := c.Read(buf)
		if errors.Is(err, ErrTimeout) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(f.Data, frame) && !f.Outgoing && f.OrigLen == len(frame) {
			if _, err := Open("gobee-no-such-if"); err == nil {
				t.Fatal("opened a missing interface")
			}
			return
		}
	}
	t.Fatal("the frame did not come back on lo")
}
