// Command gencap writes the example captures (examples/*/*.pcap) with
// gobee's own packet builder (internal/pcapgen). Run it from the
// repository root, or through `go generate ./examples`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gobee-dev/gobee/internal/pcapgen"
	"github.com/gobee-dev/gobee/pcap"
)

func main() {
	dir := flag.String("dir", "examples", "the examples directory")
	flag.Parse()
	for name, cfg := range pcapgen.Examples {
		if err := write(filepath.Join(*dir, name), pcapgen.Packets(cfg)); err != nil {
			fmt.Fprintln(os.Stderr, "gencap:", err)
			os.Exit(1)
		}
	}
}

func write(path string, ps []pcap.Packet) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w, err := pcap.NewWriter(f, &pcap.WriterOptions{SnapLen: 65535})
	if err == nil {
		for _, p := range ps {
			if err = w.WritePacket(p); err != nil {
				break
			}
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
