package ringbuf

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/gobee-dev/gobee/maps"
)

func TestReader(t *testing.T) {
	m, err := maps.New(maps.Spec{Type: maps.RingBuf, MaxEntries: 4096})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(m)
	if err != nil {
		t.Fatal(err)
	}
	r.SetDeadline(time.Now())
	if _, err := r.Read(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal(err)
	}
	if r.BufferSize() != 4096 || r.AvailableBytes() != 0 {
		t.Fatal(r.BufferSize(), r.AvailableBytes())
	}
	r.Close()
	var rec Record
	if err := r.ReadInto(&rec); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}
