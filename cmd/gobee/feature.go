package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gobee-dev/gobee/helpers"
	"github.com/gobee-dev/gobee/maps"
	"github.com/gobee-dev/gobee/objects"
	"github.com/gobee-dev/gobee/progtype"
)

func init() {
	register("feature", "list program types, map types and helpers gobee supports, like bpftool feature probe", runFeature)
}

// helperNames names gobee's generic helpers, for ids progtype's table
// does not name.
var helperNames = func() map[int32]string {
	m := map[int32]string{}
	for _, h := range helpers.List(nil) {
		m[h.ID] = h.Name
	}
	return m
}()

// mapProbeSpec is a spec maps.New accepts for t if gobee implements t, as
// bpftool's probes create a small map of each type.
func mapProbeSpec(t maps.Type) maps.Spec {
	s := maps.Spec{Type: t, KeySize: 4, ValueSize: 8, MaxEntries: 1}
	switch t {
	case maps.Queue, maps.Stack, maps.BloomFilter:
		s.KeySize = 0
	case maps.RingBuf, maps.UserRingBuf:
		s.KeySize, s.ValueSize, s.MaxEntries = 0, 0, 4096
	case maps.LPMTrie:
		s.KeySize, s.Flags = 8, maps.FlagNoPrealloc
	case maps.ProgArray, maps.PerfEventArray, maps.ArrayOfMaps, maps.HashOfMaps, maps.CgroupArray,
		maps.DevMap, maps.DevMapHash, maps.CPUMap, maps.XSKMap, maps.SockMap, maps.SockHash, maps.ReuseportSockArray:
		s.ValueSize = 4
	case maps.StackTrace:
		s.ValueSize = 8
	case maps.SkStorage, maps.InodeStorage, maps.TaskStorage, maps.CgrpStorage:
		s.Flags = maps.FlagNoPrealloc
	case maps.CgroupStorage, maps.PerCPUCgroupStorage:
		s.KeySize, s.MaxEntries = 12, 0
	case maps.Arena:
		s.KeySize, s.ValueSize, s.Flags = 0, 0, maps.FlagMmapable
	}
	if t == maps.ArrayOfMaps || t == maps.HashOfMaps {
		s.InnerMap = &maps.Spec{Type: maps.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1}
	}
	return s
}

// mapTypeAvailable probes t with maps.New.
func mapTypeAvailable(t maps.Type) bool {
	m, err := maps.New(mapProbeSpec(t))
	if err != nil {
		return false
	}
	maps.Release(m)
	return true
}

// orderedJSON is a JSON object whose members keep their order.
type orderedJSON struct {
	keys []string
	vals []any
}

func (o *orderedJSON) set(k string, v any) { o.keys = append(o.keys, k); o.vals = append(o.vals, v) }

func (o *orderedJSON) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// runFeature implements "gobee feature [probe]": bpftool feature probe's
// sections for program types, map types and helpers per program type,
// answered from gobee's own tables. Program types whose hook exists only
// inside a kernel are marked: gobee loads, verifies and test-runs them
// but has nothing to attach them to.
func runFeature(args []string, stdout, stderr io.Writer) int {
	args, err := stripGlobalFlags(args, &global)
	if err != nil {
		return cliFail(stdout, stderr, "%v", err)
	}
	if len(args) > 0 && isPrefix(args[0], "probe") {
		args = args[1:]
	}
	if len(args) > 0 {
		return cliFail(stdout, stderr, "usage: gobee feature [probe]")
	}
	progs, kernelOnly, testRun, gobeeTestRun := &orderedJSON{}, []string{}, []string{}, []string{}
	helperSets := &orderedJSON{}
	var text bytes.Buffer
	fmt.Fprintln(&text, "Scanning eBPF program types...")
	for _, info := range progtype.All() {
		progs.set("have_"+info.Name+"_prog_type", true)
		mark := ""
		if info.KernelOnly {
			kernelOnly = append(kernelOnly, info.Name)
			mark = " (only inside a kernel)"
		}
		if info.TestRun {
			testRun = append(testRun, info.Name)
		}
		if info.GobeeTestRun {
			gobeeTestRun = append(gobeeTestRun, info.Name)
		}
		fmt.Fprintf(&text, "eBPF program_type %s is available%s\n", info.Name, mark)
	}
	fmt.Fprintf(&text, "test-run: gobee only (the kernel answers ENOTSUPP): %s\n", strings.Join(gobeeTestRun, ", "))
	fmt.Fprintln(&text)
	fmt.Fprintln(&text, "Scanning eBPF map types...")
	mapTypes := &orderedJSON{}
	for t := maps.Hash; t.String() != fmt.Sprintf("type(%d)", uint32(t)); t++ {
		ok := mapTypeAvailable(t)
		mapTypes.set("have_"+t.String()+"_map_type", ok)
		not := ""
		if !ok {
			not = "NOT "
		}
		fmt.Fprintf(&text, "eBPF map_type %s is %savailable\n", t, not)
	}
	fmt.Fprintln(&text)
	fmt.Fprintln(&text, "Scanning eBPF helper functions...")
	for _, info := range progtype.All() {
		names := []string{}
		fmt.Fprintf(&text, "eBPF helpers supported for program type %s:", info.Name)
		if !progtype.HelpersProbed(info.Type) {
			fmt.Fprint(&text, " (base set only: the type needs an attach target to be probed)")
		}
		fmt.Fprintln(&text)
		for _, id := range objects.AvailableHelpers(info.Type) {
			n := progtype.HelperNames[id]
			if n == "" {
				n = helperNames[id]
			}
			if n == "" {
				n = fmt.Sprintf("helper#%d", id)
			}
			names = append(names, n)
			fmt.Fprintf(&text, "\t- %s\n", n)
		}
		helperSets.set(info.Name+"_available_helpers", names)
	}
	fmt.Fprintln(&text)
	fmt.Fprintln(&text, "Scanning eBPF kernel functions (kfuncs)...")
	kfuncSets := &orderedJSON{}
	for _, info := range progtype.All() {
		names := []string{}
		fmt.Fprintf(&text, "eBPF kfuncs supported for program type %s:\n", info.Name)
		for _, k := range objects.AvailableKfuncs(info.Type) {
			names = append(names, k.Name)
			fmt.Fprintf(&text, "\t- %s\n", k.Name)
		}
		kfuncSets.set(info.Name+"_available_kfuncs", names)
	}
	if global.json {
		doc := &orderedJSON{}
		doc.set("program_types", progs)
		doc.set("map_types", mapTypes)
		doc.set("helpers", helperSets)
		doc.set("kfuncs", kfuncSets)
		doc.set("kernel_only_prog_types", kernelOnly)
		doc.set("test_run_prog_types", testRun)
		doc.set("gobee_only_test_run_prog_types", gobeeTestRun)
		writeJSON(stdout, doc)
		return 0
	}
	stdout.Write(text.Bytes())
	return 0
}
