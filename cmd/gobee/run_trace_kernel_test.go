package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/gobee-dev/gobee/internal/testutil"
	"github.com/gobee-dev/gobee/internal/tracefs"
)

// TestRunTraceEngines runs the xdp_firewall example (it calls
// trace_printk on every drop) with `gobee run -j` on both engines and
// compares the trace sections: the same number of lines, the same
// messages in the same order, the same comm, and the kernel's line
// layout (pid, [cpu], flags, timestamp) on both.
func TestRunTraceEngines(t *testing.T) {
	testutil.RequireKernel(t)
	if _, err := tracefs.Mount(); err != nil {
		t.Skipf("kernel trace output unavailable (run as root, or mount -t tracefs nodev /sys/kernel/tracing): %v", err)
	}
	obj, capture := exampleFiles("xdp_firewall")
	type doc struct {
		Trace     []string `json:"trace"`
		TraceNote string   `json:"trace_note"`
	}
	var docs [2]doc
	for i, engine := range []string{"interp", "kernel"} {
		out, errOut, code := runCLI(t, "-j", "run", obj, "--pcap", capture, "--engine", engine)
		if code != 0 {
			t.Fatalf("%s engine: exit %d: %s", engine, code, errOut)
		}
		if err := json.Unmarshal([]byte(out), &docs[i]); err != nil {
			t.Fatalf("%s engine: %v\n%s", engine, err, out)
		}
		if docs[i].TraceNote != "" {
			t.Fatalf("%s engine: trace note %q", engine, docs[i].TraceNote)
		}
	}
	g, k := docs[0].Trace, docs[1].Trace
	if len(g) == 0 || len(g) != len(k) {
		t.Fatalf("interp engine wrote %d trace lines, kernel engine %d:\ninterp %q\nkernel %q", len(g), len(k), g, k)
	}
	flags := regexp.MustCompile(`^[.dDbX][.nNpL][.hHsSzZ][.0-9a-f][.0-9a-f]$`)
	for i := range g {
		gl, err1 := tracefs.Parse(g[i])
		kl, err2 := tracefs.Parse(k[i])
		if err1 != nil || err2 != nil {
			t.Fatalf("line %d: %v %v", i, err1, err2)
		}
		if gl.Msg != kl.Msg || gl.Event != kl.Event || gl.Comm != kl.Comm {
			t.Errorf("line %d differs:\ninterp %q\nkernel %q", i, g[i], k[i])
		}
		if !flags.MatchString(gl.Flags) || !flags.MatchString(kl.Flags) || gl.Pid <= 0 || kl.Pid <= 0 {
			t.Errorf("line %d: bad fields:\ninterp %q\nkernel %q", i, g[i], k[i])
		}
		// Same layout: re-rendered with the kernel's format, each line
		// is unchanged.
		if gl.Format() != g[i] || kl.Format() != k[i] {
			t.Errorf("line %d: not in the kernel's layout:\ninterp %q\nkernel %q", i, g[i], k[i])
		}
	}
	msg := fmt.Sprintf("gobee run: compared %d trace lines of xdp_firewall across engines", len(g))
	t.Log(msg)
	fmt.Fprintln(os.Stderr, msg)
}
