package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gobee-dev/gobee/kernel"
	"github.com/gobee-dev/gobee/pcap"
)

var runExamples = []string{"xdp_firewall", "tc_bytecount", "socket_filter"}

func exampleFiles(name string) (obj, capture string) {
	dir := filepath.Join("..", "..", "examples", name)
	return filepath.Join(dir, name+".o"), filepath.Join(dir, name+".pcap")
}

// TestRunExamplesAgainstKernel runs every example over its capture under
// gobee and under the kernel: per-packet return values (and refusals),
// verdict counts, output captures and map contents must be identical.
func TestRunExamplesAgainstKernel(t *testing.T) {
	kernelErr := kernel.Supported()
	compared := 0
	for _, ex := range runExamples {
		obj, capture := exampleFiles(ex)
		results := map[string]*pktResult{}
		outs := map[string][]byte{}
		for _, eng := range []string{"interp", "kernel"} {
			if eng == "kernel" && kernelErr != nil {
				continue
			}
			out := filepath.Join(t.TempDir(), ex+"."+eng+".pcap")
			res, err := pktRunSession(&pktRunConfig{obj: obj, pcapIn: capture, out: out, engine: eng}, io.Discard)
			if err != nil {
				t.Fatalf("%s, %s engine: %v", ex, eng, err)
			}
			results[eng] = res
			if outs[eng], err = os.ReadFile(out); err != nil {
				t.Fatal(err)
			}
			ps, err := readCapture(out)
			if err != nil || len(ps) != res.Passed {
				t.Fatalf("%s, %s engine: output capture: %d packets, %v; want %d", ex, eng, len(ps), err, res.Passed)
			}
		}
		g := results["interp"]
		if g.Packets < 50 || g.Passed == 0 || g.Passed == g.Packets || g.Verdicts["error"] == 0 {
			t.Errorf("%s: %d packets, %d passed, verdicts %v: the capture should exercise passes, drops and refusals", ex, g.Packets, g.Passed, g.Verdicts)
		}
		k := results["kernel"]
		if k == nil {
			continue
		}
		for i := range g.Retvals {
			if i >= len(k.Retvals) || g.Retvals[i] != k.Retvals[i] {
				t.Errorf("%s: packet %d: gobee %d, kernel %v", ex, i+1, g.Retvals[i], k.Retvals[min(i, len(k.Retvals)-1)])
			}
		}
		if !reflect.DeepEqual(g.Verdicts, k.Verdicts) {
			t.Errorf("%s: verdicts: gobee %v, kernel %v", ex, g.Verdicts, k.Verdicts)
		}
		if !bytes.Equal(outs["interp"], outs["kernel"]) {
			t.Errorf("%s: the output captures differ", ex)
		}
		if !reflect.DeepEqual(g.Maps, k.Maps) {
			t.Errorf("%s: maps differ:\ngobee  %+v\nkernel %+v", ex, g.Maps, k.Maps)
		}
		compared += len(g.Retvals)
	}
	if kernelErr != nil {
		t.Skipf("kernel engine unavailable (%v); gobee's runs passed", kernelErr)
	}
	fmt.Printf("run: compared %d packets against the kernel\n", compared)
}

func readCapture(path string) ([]pcap.Packet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		return nil, err
	}
	return r.ReadAll()
}

// TestRunOutput checks the text and JSON reports.
func TestRunOutput(t *testing.T) {
	obj, capture := exampleFiles("xdp_firewall")
	out, errOut, code := runCLI(t, "run", obj, "--pcap", capture)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"verdicts:", "XDP_PASS", "XDP_DROP", "map verdicts (array", "map deny_src (lpm_trie",
		"Found 5 elements", "bpf_trace_printk: xdp_firewall: drop src 10.66.3.4 (rule 1)", "shorter than an Ethernet header"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, args := range [][]string{{"-j", "run", obj, "--pcap", capture}, {"run", obj, "--pcap", capture, "-p"}} {
		out, errOut, code = runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		var doc struct {
			Program  string         `json:"program"`
			Packets  int            `json:"packets"`
			Passed   int            `json:"passed"`
			Verdicts map[string]int `json:"verdicts"`
			Errors   []struct {
				Packet int    `json:"packet"`
				Error  string `json:"error"`
			} `json:"errors"`
			Maps []struct {
				Name    string `json:"name"`
				Entries []struct {
					Key   []string `json:"key"`
					Value []string `json:"value"`
				} `json:"entries"`
			} `json:"maps"`
			Trace []string `json:"trace"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		sum := 0
		for _, n := range doc.Verdicts {
			sum += n
		}
		if doc.Program != "xdp_firewall" || doc.Packets == 0 || sum != doc.Packets || doc.Verdicts["XDP_PASS"] != doc.Passed ||
			len(doc.Errors) != doc.Verdicts["error"] || len(doc.Maps) < 3 || len(doc.Trace) == 0 {
			t.Errorf("%v: %+v", args, doc)
		}
	}
}

// TestRunBadInput checks that bad input gives a clear error, never a
// panic.
func TestRunBadInput(t *testing.T) {
	obj, capture := exampleFiles("xdp_firewall")
	dir := t.TempDir()
	data, err := os.ReadFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(dir, "trunc.pcap")
	os.WriteFile(trunc, data[:len(data)-5], 0o644)
	text := filepath.Join(dir, "text.pcap")
	os.WriteFile(text, []byte("this is not a capture\n"), 0o644)
	sections := filepath.Join("..", "..", "testdata", "loader", "sections.o")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", obj, "--pcap", obj}, "not a pcap or pcapng file"},
		{[]string{"run", obj, "--pcap", text}, "text.pcap: pcap: file header at offset 0: magic 0x74686973"},
		{[]string{"run", obj, "--pcap", trunc}, "trunc.pcap: pcap: record 130 at offset"},
		{[]string{"run", obj, "--pcap", filepath.Join(dir, "missing.pcap")}, "no such file"},
		{[]string{"run", obj, "--program", "nope", "--pcap", capture}, `no program "nope" (the object has: xdp_firewall)`},
		{[]string{"run", capture, "--pcap", capture}, "xdp_firewall.pcap"},
		{[]string{"run", sections, "--program", "p_kprobe", "--pcap", capture}, "gobee run runs XDP, TC (sched_cls) and socket filter programs"},
		{[]string{"run", obj}, "give --pcap FILE or --iface NAME"},
		{[]string{"run", obj, "--pcap", capture, "--engine", "jit"}, `--engine "jit"`},
		{[]string{"run", obj, "--pcap", capture, "--frobnicate"}, "unknown option --frobnicate"},
		{[]string{"run", obj, "--iface", "gobee-no-such-if0", "--count", "1"}, "gobee-no-such-if0"},
	}
	for _, c := range cases {
		out, errOut, code := runCLI(t, c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want an error with %q", c.args, code, errOut, out, c.want)
		}
	}
	// --count stops a capture early.
	if out, _, code := runCLI(t, "run", obj, "--pcap", capture, "--count", "7"); code != 0 || !strings.Contains(out, "7 packets from") {
		t.Errorf("--count 7: exit %d\n%s", code, out)
	}
	// In JSON mode the error is a JSON document.
	out, _, code := runCLI(t, "-j", "run", obj, "--pcap", text)
	if code == 0 || !strings.HasPrefix(out, `{"error":"`) {
		t.Errorf("JSON error: exit %d, %q", code, out)
	}
}

// TestReadmeFirstCommand runs the README's first command line exactly as
// a newcomer would, from the repository root.
func TestReadmeFirstCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gobee with go run")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(l, "    ") && strings.TrimSpace(l) != "" {
			line = strings.TrimSpace(l)
			break
		}
	}
	if !strings.HasPrefix(line, "go run ./cmd/gobee run examples/") || !strings.Contains(line, "--pcap examples/") {
		t.Fatalf("README's first command is %q, want `go run ./cmd/gobee run examples/... --pcap examples/...`", line)
	}
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	if !strings.Contains(string(out), "verdicts:") || !strings.Contains(string(out), "passed") {
		t.Fatalf("%s: unexpected output:\n%s", line, out)
	}
}

// runIP runs ip(8) and fails the test on error.
func runIP(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// TestRunIface runs the firewall on frames received on one end of a veth
// pair whose other end is in a network namespace the test creates; the
// frames are sent from there through an AF_PACKET socket.
func TestRunIface(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, veth, AF_PACKET)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2's ip is not installed")
	}
	id := os.Getpid() % 100000
	ns, a, b := fmt.Sprintf("gobee-run-%d", id), fmt.Sprintf("gbra%d", id), fmt.Sprintf("gbrb%d", id)
	runIP(t, "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	runIP(t, "link", "add", a, "type", "veth", "peer", "name", b)
	t.Cleanup(func() { exec.Command("ip", "link", "del", a).Run() })
	// No IPv6 autoconfiguration traffic (MLD, DAD) of the kernel's own on
	// the pair. A device's IPv6 settings start over when it moves to
	// another namespace, so b's is set in there.
	os.WriteFile("/proc/sys/net/ipv6/conf/"+a+"/disable_ipv6", []byte("1"), 0o644)
	runIP(t, "link", "set", b, "netns", ns)
	runIP(t, "netns", "exec", ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/"+b+"/disable_ipv6")
	runIP(t, "link", "set", a, "up")
	runIP(t, "-n", ns, "link", "set", b, "up")

	obj, capture := exampleFiles("xdp_firewall")
	all, err := readCapture(capture)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for _, p := range all {
		if len(p.Data) >= 60 && len(p.Data) <= 1514 {
			frames = append(frames, p.Data)
		}
	}
	sent := map[string]bool{}
	for _, f := range frames {
		sent[string(f)] = true
	}
	stop := make(chan struct{})
	senderErr := make(chan error, 1)
	go sendFromNetns(ns, b, frames, stop, senderErr)
	const count = 25
	outFile := filepath.Join(t.TempDir(), "out.pcap")
	done := make(chan struct{})
	var out, errOut string
	var code int
	go func() {
		out, errOut, code = runCLI(t, "-j", "run", obj, "--iface", a, "--count", fmt.Sprint(count), "--out", outFile)
		close(done)
	}()
	select {
	case <-done:
	case err := <-senderErr:
		close(stop)
		t.Fatalf("sender: %v", err)
	case <-time.After(60 * time.Second):
		close(stop)
		t.Fatal("gobee run --iface did not see enough frames in 60s")
	}
	close(stop)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, errOut, out)
	}
	var doc struct {
		Packets  int            `json:"packets"`
		Passed   int            `json:"passed"`
		Verdicts map[string]int `json:"verdicts"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if doc.Packets != count || doc.Verdicts["XDP_PASS"]+doc.Verdicts["XDP_DROP"] != count {
		t.Fatalf("got %+v, want %d packets, all passed or dropped", doc, count)
	}
	ps, err := readCapture(outFile)
	if err != nil || len(ps) != doc.Passed {
		t.Fatalf("output: %d packets, %v; want %d", len(ps), err, doc.Passed)
	}
	for i, p := range ps {
		if !sent[string(p.Data)] {
			t.Errorf("output packet %d (%d bytes) was not sent by the test", i, len(p.Data))
		}
	}
	t.Logf("%d frames from %s: %v", doc.Packets, a, doc.Verdicts)
}
