package loader

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// TestMutatedObjects loads randomly corrupted copies of the test objects:
// every one must give a spec or an error promptly — never a panic, and
// never the seconds and gigabytes a corrupt .bss size once cost (a 5 s
// bound catches that class of bug, not slowness).
func TestMutatedObjects(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for _, p := range []string{progsObj, "../testdata/loader/sections.o"} {
		b, _ := os.ReadFile(p)
		for i := 0; i < 1500; i++ {
			m := append([]byte{}, b...)
			for k := 0; k < 1+rng.IntN(8); k++ {
				m[rng.IntN(len(m))] = byte(rng.Uint32())
			}
			start := time.Now()
			cs, err := LoadReader(bytes.NewReader(m))
			if err == nil {
				for _, p := range cs.Programs {
					_, _ = Link(p, nil)
				}
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("%s iter %d: %v %v", p, i, d, err)
			}
		}
	}
}
