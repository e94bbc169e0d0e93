package isa

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func FuzzAssemble(f *testing.F) {
	for _, c := range textCases {
		f.Add(c.text)
	}
	f.Add("l: r0 = 1\nif r0 > 3 goto l\n r1 = func(l) ll\nexit")
	f.Add("   0:\tb7 00 00 00 00 00 00 00\tr0 = 0")
	f.Add("0: (85) call bpf_map_lookup_elem#1")
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Assemble(text)
		if err != nil {
			return
		}
		out := Disassemble(p)
		q, err := Assemble(out)
		if err != nil {
			t.Fatalf("reassembling %q: %v", out, err)
		}
		want, got := p.Encode(nil, binary.LittleEndian), q.Encode(nil, binary.LittleEndian)
		if !bytes.Equal(got, want) {
			t.Fatalf("%q -> %q: got % x, want % x", text, out, got, want)
		}
	})
}

func FuzzDecodeRoundTrip(f *testing.F) {
	for _, c := range textCases {
		f.Add(mustHex(f, c.hex))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Decode(raw, binary.LittleEndian)
		if err != nil {
			return
		}
		text := Disassemble(p)
		q, err := Assemble(text)
		if err != nil {
			t.Fatalf("assembling %q: %v", text, err)
		}
		if got := q.Encode(nil, binary.LittleEndian); !bytes.Equal(got, raw) {
			t.Fatalf("%q: got % x, want % x", text, got, raw)
		}
	})
}
