package examples

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gobee-dev/gobee/internal/pcapgen"
	"github.com/gobee-dev/gobee/pcap"
)

// TestCapturesUpToDate regenerates each example capture and compares it
// with the committed file: `go generate ./examples` must be a no-op.
func TestCapturesUpToDate(t *testing.T) {
	for name, cfg := range pcapgen.Examples {
		var buf bytes.Buffer
		w, err := pcap.NewWriter(&buf, &pcap.WriterOptions{SnapLen: 65535})
		if err != nil {
			t.Fatal(err)
		}
		ps := pcapgen.Packets(cfg)
		for _, p := range ps {
			if err := w.WritePacket(p); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(filepath.FromSlash(name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, buf.Bytes()) {
			t.Errorf("%s differs from what gencap writes: run go generate ./examples", name)
		}
		if len(ps) < 50 || len(ps) > 200 {
			t.Errorf("%s: %d packets", name, len(ps))
		}
	}
}

// TestObjectsExist checks that each example has its source and object.
func TestObjectsExist(t *testing.T) {
	for _, ex := range []string{"xdp_firewall", "tc_bytecount", "socket_filter"} {
		for _, ext := range []string{".c", ".o", ".pcap"} {
			if _, err := os.Stat(filepath.Join(ex, ex+ext)); err != nil {
				t.Error(err)
			}
		}
	}
}
