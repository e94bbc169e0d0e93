package interp

import (
	"encoding/binary"
	"testing"

	"github.com/gobee-dev/gobee/isa"
)

// FuzzRunChecked runs arbitrary bytecode in checked mode: whatever the
// program does, the host must not crash, hang or be written outside the
// run's memory. Errors are expected; panics and escapes are bugs.
func FuzzRunChecked(f *testing.F) {
	f.Add(isa.Instructions{mov64(isa.R0, 1), exit}.Encode(nil, binary.LittleEndian))
	f.Add(isa.Instructions{
		{Op: isa.Opcode(uint8(isa.ClassLDX) | isa.ModeMEM | isa.SizeDW), Dst: isa.R0, Src: isa.R1, Off: 4},
		exit,
	}.Encode(nil, binary.LittleEndian))
	helpers := map[int32]HelperFunc{
		5: func(r *Run, r1, r2, r3, r4, r5 uint64) (uint64, error) { return r1, nil },
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		prog, err := isa.Decode(raw, binary.LittleEndian)
		if err != nil {
			return
		}
		p, err := Load(prog, &Options{Helpers: helpers, Budget: 10000})
		if err != nil {
			return
		}
		mem := make([]byte, 16)
		guard := make([]byte, 16) // must stay untouched: not a region
		_, _ = p.Run(&Input{Args: [5]uint64{Addr(mem), 16, Addr(guard)}, Regions: []Region{{Mem: mem, Writable: true}}})
		for _, b := range guard {
			if b != 0 {
				t.Fatalf("program wrote outside its regions")
			}
		}
	})
}
