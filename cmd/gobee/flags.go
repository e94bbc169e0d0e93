package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gobee-dev/gobee/objects"
)

// Global flags, accepted before the subcommand as bpftool accepts its
// options (`gobee -j map show`, `gobee --pin-root /tmp/pins map dump ...`).
// The map and trace subcommands also accept them anywhere among their own
// arguments (bpftool's getopt permutes arguments the same way); other
// subcommands only see what follows their name, so their own flags are
// untouched.
type globalFlags struct {
	json    bool   // -j, --json
	pretty  bool   // -p, --pretty: JSON, indented (implies -j)
	pinRoot string // --pin-root DIR: overrides $GOBEE_PIN_ROOT
}

// global holds the flags of the current run() call; run resets it.
var global globalFlags

// parseGlobalFlags strips the global flags at the front of args into g
// and returns the rest. It stops at the first argument that is not a
// global flag (the subcommand).
func parseGlobalFlags(args []string, g *globalFlags) ([]string, error) {
	for len(args) > 0 {
		n, err := takeGlobalFlag(args, g)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		args = args[n:]
	}
	return args, nil
}

// stripGlobalFlags removes global flags from anywhere in a subcommand's
// arguments (for the map and trace subcommands).
func stripGlobalFlags(args []string, g *globalFlags) ([]string, error) {
	var out []string
	for len(args) > 0 {
		n, err := takeGlobalFlag(args, g)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			out = append(out, args[0])
			n = 1
		}
		args = args[n:]
	}
	return out, nil
}

// takeGlobalFlag consumes one global flag at args[0] and reports how many
// arguments it used (0: not a global flag).
func takeGlobalFlag(args []string, g *globalFlags) (int, error) {
	a := args[0]
	switch a {
	case "-j", "--json":
		g.json = true
		return 1, nil
	case "-p", "--pretty":
		g.json, g.pretty = true, true
		return 1, nil
	case "-jp", "-pj":
		g.json, g.pretty = true, true
		return 1, nil
	case "--pin-root":
		if len(args) < 2 || args[1] == "" {
			return 0, fmt.Errorf("--pin-root needs a directory")
		}
		g.pinRoot = args[1]
		return 2, nil
	}
	if v, ok := strings.CutPrefix(a, "--pin-root="); ok {
		if v == "" {
			return 0, fmt.Errorf("--pin-root needs a directory")
		}
		g.pinRoot = v
		return 1, nil
	}
	return 0, nil
}

// applyGlobalFlags makes --pin-root visible to everything in the process
// that looks at $GOBEE_PIN_ROOT (objects.Default, the shared trace pipe).
func applyGlobalFlags(g *globalFlags) {
	if g.pinRoot != "" {
		os.Setenv(objects.PinRootEnv, g.pinRoot)
	}
}

// preRun is what run() does before dispatching: reset and parse the
// global flags. It returns the remaining arguments, or an exit status
// (>= 0) if run must stop.
func preRun(args []string, stderr io.Writer) ([]string, int) {
	global = globalFlags{}
	rest, err := parseGlobalFlags(args, &global)
	if err != nil {
		fmt.Fprintf(stderr, "gobee: %v\n", err)
		return nil, 2
	}
	applyGlobalFlags(&global)
	return rest, -1
}

// pinRoot is the pin root the CLI uses: --pin-root, else $GOBEE_PIN_ROOT,
// else /run/gobee.
func pinRoot() string {
	if global.pinRoot != "" {
		return global.pinRoot
	}
	if v := os.Getenv(objects.PinRootEnv); v != "" {
		return v
	}
	return objects.DefaultPinRoot
}
