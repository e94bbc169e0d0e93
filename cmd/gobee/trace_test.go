package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobee-dev/gobee/helpers"
	"github.com/gobee-dev/gobee/objects"
)

// emitTraceChild writes trace_printk lines through a TracePipe, as a
// running program would, until killed.
func emitTraceChild() {
	p := helpers.NewTracePipe()
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		p.Emit(helpers.TraceEntry{Comm: "gobee", Pid: uint32(os.Getpid()), Nanos: uint64(i) * 1000, Msg: []byte("hello from the child")})
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTracePipeCrossProcess: `gobee trace pipe` here reads the lines that
// another process's TracePipe emits, in the kernel's trace_pipe format.
func TestTracePipeCrossProcess(t *testing.T) {
	root := t.TempDir()
	t.Setenv(objects.PinRootEnv, root)
	var out, errOut syncBuffer
	done := make(chan int)
	go func() { done <- run([]string{"trace", "pipe", "count", "3"}, &out, &errOut) }()
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(root, helpers.SharedTraceName)); err == nil {
			break
		}
		if i == 500 {
			t.Fatal("the trace pipe was not created")
		}
		time.Sleep(10 * time.Millisecond)
	}
	child := helperCmd("emit-trace")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("trace pipe: exit %d: %s", code, errOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no trace lines; got %q", out.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	re := regexp.MustCompile(`^ +gobee-\d+ +\[000\] \.\.\.11 +\d+\.\d{6}: bpf_trace_printk: hello from the child$`)
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, got %q", out.String())
	}
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Fatalf("line %q is not in trace_pipe format", l)
		}
	}
}

// TestSharedTraceNoReader: with nobody reading, emitting is cheap and
// never blocks or fails.
func TestSharedTraceNoReader(t *testing.T) {
	root := t.TempDir()
	p := helpers.NewTracePipe()
	p.ShareTo(root)
	start := time.Now()
	for range 1000 {
		p.Emit(helpers.TraceEntry{Comm: "x", Msg: []byte("m")})
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("1000 lines without a reader took %v", d)
	}
	if got := strings.Count(string(p.Drain()), "\n"); got != 1000 {
		t.Fatalf("in-process pipe has %d lines", got)
	}
}
