package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gobee-dev/gobee/objects"
)

// mapCLI runs `gobee ARGS...` and fails the test unless the exit status is
// want (0 or non-zero).
func mapCLI(t *testing.T, wantOK bool, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := runCLI(t, args...)
	if (code == 0) != wantOK {
		t.Fatalf("gobee %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errOut)
	}
	return out, errOut
}

func TestMapCommandHash(t *testing.T) {
	root := t.TempDir()
	t.Setenv(objects.PinRootEnv, root)

	mapCLI(t, true, "map", "create", "x", "type", "hash", "key", "4", "value", "8", "entries", "16", "name", "x")
	mapCLI(t, true, "map", "update", "pinned", "x", "key", "1", "0", "0", "0", "value", "2", "0", "0", "0", "0", "0", "0", "0")
	mapCLI(t, true, "map", "update", "pinned", filepath.Join(root, "x"), "key", "hex", "02", "00", "00", "00", "value", "0x03", "0", "0", "0", "0", "0", "0", "0", "noexist")
	if _, e := mapCLI(t, false, "map", "update", "pinned", "x", "key", "1", "0", "0", "0", "value", "2", "0", "0", "0", "0", "0", "0", "0", "noexist"); e != "Error: update failed: File exists\n" {
		t.Fatalf("noexist on an existing key: %q", e)
	}

	out, _ := mapCLI(t, true, "map", "lookup", "pinned", "x", "key", "1", "0", "0", "0")
	if out != "key: 01 00 00 00  value: 02 00 00 00 00 00 00 00\n" {
		t.Fatalf("lookup: %q", out)
	}
	out, _ = mapCLI(t, false, "map", "lookup", "pinned", "x", "key", "9", "0", "0", "0")
	if out != "key:\n09 00 00 00\n\nNot found\n" {
		t.Fatalf("lookup of a missing key: %q", out)
	}

	// The text and JSON dumps are bpftool's, byte for byte (checked
	// against bpftool v7 on a kernel hash map with the same contents;
	// hash order with these keys is the same).
	out, _ = mapCLI(t, true, "map", "dump", "pinned", "x")
	want := "key: 01 00 00 00  value: 02 00 00 00 00 00 00 00\nkey: 02 00 00 00  value: 03 00 00 00 00 00 00 00\nFound 2 elements\n"
	if !sameLines(out, want) {
		t.Fatalf("dump:\n%s\nwant (in any order):\n%s", out, want)
	}
	out, _ = mapCLI(t, true, "-j", "map", "dump", "pinned", "x")
	e1 := `{"key":["0x01","0x00","0x00","0x00"],"value":["0x02","0x00","0x00","0x00","0x00","0x00","0x00","0x00"]}`
	e2 := `{"key":["0x02","0x00","0x00","0x00"],"value":["0x03","0x00","0x00","0x00","0x00","0x00","0x00","0x00"]}`
	if out != "["+e1+","+e2+"]\n" && out != "["+e2+","+e1+"]\n" {
		t.Fatalf("dump -j: %q", out)
	}
	out, _ = mapCLI(t, true, "map", "dump", "pinned", "x", "-p")
	if !strings.HasPrefix(out, "[{\n        \"key\": [\"0x0") || !strings.HasSuffix(out, "\n        ]\n    }\n]\n") {
		t.Fatalf("dump -p: %q", out)
	}

	out, _ = mapCLI(t, true, "map", "getnext", "pinned", "x")
	if !strings.HasPrefix(out, "key: None\nnext key:\n0") {
		t.Fatalf("getnext without key: %q", out)
	}
	first := strings.TrimPrefix(out, "key: None\nnext key:\n")
	out, _ = mapCLI(t, true, append([]string{"map", "getnext", "pinned", "x", "key", "hex"}, strings.Fields(first)...)...)
	if !strings.Contains(out, "next key:\n0") {
		t.Fatalf("getnext: %q", out)
	}
	out, _ = mapCLI(t, true, "-j", "map", "getnext", "pinned", "x")
	if !strings.HasPrefix(out, `{"key":null,"next_key":["0x0`) {
		t.Fatalf("getnext -j: %q", out)
	}

	mapCLI(t, true, "map", "delete", "pinned", "x", "key", "2", "0", "0", "0")
	if _, e := mapCLI(t, false, "map", "delete", "pinned", "x", "key", "2", "0", "0", "0"); e != "Error: delete failed: No such file or directory\n" {
		t.Fatalf("delete of a missing key: %q", e)
	}
	if out, _ := mapCLI(t, false, "-j", "map", "delete", "pinned", "x", "key", "2", "0", "0", "0"); out != `{"error":"delete failed: No such file or directory"}`+"\n" {
		t.Fatalf("JSON error: %q", out)
	}
	if out, _ := mapCLI(t, true, "map", "dump", "pinned", "x"); !strings.HasSuffix(out, "Found 1 element\n") {
		t.Fatalf("dump after delete: %q", out)
	}

	mapCLI(t, true, "map", "freeze", "pinned", "x")
	if _, e := mapCLI(t, false, "map", "update", "pinned", "x", "key", "1", "0", "0", "0", "value", "2", "0", "0", "0", "0", "0", "0", "0"); e != "Error: update failed: Operation not permitted\n" {
		t.Fatalf("update of a frozen map: %q", e)
	}

	out, _ = mapCLI(t, true, "map", "show", "pinned", "x")
	wantShow := "1: hash  name x  flags 0x0\n\tkey 4B  value 8B  max_entries 16  memlock "
	if !strings.HasPrefix(out, wantShow) || !strings.HasSuffix(out, "B\n\tpinned "+filepath.Join(root, "x")+"\n\tfrozen\n") {
		t.Fatalf("show:\n%s", out)
	}
	out, _ = mapCLI(t, true, "-j", "map", "list")
	if !strings.HasPrefix(out, `[{"id":1,"type":"hash","name":"x","flags":0,"bytes_key":4,"bytes_value":8,"max_entries":16,"bytes_memlock":`) ||
		!strings.HasSuffix(out, `,"frozen":1,"pinned":["`+filepath.Join(root, "x")+`"]}]`+"\n") {
		t.Fatalf("show -j: %q", out)
	}
}

func sameLines(a, b string) bool {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(la) != len(lb) {
		return false
	}
	count := map[string]int{}
	for _, l := range la {
		count[l]++
	}
	for _, l := range lb {
		count[l]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestMapCommandPerCPUAndQueue(t *testing.T) {
	root := t.TempDir()
	t.Setenv(objects.PinRootEnv, "/nonexistent")
	// --pin-root overrides $GOBEE_PIN_ROOT.
	mapCLI(t, true, "--pin-root", root, "map", "create", "pa", "type", "percpu_array", "key", "4", "value", "4", "entries", "2", "name", "pa")
	mapCLI(t, true, "--pin-root", root, "map", "update", "pinned", "pa", "key", "1", "0", "0", "0", "value", "5", "0", "0", "0")
	out, _ := mapCLI(t, true, "--pin-root", root, "map", "lookup", "pinned", "pa", "key", "1", "0", "0", "0")
	if !strings.HasPrefix(out, "key:\n01 00 00 00\nvalue (CPU 00): 05 00 00 00\n") || strings.Count(out, "value (CPU") < 1 {
		t.Fatalf("per-CPU lookup: %q", out)
	}
	out, _ = mapCLI(t, true, "--pin-root", root, "-j", "map", "dump", "pinned", "pa")
	if !strings.Contains(out, `"values":[{"cpu":0,"value":["0x05","0x00","0x00","0x00"]}`) {
		t.Fatalf("per-CPU dump -j: %q", out)
	}

	t.Setenv(objects.PinRootEnv, root)
	mapCLI(t, true, "map", "create", "q", "type", "queue", "key", "0", "value", "4", "entries", "4", "name", "q")
	mapCLI(t, true, "map", "push", "pinned", "q", "value", "1", "0", "0", "0")
	mapCLI(t, true, "map", "push", "pinned", "q", "value", "2", "0", "0", "0")
	if out, _ := mapCLI(t, true, "map", "peek", "pinned", "q"); out != "value: 01 00 00 00\n" {
		t.Fatalf("peek: %q", out)
	}
	if out, _ := mapCLI(t, true, "-j", "map", "peek", "pinned", "q"); out != `{"key":[],"value":["0x01","0x00","0x00","0x00"]}`+"\n" {
		t.Fatalf("peek -j: %q", out)
	}
	if out, _ := mapCLI(t, true, "map", "pop", "pinned", "q"); out != "value: 01 00 00 00\n" {
		t.Fatalf("pop: %q", out)
	}
	if out, _ := mapCLI(t, true, "map", "pop", "pinned", "q"); out != "value: 02 00 00 00\n" {
		t.Fatalf("pop: %q", out)
	}
	if _, e := mapCLI(t, false, "map", "pop", "pinned", "q"); e != "Error: empty map\n" {
		t.Fatalf("pop of an empty queue: %q", e)
	}
	out, _ = mapCLI(t, true, "map", "show")
	if !strings.Contains(out, ": percpu_array  name pa  flags 0x0\n") || !strings.Contains(out, ": queue  name q  flags 0x0\n\tkey 0B  value 4B  max_entries 4  memlock ") {
		t.Fatalf("show:\n%s", out)
	}
}

func TestMapCommandBadInput(t *testing.T) {
	root := t.TempDir()
	t.Setenv(objects.PinRootEnv, root)
	mapCLI(t, true, "map", "create", "x", "type", "hash", "key", "4", "value", "8", "entries", "16", "name", "x")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"map", "create", "y", "type", "bogus", "key", "4", "value", "8", "entries", "16", "name", "y"}, "Error: unrecognized map type: bogus\n"},
		{[]string{"map", "create", "y", "type", "hash", "key", "4", "value", "8", "entries", "0", "name", "y"}, "Error: map create failed: Invalid argument"},
		{[]string{"map", "create", "x", "type", "hash", "key", "4", "value", "8", "entries", "16", "name", "x"}, "Error: can't pin the object (x): File exists"},
		{[]string{"map", "create", "../outside", "type", "hash", "key", "4", "value", "8", "entries", "16", "name", "o"}, "Error: can't pin the object (../outside): Operation not permitted"},
		{[]string{"map", "create", "/tmp/outside", "type", "hash", "key", "4", "value", "8", "entries", "16", "name", "o"}, "Error: can't pin the object (/tmp/outside): Operation not permitted"},
		{[]string{"map", "lookup", "pinned", "x", "key", "1", "0", "0"}, "Error: key expected 4 bytes got 3\n"},
		{[]string{"map", "update", "pinned", "x", "key", "1", "0", "0", "value", "1"}, "Error: error parsing byte: value\n"},
		{[]string{"map", "update", "pinned", "x", "key", "1", "0", "0", "0", "0", "value", "2", "0", "0", "0", "0", "0", "0", "0"}, "Error: expected key or value, got: 0\n"},
		{[]string{"map", "update", "pinned", "x", "key", "1", "0", "0", "0"}, "Error: did not find value\n"},
		{[]string{"map", "lookup", "pinned", "x", "key", "0x1g", "0", "0", "0"}, "Error: error parsing byte: 0x1g\n"},
		{[]string{"map", "lookup", "pinned", "x", "key", "256", "0", "0", "0"}, "Error: error parsing byte: 256\n"},
		{[]string{"map", "dump", "pinned", "nope"}, "Error: bpf obj get (nope): No such file or directory"},
		{[]string{"map", "dump", "pinned", "../../etc/passwd"}, "Error: bpf obj get (../../etc/passwd): Operation not permitted"},
		{[]string{"map", "dump"}, "Error: expected 'pinned' or 'name'"},
		{[]string{"map", "dump", "id", "1"}, "Error: map IDs are per process"},
		{[]string{"map", "frobnicate"}, "Error: unknown command 'frobnicate'\n"},
	} {
		_, e := mapCLI(t, false, tc.args...)
		if !strings.HasPrefix(e, tc.want) {
			t.Errorf("gobee %s: stderr %q, want prefix %q", strings.Join(tc.args, " "), e, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(root), "outside")); err == nil {
		t.Fatal("a map was pinned outside the root")
	}
}

// TestMapCommandCrossProcess: a second process (this test binary again)
// updates a pinned map with `gobee map update` while this one holds it
// open; this process then sees the value, through its handle and the CLI.
func TestMapCommandCrossProcess(t *testing.T) {
	root := t.TempDir()
	t.Setenv(objects.PinRootEnv, root)
	mapCLI(t, true, "map", "create", "shared", "type", "hash", "key", "4", "value", "8", "entries", "16", "name", "shared")
	m, err := objects.NewRegistry(objects.WithPinRoot(root)).LoadPinnedMap("shared")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Put(uint32(1), uint64(10)); err != nil {
		t.Fatal(err)
	}
	out, err := helperProcess(t, "map", "update", "pinned", "shared", "key", "7", "0", "0", "0", "value", "hex", "2a", "0", "0", "0", "0", "0", "0", "0")
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	out, err = helperProcess(t, "map", "lookup", "pinned", "shared", "key", "1", "0", "0", "0")
	if err != nil || !strings.Contains(out, "key: 01 00 00 00  value: 0a 00 00 00 00 00 00 00\n") {
		t.Fatalf("child lookup: %v\n%s", err, out)
	}
	var v uint64
	if err := m.Lookup(uint32(7), &v); err != nil || v != 42 {
		t.Fatalf("value written by the other process: %d, %v", v, err)
	}
	out, _ = mapCLI(t, true, "map", "lookup", "pinned", "shared", "key", "7", "0", "0", "0")
	if out != "key: 07 00 00 00  value: 2a 00 00 00 00 00 00 00\n" {
		t.Fatalf("lookup: %q", out)
	}
}

// helperProcess runs `gobee ARGS...` in a new process: this test binary,
// running TestHelperProcess.
func helperProcess(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := helperCmd(args...).CombinedOutput()
	return string(out), err
}

func helperCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "GOBEE_TEST_HELPER=1", "GOBEE_TEST_ARGS="+strings.Join(args, "\x1f"))
	return cmd
}

// TestHelperProcess is the child of helperProcess; it does nothing in a
// normal test run.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("GOBEE_TEST_HELPER") != "1" {
		t.Skip("only runs as a child process")
	}
	args := strings.Split(os.Getenv("GOBEE_TEST_ARGS"), "\x1f")
	if args[0] == "emit-trace" {
		emitTraceChild()
		os.Exit(0)
	}
	os.Exit(run(args, os.Stdout, os.Stderr))
}
