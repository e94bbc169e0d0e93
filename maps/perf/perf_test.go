package perf

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/gobee-dev/gobee/maps"
)

func TestReader(t *testing.T) {
	m, err := maps.New(maps.Spec{Type: maps.PerfEventArray, KeySize: 4, ValueSize: 4, NumCPU: 2})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(m, 4096)
	if err != nil {
		t.Fatal(err)
	}
	r.SetDeadline(time.Now())
	if _, err := r.Read(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal(err)
	}
	r.Close()
	if _, err := r.Read(); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}
