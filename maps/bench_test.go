package maps

import (
	"testing"
)

// Benchmarks of the Go API (user-space Lookup/Update) and of the program
// API (LookupElem) for HASH, ARRAY and LRU_HASH with 1024 live keys.

func benchMap(b *testing.B, typ Type) Map {
	m := mustNew(b, Spec{Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 1024, NumCPU: 1})
	for i := range uint32(1024) {
		if err := m.Update(u32(i), u64(uint64(i)), 0); err != nil {
			b.Fatal(err)
		}
	}
	return m
}

func benchKeys() [][]byte {
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = u32(uint32(i))
	}
	return keys
}

func BenchmarkLookup(b *testing.B) {
	for _, typ := range []Type{Hash, Array, LRUHash} {
		b.Run(typ.String(), func(b *testing.B) {
			m, keys := benchMap(b, typ), benchKeys()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := m.Lookup(keys[i&1023]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUpdate(b *testing.B) {
	for _, typ := range []Type{Hash, Array, LRUHash} {
		b.Run(typ.String(), func(b *testing.B) {
			m, keys, v := benchMap(b, typ), benchKeys(), u64(7)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := m.Update(keys[i&1023], v, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLookupElem(b *testing.B) {
	for _, typ := range []Type{Hash, Array, LRUHash} {
		b.Run(typ.String(), func(b *testing.B) {
			m, keys := benchMap(b, typ), benchKeys()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if m.LookupElem(keys[i&1023], 0) == nil {
					b.Fatal("missing")
				}
			}
		})
	}
}

func BenchmarkLookupParallel(b *testing.B) {
	for _, typ := range []Type{Hash, Array} {
		b.Run(typ.String(), func(b *testing.B) {
			m, keys := benchMap(b, typ), benchKeys()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					m.LookupElem(keys[i&1023], 0)
					i++
				}
			})
		})
	}
}
