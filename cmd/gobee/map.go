package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/maps"
	"github.com/gobee-dev/gobee/objects"
)

// `gobee map` is bpftool's `map` command for gobee's pinned maps. Maps are
// named by `pinned PATH` (relative to the pin root, or absolute inside it)
// or `name NAME` (the pinned map of that name). Map IDs are per process in
// gobee (every process is its own "kernel"), so `map show` lists the maps
// pinned under the pin root, giving each the ID it gets in this process.

func init() {
	register("map", "create, inspect and change pinned maps (like bpftool map)", runMap)
}

const mapUsage = `Usage: gobee [-j|-p] [--pin-root DIR] map { show | list }   [MAP]
       gobee map create     FILE type TYPE key KEY_SIZE value VALUE_SIZE \
                             entries MAX_ENTRIES name NAME [flags FLAGS]
       gobee map dump       MAP
       gobee map update     MAP [key DATA] [value VALUE] [UPDATE_FLAGS]
       gobee map lookup     MAP [key DATA]
       gobee map getnext    MAP [key DATA]
       gobee map delete     MAP  key DATA
       gobee map peek       MAP
       gobee map push       MAP value VALUE
       gobee map pop        MAP
       gobee map freeze     MAP
       gobee map help

       MAP := { pinned FILE | name MAP_NAME }
       DATA := { [hex] BYTES }
       VALUE := { DATA }
       UPDATE_FLAGS := { any | exist | noexist }
       TYPE := { hash | array | percpu_hash | percpu_array | lru_hash |
                 lru_percpu_hash | lpm_trie | queue | stack | bloom_filter |
                 ringbuf | prog_array | perf_event_array | ... }
       FILE is relative to the pin root (--pin-root, $GOBEE_PIN_ROOT or
       /run/gobee) or an absolute path inside it. IDs are per process:
       'map show' lists the maps pinned under the pin root.
`

// registries caches one registry per pin root, so that within a process
// (tests call run() many times) maps whose pins are local to the process
// (queues, stacks, ...) are found again.
var (
	registriesMu sync.Mutex
	registries   = map[string]*objects.Registry{}
)

func registryFor(root string) *objects.Registry {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	registriesMu.Lock()
	defer registriesMu.Unlock()
	r := registries[root]
	if r == nil {
		r = objects.NewRegistry(objects.WithPinRoot(root))
		registries[root] = r
	}
	return r
}

type mapCmd struct {
	stdout, stderr io.Writer
	g              globalFlags
	reg            *objects.Registry
}

// errExit is returned by the helpers after they have reported an error.
var errExit = errors.New("exit")

// fail reports an error the way bpftool does: "Error: ..." on stderr, or
// {"error":"..."} on stdout in JSON mode. The exit status is 1.
func (c *mapCmd) fail(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if c.g.json {
		j := c.json()
		j.startObject()
		j.strField("error", msg)
		j.endObject()
		j.finish()
	} else {
		fmt.Fprintf(c.stderr, "Error: %s\n", msg)
	}
	return errExit
}

func (c *mapCmd) json() *jsonWriter { return newJSONWriter(c.stdout, c.g.pretty) }

// jsonNull is what bpftool prints in JSON mode for commands that print
// nothing otherwise.
func (c *mapCmd) jsonNull() {
	if c.g.json {
		j := c.json()
		j.null()
		j.finish()
	}
}

// strerror renders an error's errno as glibc's strerror does, and for
// gobee errors adds what was wrong, when it says more.
func strerror(err error) string {
	e := maps.Errno(err)
	if e == 0 {
		return err.Error()
	}
	return errnoText(e)
}

func errnoText(e unix.Errno) string {
	if e == maps.ENOTSUPP {
		return "Unknown error 524"
	}
	s := e.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// detail is strerror plus gobee's explanation.
func detail(err error) string {
	var me *maps.Error
	if errors.As(err, &me) && me.Msg != "" {
		return errnoText(me.Errno) + " (" + me.Msg + ")"
	}
	return strerror(err)
}

// isPrefix is bpftool's is_prefix: arg is a non-empty prefix of word.
func isPrefix(arg, word string) bool { return arg != "" && strings.HasPrefix(word, arg) }

func runMap(args []string, stdout, stderr io.Writer) int {
	c := &mapCmd{stdout: stdout, stderr: stderr, g: global}
	args, err := stripGlobalFlags(args, &c.g)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	if c.g.pinRoot != "" && c.g.pinRoot != global.pinRoot {
		applyGlobalFlags(&c.g)
	}
	root := c.g.pinRoot
	if root == "" {
		root = pinRoot()
	}
	c.reg = registryFor(root)
	if len(args) == 0 {
		args = []string{"show"}
	}
	cmd, rest := args[0], args[1:]
	var run func([]string) error
	switch {
	case isPrefix(cmd, "show"), isPrefix(cmd, "list"):
		run = c.show
	case isPrefix(cmd, "create"):
		run = c.create
	case isPrefix(cmd, "dump"):
		run = c.dump
	case isPrefix(cmd, "update"):
		run = c.update
	case isPrefix(cmd, "lookup"):
		run = c.lookup
	case isPrefix(cmd, "getnext"):
		run = c.getnext
	case isPrefix(cmd, "delete"):
		run = c.delete
	case isPrefix(cmd, "peek"):
		run = func(a []string) error { return c.peekPop(a, false) }
	case isPrefix(cmd, "push"), isPrefix(cmd, "enqueue"):
		run = c.push
	case isPrefix(cmd, "pop"), isPrefix(cmd, "dequeue"):
		run = func(a []string) error { return c.peekPop(a, true) }
	case isPrefix(cmd, "freeze"):
		run = c.freeze
	case isPrefix(cmd, "help"):
		fmt.Fprint(stdout, mapUsage)
		return 0
	default:
		c.fail("unknown command '%s'", cmd)
		fmt.Fprint(stderr, mapUsage)
		return 1
	}
	if err := run(rest); err != nil {
		if err != errExit {
			c.fail("%v", err)
		}
		return 1
	}
	return 0
}

// openMap parses MAP (pinned FILE | name NAME | id ID) and opens it.
func (c *mapCmd) openMap(args []string) (*objects.Map, string, []string, error) {
	if len(args) < 2 {
		return nil, "", nil, c.fail("expected 'pinned' or 'name', got: '%s'?", strings.Join(args, " "))
	}
	switch {
	case isPrefix(args[0], "pinned"):
		m, err := c.reg.LoadPinnedMap(args[1])
		if err != nil {
			return nil, "", nil, c.fail("bpf obj get (%s): %s", args[1], detail(err))
		}
		return m, args[1], args[2:], nil
	case isPrefix(args[0], "name"):
		var found []string
		for _, p := range c.pinnedFiles() {
			if h, err := readHeader(p); err == nil && h.Spec.Name == args[1] {
				found = append(found, p)
			}
		}
		switch len(found) {
		case 0:
			return nil, "", nil, c.fail("no map with name %s under %s", args[1], c.reg.PinRoot())
		case 1:
		default:
			return nil, "", nil, c.fail("several maps match name %s: %s", args[1], strings.Join(found, ", "))
		}
		m, err := c.reg.LoadPinnedMap(found[0])
		if err != nil {
			return nil, "", nil, c.fail("bpf obj get (%s): %s", found[0], detail(err))
		}
		return m, found[0], args[2:], nil
	case isPrefix(args[0], "id"):
		return nil, "", nil, c.fail("map IDs are per process in gobee; name the map with 'pinned FILE' or 'name NAME'")
	}
	return nil, "", nil, c.fail("expected 'pinned' or 'name', got: '%s'?", args[0])
}

// pinnedFiles lists the regular files under the pin root, in lexical
// order, skipping dot files (the trace pipe, files being created).
func (c *mapCmd) pinnedFiles() []string {
	var out []string
	root := c.reg.PinRoot()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func readHeader(p string) (*maps.FileHeader, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	return maps.ParseFileHeader(b[:n], fi.Size())
}

// ---- show ----

type shownMap struct {
	id      uint32
	spec    maps.Spec
	frozen  bool
	memlock uint64
	pinned  string
	owner   uint32 // pid of the process a local (in-memory) pin belongs to
}

func memlockOf(path string, s maps.Spec) uint64 {
	if fi, err := os.Stat(path); err == nil && maps.FileBacked(s.Type) {
		return uint64(fi.Size())
	}
	// Not file-backed: an estimate of the storage, as bpftool's memlock is.
	v := uint64(s.ValueSize+7) &^ 7
	if s.Type.PerCPU() {
		v *= uint64(max(s.NumCPU, 1))
	}
	n := uint64(s.MaxEntries) * (uint64(s.KeySize+7)&^7 + v)
	if s.Type == maps.RingBuf {
		n = uint64(s.MaxEntries)
	}
	return (n + 4095) &^ 4095
}

func (c *mapCmd) describe(path string) (*shownMap, error) {
	m, err := c.reg.LoadPinnedMap(path)
	if err != nil {
		h, herr := readHeader(path)
		if herr != nil || h.Kind != maps.FileKindLocal {
			return nil, err
		}
		// A map another process pinned in its own memory: show its spec.
		return &shownMap{spec: h.Spec, memlock: memlockOf(path, h.Spec), pinned: path, owner: h.OwnerPID}, nil
	}
	defer m.Close()
	info, err := m.Info()
	if err != nil {
		return nil, err
	}
	s := maps.Spec{Name: info.Name, Type: info.Type, KeySize: info.KeySize, ValueSize: info.ValueSize,
		MaxEntries: info.MaxEntries, Flags: info.Flags, NumCPU: info.NumCPU}
	return &shownMap{id: info.ID, spec: s, frozen: info.Frozen, memlock: memlockOf(path, s), pinned: path}, nil
}

func (c *mapCmd) show(args []string) error {
	var list []*shownMap
	if len(args) > 0 {
		m, path, rest, err := c.openMap(args)
		if err != nil {
			return err
		}
		m.Close()
		if len(rest) > 0 {
			return c.fail("unexpected argument '%s'", rest[0])
		}
		full := path
		if !filepath.IsAbs(full) {
			full = filepath.Join(c.reg.PinRoot(), full)
		}
		sm, err := c.describe(full)
		if err != nil {
			return c.fail("can't get map info (%s): %s", path, detail(err))
		}
		list = append(list, sm)
	} else {
		for _, p := range c.pinnedFiles() {
			if sm, err := c.describe(p); err == nil {
				list = append(list, sm)
			}
		}
	}
	if c.g.json {
		j := c.json()
		if len(args) == 0 {
			j.startArray()
		}
		for _, sm := range list {
			j.startObject()
			j.uintField("id", uint64(sm.id))
			if sm.spec.Type < 34 {
				j.strField("type", sm.spec.Type.String())
			} else {
				j.uintField("type", uint64(sm.spec.Type))
			}
			j.strField("name", sm.spec.Name)
			j.uintField("flags", uint64(sm.spec.Flags))
			j.uintField("bytes_key", uint64(sm.spec.KeySize))
			j.uintField("bytes_value", uint64(sm.spec.ValueSize))
			j.uintField("max_entries", uint64(sm.spec.MaxEntries))
			j.uintField("bytes_memlock", sm.memlock)
			j.uintField("frozen", b2u(sm.frozen))
			if sm.owner != 0 {
				j.uintField("owner_pid", uint64(sm.owner))
			}
			j.name("pinned")
			j.startArray()
			j.str(sm.pinned)
			j.endArray()
			j.endObject()
		}
		if len(args) == 0 {
			j.endArray()
		}
		j.finish()
		return nil
	}
	for _, sm := range list {
		typ := sm.spec.Type.String()
		if sm.spec.Type >= 34 {
			typ = fmt.Sprintf("type %d", uint32(sm.spec.Type))
		}
		fmt.Fprintf(c.stdout, "%d: %s  ", sm.id, typ)
		if sm.spec.Name != "" {
			fmt.Fprintf(c.stdout, "name %s  ", sm.spec.Name)
		}
		fmt.Fprintf(c.stdout, "flags 0x%x\n", sm.spec.Flags)
		fmt.Fprintf(c.stdout, "\tkey %dB  value %dB  max_entries %d  memlock %dB\n",
			sm.spec.KeySize, sm.spec.ValueSize, sm.spec.MaxEntries, sm.memlock)
		fmt.Fprintf(c.stdout, "\tpinned %s\n", sm.pinned)
		if sm.owner != 0 {
			fmt.Fprintf(c.stdout, "\tin the memory of pid %d (not shared)\n", sm.owner)
		}
		if sm.frozen {
			fmt.Fprintf(c.stdout, "\tfrozen\n")
		}
	}
	return nil
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// ---- create ----

func parseMapType(s string) (maps.Type, bool) {
	for t := maps.Type(0); t < 34; t++ {
		if t.String() == s {
			return t, t != maps.Unspec
		}
	}
	return 0, false
}

func (c *mapCmd) create(args []string) error {
	if len(args) == 0 {
		return c.fail("expected FILE, got nothing")
	}
	file := args[0]
	args = args[1:]
	spec := objects.MapSpec{}
	var haveType, haveKey, haveValue, haveEntries, haveName, haveFlags bool
	u32 := func(what string, have *bool, dst *uint32) error {
		if *have {
			return c.fail("%s already specified", what)
		}
		if len(args) < 2 {
			return c.fail("no %s specified", what)
		}
		v, err := strconv.ParseUint(args[1], 0, 32)
		if err != nil {
			return c.fail("can't parse %s", what)
		}
		*dst, *have = uint32(v), true
		args = args[2:]
		return nil
	}
	for len(args) > 0 {
		var err error
		switch a := args[0]; {
		case isPrefix(a, "type"):
			if haveType {
				return c.fail("map type already specified")
			}
			if len(args) < 2 {
				return c.fail("no map type specified")
			}
			t, ok := parseMapType(args[1])
			if !ok {
				return c.fail("unrecognized map type: %s", args[1])
			}
			spec.Type, haveType = t, true
			args = args[2:]
		case isPrefix(a, "name"):
			if haveName {
				return c.fail("map name already specified")
			}
			if len(args) < 2 {
				return c.fail("no map name specified")
			}
			spec.Name, haveName = args[1], true
			args = args[2:]
		case isPrefix(a, "key"):
			err = u32("key size", &haveKey, &spec.KeySize)
		case isPrefix(a, "value"):
			err = u32("value size", &haveValue, &spec.ValueSize)
		case isPrefix(a, "entries"):
			err = u32("max entries", &haveEntries, &spec.MaxEntries)
		case isPrefix(a, "flags"):
			err = u32("flags", &haveFlags, &spec.Flags)
		case isPrefix(a, "inner_map"):
			return c.fail("inner_map is not supported: map-in-map types are not file-backed, so a map created by one gobee process could not be filled by another")
		case isPrefix(a, "offload_dev"), isPrefix(a, "dev"):
			return c.fail("offload_dev is not supported by gobee")
		default:
			return c.fail("unknown arg %s", a)
		}
		if err != nil {
			return err
		}
	}
	if !haveType {
		return c.fail("map type not specified")
	}
	if !haveName {
		return c.fail("map name not specified")
	}
	if !haveKey || !haveValue || !haveEntries {
		return c.fail("key size, value size and max entries are required")
	}
	m, err := c.reg.NewMap(&spec)
	if err != nil {
		return c.fail("map create failed: %s", detail(err))
	}
	defer m.Close()
	if err := m.Pin(file); err != nil {
		return c.fail("can't pin the object (%s): %s", file, detail(err))
	}
	c.jsonNull()
	return nil
}
