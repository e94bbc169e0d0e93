package objects

import (
	"errors"
	"testing"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"

	"github.com/gobee-dev/gobee/maps"
)

// TestKeylessMapAPI: a queue through the cilium-shaped API, with nil keys.
func TestKeylessMapAPI(t *testing.T) {
	m, err := NewMap(&MapSpec{Name: "q", Type: maps.Queue, ValueSize: 4, MaxEntries: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, v := range []uint32{7, 8} {
		if err := m.Update(nil, v, UpdateAny); err != nil {
			t.Fatalf("push %d: %v", v, err)
		}
	}
	if err := m.Update(nil, uint32(9), UpdateAny); !errors.Is(err, unix.E2BIG) {
		t.Fatalf("push into a full queue: %v, want E2BIG", err)
	}
	var v uint32
	if err := m.Lookup(nil, &v); err != nil || v != 7 {
		t.Fatalf("peek: %d, %v", v, err)
	}
	for _, want := range []uint32{7, 8} {
		if err := m.LookupAndDelete(nil, &v); err != nil || v != want {
			t.Fatalf("pop: %d, %v; want %d", v, err, want)
		}
	}
	if err := m.LookupAndDelete(nil, &v); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("pop from an empty queue: %v, want ENOENT", err)
	}
}
