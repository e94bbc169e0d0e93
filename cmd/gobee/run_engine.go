package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/cilium/ebpf"

	"github.com/gobee-dev/gobee/helpers"
	"github.com/gobee-dev/gobee/internal/tracefs"
	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/loader"
	"github.com/gobee-dev/gobee/maps"
	"github.com/gobee-dev/gobee/objects"
	"github.com/gobee-dev/gobee/progtype"
	"github.com/gobee-dev/gobee/testrun"
)

// pktEngine runs one program of an object, packet by packet, with the
// semantics of BPF_PROG_TEST_RUN. The interp engine is gobee's
// (package objects over testrun); the kernel engine is the running
// kernel through cilium/ebpf.
type pktEngine interface {
	// Run runs the program on one packet and returns its return value
	// and the packet afterwards (data_out). A refused run is a
	// *pktError.
	Run(data []byte) (uint32, []byte, error)
	// Maps returns the contents of the object's maps.
	Maps() ([]pktMapDump, error)
	// Trace returns the trace_printk lines written since the last call.
	Trace() []string
	Close()
}

// pktError is a packet the run refused, with the errno the kernel
// returns (0 for failures that are not errnos, e.g. an interpreter fault).
type pktError struct {
	Errno  syscall.Errno
	Reason string
}

func (e *pktError) Error() string {
	if e.Errno == 0 {
		return e.Reason
	}
	if e.Reason == "" {
		return fmt.Sprintf("%s (%s)", pktErrnoName(e.Errno), e.Errno)
	}
	return fmt.Sprintf("%s (%s): %s", pktErrnoName(e.Errno), e.Errno, e.Reason)
}

func pktErrnoName(e syscall.Errno) string {
	switch e {
	case syscall.EINVAL:
		return "EINVAL"
	case syscall.ENOSPC:
		return "ENOSPC"
	case syscall.E2BIG:
		return "E2BIG"
	case syscall.EPERM:
		return "EPERM"
	case syscall.EFAULT:
		return "EFAULT"
	case testrun.ENOTSUPP:
		return "ENOTSUPP"
	}
	return fmt.Sprintf("errno %d", int(e))
}

// pktMapDump is one map's contents, sorted by key so that engines compare.
type pktMapDump struct {
	Name    string
	Shape   mapShape
	Entries []pktMapEntry
}

type pktMapEntry struct{ Key, Value []byte }

func pktSortEntries(es []pktMapEntry) {
	sort.Slice(es, func(i, j int) bool { return bytes.Compare(es[i].Key, es[j].Key) < 0 })
}

// pktTarget is the program chosen from an object.
type pktTarget struct {
	Path string
	Spec *objects.CollectionSpec
	Prog *loader.ProgramSpec
	Type progtype.Type
}

// pktRunnableTypes are the program types `gobee run` runs on packets.
var pktRunnableTypes = map[progtype.Type]string{
	progtype.XDP:          "xdp",
	progtype.SchedCLS:     "tc",
	progtype.SocketFilter: "socket filter",
}

// pktChooseProgram loads path and picks the program named name (or the only
// runnable one), refusing types `gobee run` does not run.
func pktChooseProgram(path, name string) (*pktTarget, error) {
	cs, err := loadObject(path)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(cs.Programs))
	for n := range cs.Programs {
		names = append(names, n)
	}
	sort.Strings(names)
	var p *loader.ProgramSpec
	if name != "" {
		p = cs.Programs[name]
		if p == nil {
			return nil, fmt.Errorf("%s: no program %q (the object has: %s)", path, name, strings.Join(names, ", "))
		}
	} else {
		var runnable []string
		for _, n := range names {
			if _, ok := pktRunnableTypes[objects.ProgTypeOf(cs.Programs[n].Type)]; ok {
				runnable = append(runnable, n)
			}
		}
		switch len(runnable) {
		case 0:
			return nil, fmt.Errorf("%s: no XDP, TC or socket filter program (the object has: %s)", path, strings.Join(names, ", "))
		case 1:
			p = cs.Programs[runnable[0]]
		default:
			return nil, fmt.Errorf("%s: several programs can run (%s): choose one with --program", path, strings.Join(runnable, ", "))
		}
	}
	typ := objects.ProgTypeOf(p.Type)
	if _, ok := pktRunnableTypes[typ]; !ok {
		return nil, fmt.Errorf("%s: program %s (section %s) is of type %v: gobee run runs XDP, TC (sched_cls) and socket filter programs",
			path, p.Name, p.SectionName, p.Type)
	}
	return &pktTarget{Path: path, Spec: cs, Prog: p, Type: typ}, nil
}

// pktInterpEngine runs the program under gobee: the object loaded with
// objects.NewCollection (in a registry of its own) and each packet
// through objects.Program.Run (package testrun's semantics).
type pktInterpEngine struct {
	coll  *objects.Collection
	prog  *objects.Program
	maps  map[string]*objects.Map
	trace *helpers.TracePipe
}

func newPktInterpEngine(t *pktTarget) (*pktInterpEngine, error) {
	e := &pktInterpEngine{trace: helpers.NewTracePipe()}
	reg := objects.NewRegistry(objects.WithPinRoot(os.TempDir()))
	coll, err := reg.NewCollectionWithOptions(t.Spec, objects.CollectionOptions{Programs: objects.ProgramOptions{TracePipe: e.trace}})
	if err != nil {
		e.trace.Close()
		return nil, fmt.Errorf("%s: %w", t.Path, err)
	}
	e.coll, e.maps, e.prog = coll, coll.Maps, coll.Programs[t.Prog.Name]
	if e.prog == nil {
		e.Close()
		return nil, fmt.Errorf("%s: no program %s in the collection", t.Path, t.Prog.Name)
	}
	return e, nil
}

func (e *pktInterpEngine) Run(data []byte) (uint32, []byte, error) {
	out := make([]byte, len(data)+4096)
	opts := objects.RunOptions{Data: data, DataOut: out}
	ret, err := e.prog.Run(&opts)
	if err != nil {
		var te *testrun.Errno
		if errors.As(err, &te) {
			return 0, nil, &pktError{Errno: te.Errno, Reason: te.Reason}
		}
		var re *interp.RuntimeError
		if errors.As(err, &re) {
			return 0, nil, &pktError{Reason: "program fault: " + re.Error()}
		}
		var en syscall.Errno
		if errors.As(err, &en) {
			return 0, nil, &pktError{Errno: en, Reason: err.Error()}
		}
		return 0, nil, &pktError{Reason: err.Error()}
	}
	return ret, opts.DataOut, nil
}

func (e *pktInterpEngine) Maps() ([]pktMapDump, error) {
	var out []pktMapDump
	for name, m := range e.maps {
		info, err := m.Info()
		if err != nil {
			return nil, err
		}
		sh := mapShape{typ: info.Type, keySize: int(info.KeySize), valueSize: int(info.ValueSize)}
		if info.Type.PerCPU() {
			sh.ncpu = info.NumCPU
		}
		rm := pktMapDump{Name: name, Shape: sh}
		if !noKeys(sh.typ) {
			s := m.Storage()
			var key []byte
			for range int(info.MaxEntries) + 1 {
				next, err := s.NextKey(key)
				if err != nil {
					break
				}
				key = next
				var v []byte
				if err := m.Lookup(key, &v); err != nil {
					continue
				}
				rm.Entries = append(rm.Entries, pktMapEntry{Key: append([]byte(nil), key...), Value: v})
			}
		}
		pktSortEntries(rm.Entries)
		out = append(out, rm)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (e *pktInterpEngine) Trace() []string { return pktSplitLines(e.trace.Drain()) }

func (e *pktInterpEngine) Close() {
	if e.coll != nil {
		e.coll.Close()
	}
	e.trace.Close()
}

func pktSplitLines(b []byte) []string {
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// pktKernelEngine runs the program in the running kernel.
type pktKernelEngine struct {
	coll *ebpf.Collection
	prog *ebpf.Program
	// The kernel's trace_pipe (nil if tracefs is unavailable, traceErr
	// says why), and the threads the runs executed on: test runs run in
	// the calling task, so their trace lines carry its thread id.
	trace    *tracefs.Pipe
	traceErr error
	tasks    tracefs.Tasks
	comm     string
}

func newPktKernelEngine(t *pktTarget) (*pktKernelEngine, error) {
	cs, err := ebpf.LoadCollectionSpec(t.Path)
	if err != nil {
		return nil, fmt.Errorf("%s: kernel engine: %w", t.Path, err)
	}
	kopts, err := kernelCollectionOptions()
	if err != nil {
		return nil, err
	}
	coll, err := ebpf.NewCollectionWithOptions(cs, kopts)
	if err != nil {
		return nil, fmt.Errorf("%s: kernel engine: %w", t.Path, err)
	}
	prog := coll.Programs[t.Prog.Name]
	if prog == nil {
		coll.Close()
		return nil, fmt.Errorf("%s: kernel engine: no program %s", t.Path, t.Prog.Name)
	}
	e := &pktKernelEngine{coll: coll, prog: prog, tasks: tracefs.Tasks{}, comm: tracefs.Comm()}
	// Mount tracefs if needed (root only) and read trace_pipe.
	if dir, err := tracefs.Mount(); err != nil {
		e.traceErr = err
	} else if e.trace, err = tracefs.OpenPipe(dir); err != nil {
		e.traceErr = err
	} else {
		_, _ = e.trace.ReadAvailable() // drop what earlier programs left in the pipe
	}
	return e, nil
}

func (e *pktKernelEngine) Run(data []byte) (uint32, []byte, error) {
	out := make([]byte, len(data)+4096)
	opts := ebpf.RunOptions{Data: data, DataOut: out}
	runtime.LockOSThread()
	e.tasks[tracefs.Gettid()] = true
	ret, err := e.prog.Run(&opts)
	runtime.UnlockOSThread()
	if err != nil {
		var en syscall.Errno
		if errors.As(err, &en) {
			return 0, nil, &pktError{Errno: en}
		}
		return 0, nil, &pktError{Reason: err.Error()}
	}
	return ret, opts.DataOut, nil
}

func (e *pktKernelEngine) Maps() ([]pktMapDump, error) {
	var out []pktMapDump
	for name, m := range e.coll.Maps {
		typ := maps.Type(m.Type())
		sh := mapShape{typ: typ, keySize: int(m.KeySize()), valueSize: int(m.ValueSize())}
		rm := pktMapDump{Name: name, Shape: sh}
		if typ.PerCPU() {
			n, err := ebpf.PossibleCPU()
			if err != nil {
				return nil, err
			}
			rm.Shape.ncpu = n
			var k []byte
			var vs [][]byte
			it := m.Iterate()
			for it.Next(&k, &vs) {
				v := make([]byte, 0, n*rm.Shape.stride())
				for _, c := range vs {
					v = append(v, c...)
					v = append(v, make([]byte, rm.Shape.stride()-len(c))...)
				}
				rm.Entries = append(rm.Entries, pktMapEntry{Key: append([]byte(nil), k...), Value: v})
			}
			if err := it.Err(); err != nil {
				return nil, fmt.Errorf("map %s: %w", name, err)
			}
		} else if !noKeys(typ) {
			var k, v []byte
			it := m.Iterate()
			for it.Next(&k, &v) {
				rm.Entries = append(rm.Entries, pktMapEntry{Key: append([]byte(nil), k...), Value: append([]byte(nil), v...)})
			}
			if err := it.Err(); err != nil {
				return nil, fmt.Errorf("map %s: %w", name, err)
			}
		}
		pktSortEntries(rm.Entries)
		out = append(out, rm)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// traceNote says why the kernel engine has no trace output.
func (e *pktKernelEngine) traceNote() string {
	if e.trace == nil {
		return fmt.Sprintf("the kernel's trace_pipe is not readable: %v", e.traceErr)
	}
	return ""
}

// Trace returns the kernel's trace lines of this engine's runs: those of
// the threads the runs executed on (other lines in trace_pipe are
// consumed and dropped). A comm the kernel has not saved yet ("<...>")
// is shown as the task's comm, as the kernel shows it once saved.
func (e *pktKernelEngine) Trace() []string {
	if e.trace == nil {
		return nil
	}
	recs, _ := e.trace.ReadUntil(time.Now(), 1<<30, e.tasks.Keep(""))
	var out []string
	for _, r := range recs {
		if l, err := tracefs.Parse(r); err == nil && l.Comm == tracefs.UnknownComm && e.comm != "" {
			l.Comm = e.comm
			r = l.Format()
		}
		out = append(out, strings.Split(r, "\n")...)
	}
	return out
}

func (e *pktKernelEngine) Close() {
	e.coll.Close()
	if e.trace != nil {
		e.trace.Close()
	}
}
