package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gobee-dev/gobee/iface"
	"github.com/gobee-dev/gobee/kernel"
	"github.com/gobee-dev/gobee/pcap"
	"github.com/gobee-dev/gobee/progtype"
)

// `gobee run` runs an XDP, TC (sched_cls) or socket filter program over
// every packet of a capture (or of an interface), each packet through
// BPF_PROG_TEST_RUN's semantics, and reports verdicts, maps and trace
// output.
//
// What "passes" (is written to --out):
//   - XDP: XDP_PASS, XDP_TX and XDP_REDIRECT (the frame lives on: up the
//     stack or out of a device); XDP_ABORTED, XDP_DROP and unknown values
//     do not. The packet written is data_out (after adjust_head/tail and
//     any rewrite).
//   - TC: TC_ACT_UNSPEC, TC_ACT_OK, TC_ACT_PIPE, TC_ACT_RECLASSIFY and
//     TC_ACT_REDIRECT; TC_ACT_SHOT, STOLEN, QUEUED, TRAP and unknown values
//     do not. The packet written is data_out.
//   - socket filter: a non-zero return value keeps the packet, cut to that
//     many bytes (as on an AF_PACKET socket: counted from the Ethernet
//     header). The packet written is the input frame, not data_out: a
//     socket filter cannot change the packet, and test-run's data_out has
//     the Ethernet header zeroed.
//
// Packets the kernel refuses to test-run (shorter than an Ethernet header,
// longer than a page minus headroom, ...) are counted as errors with the
// reason and the run goes on.

func init() {
	register("run", "run an XDP, TC or socket filter program over a capture or an interface", runRun)
}

const pktRunUsage = `Usage: gobee [-j|-p] run OBJ.o [--program NAME] --pcap IN.pcap [--out OUT.pcap]
                           [--engine interp|kernel]
       gobee [-j|-p] run OBJ.o [--program NAME] --iface NAME [--count N] [--out OUT.pcap]
                           [--engine interp|kernel]
       --btf FILE: resolve CO-RE relocations against this vmlinux BTF
                   instead of the running kernel's

Runs an XDP, TC (sched_cls) or socket filter program over every packet of
a capture (pcap or pcapng, Ethernet) or of an interface (AF_PACKET, until
--count N frames or Ctrl-C), each through BPF_PROG_TEST_RUN's semantics,
and prints the verdict counts, the object's maps and the trace_printk
lines (-j: one JSON document). --count N also stops a capture after N
packets. Passing packets go to --out: XDP_PASS, XDP_TX, XDP_REDIRECT
(data_out); TC_ACT_OK, TC_ACT_UNSPEC, TC_ACT_PIPE, TC_ACT_RECLASSIFY,
TC_ACT_REDIRECT (data_out); a non-zero socket filter return (the frame cut
to that many bytes). Packets the kernel refuses to test-run are counted as
errors with the reason. --engine kernel runs the object in the running
kernel (cilium/ebpf, BPF_PROG_TEST_RUN) instead of gobee.
`

type pktRunConfig struct {
	obj, program, pcapIn, out, engine, iface string
	count                                    int
	json, pretty                             bool
}

func parsePktRunArgs(args []string) (*pktRunConfig, error) {
	g := globalFlags{json: global.json, pretty: global.pretty}
	args, err := stripGlobalFlags(args, &g)
	if err != nil {
		return nil, err
	}
	c := &pktRunConfig{engine: "interp", json: g.json, pretty: g.pretty}
	coreBTF = "" // per invocation, like the flags of test-run's FlagSet
	for len(args) > 0 {
		a := args[0]
		args = args[1:]
		if !strings.HasPrefix(a, "-") || a == "-" {
			if c.obj != "" {
				return nil, fmt.Errorf("unexpected argument %q", a)
			}
			c.obj = a
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		var dst *string
		switch name {
		case "program", "prog":
			dst = &c.program
		case "pcap":
			dst = &c.pcapIn
		case "out", "o":
			dst = &c.out
		case "engine":
			dst = &c.engine
		case "iface":
			dst = &c.iface
		case "btf":
			dst = &coreBTF
		case "count", "c":
			if !hasVal {
				if len(args) == 0 {
					return nil, fmt.Errorf("--count needs a number")
				}
				val, args = args[0], args[1:]
			}
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("--count %q: not a number", val)
			}
			c.count = n
			continue
		case "h", "help":
			return nil, errPktRunHelp
		default:
			return nil, fmt.Errorf("unknown option %s", a)
		}
		if !hasVal {
			if len(args) == 0 {
				return nil, fmt.Errorf("%s needs a value", a)
			}
			val, args = args[0], args[1:]
		}
		*dst = val
	}
	switch {
	case c.obj == "":
		return nil, fmt.Errorf("no object file given")
	case c.pcapIn == "" && c.iface == "":
		return nil, fmt.Errorf("give --pcap FILE or --iface NAME")
	case c.pcapIn != "" && c.iface != "":
		return nil, fmt.Errorf("--pcap and --iface exclude each other")
	case c.engine != "interp" && c.engine != "kernel":
		return nil, fmt.Errorf("--engine %q: want interp or kernel", c.engine)
	}
	return c, nil
}

var errPktRunHelp = errors.New("help")

func runRun(args []string, stdout, stderr io.Writer) int {
	c, err := parsePktRunArgs(args)
	if errors.Is(err, errPktRunHelp) {
		fmt.Fprint(stdout, pktRunUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "gobee run: %v\n%s", err, pktRunUsage)
		return 2
	}
	res, err := pktRunSession(c, stderr)
	if err != nil {
		if c.json {
			j := newJSONWriter(stdout, c.pretty)
			j.startObject()
			j.strField("error", err.Error())
			j.endObject()
			j.finish()
		} else {
			fmt.Fprintf(stderr, "gobee run: %v\n", err)
		}
		return 1
	}
	if c.json {
		res.writeJSON(newJSONWriter(stdout, c.pretty))
	} else {
		res.writeText(stdout)
	}
	return 0
}

// pktResult is what a session produced.
type pktResult struct {
	Object, Program, Section, Type, Engine, Source string
	Packets, Passed                                int
	// Verdicts counts return values by name ("XDP_PASS", "error", ...).
	Verdicts map[string]int
	// Retvals are the per-packet outcomes: the return value, or -errno
	// (or -1 for a failure without errno) for a refused packet.
	Retvals []int64
	Errors  []pktErrorRecord
	Out     string
	Maps    []pktMapDump
	Trace   []string
	// TraceNote says why trace output is missing, if it is.
	TraceNote string
}

type pktErrorRecord struct {
	Packet, Len int
	Err         string
}

// pktRunSession runs c's program over c's packets.
func pktRunSession(c *pktRunConfig, stderr io.Writer) (*pktResult, error) {
	target, err := pktChooseProgram(c.obj, c.program)
	if err != nil {
		return nil, err
	}
	// Open the input before loading anything, so a bad capture fails fast.
	var rd *pcap.Reader
	if c.pcapIn != "" {
		f, err := os.Open(c.pcapIn)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		rd, err = pcap.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.pcapIn, err)
		}
		if rd.LinkType() != pcap.LinkTypeEthernet {
			return nil, fmt.Errorf("%s: link type %d: gobee run needs Ethernet (LINKTYPE_ETHERNET, 1)", c.pcapIn, rd.LinkType())
		}
	}
	var eng pktEngine
	switch c.engine {
	case "kernel":
		if err := kernel.Supported(); err != nil {
			return nil, fmt.Errorf("kernel engine: %w", err)
		}
		eng, err = newPktKernelEngine(target)
	default:
		eng, err = newPktInterpEngine(target)
	}
	if err != nil {
		return nil, err
	}
	defer eng.Close()

	res := &pktResult{Object: c.obj, Program: target.Prog.Name, Section: target.Prog.SectionName,
		Type: pktRunnableTypes[target.Type], Engine: c.engine, Verdicts: map[string]int{}}
	var w *pcap.Writer
	var outFile *os.File
	if c.out != "" {
		outFile, err = os.Create(c.out)
		if err != nil {
			return nil, err
		}
		defer outFile.Close()
		w, err = pcap.NewWriter(outFile, &pcap.WriterOptions{SnapLen: 65535, Nano: rd != nil && rd.Nanosecond()})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.out, err)
		}
		res.Out = c.out
	}
	process := func(p pcap.Packet) error {
		res.Packets++
		ret, out, err := eng.Run(p.Data)
		if err != nil {
			res.Verdicts["error"]++
			code := int64(-1)
			var re *pktError
			if errors.As(err, &re) && re.Errno != 0 {
				code = -int64(re.Errno)
			}
			res.Retvals = append(res.Retvals, code)
			res.Errors = append(res.Errors, pktErrorRecord{Packet: res.Packets, Len: len(p.Data), Err: err.Error()})
			return nil
		}
		res.Retvals = append(res.Retvals, int64(ret))
		name, pass := pktVerdict(target.Type, ret)
		res.Verdicts[name]++
		if !pass {
			return nil
		}
		res.Passed++
		if target.Type == progtype.SocketFilter {
			out = p.Data
			if uint64(ret) < uint64(len(out)) {
				out = out[:ret]
			}
		}
		if w != nil {
			orig := len(out)
			if p.OrigLen > len(p.Data) && len(out) == len(p.Data) {
				orig = p.OrigLen
			}
			if err := w.WritePacket(pcap.Packet{Timestamp: p.Timestamp, Data: out, OrigLen: orig}); err != nil {
				return fmt.Errorf("%s: %w", c.out, err)
			}
		}
		return nil
	}
	if rd != nil {
		res.Source = c.pcapIn
		for c.count == 0 || res.Packets < c.count {
			p, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.pcapIn, err)
			}
			if err := process(p); err != nil {
				return nil, err
			}
		}
	} else {
		res.Source = "iface " + c.iface
		if err := pktRunIface(c, process, stderr); err != nil {
			return nil, err
		}
	}
	if outFile != nil {
		if err := outFile.Close(); err != nil {
			return nil, err
		}
	}
	res.Maps, err = eng.Maps()
	if err != nil {
		return nil, err
	}
	res.Trace = eng.Trace()
	if n, ok := eng.(interface{ traceNote() string }); ok {
		res.TraceNote = n.traceNote()
	}
	return res, nil
}

// pktRunIface reads frames from c.iface until c.count frames (0: no limit)
// or an interrupt.
func pktRunIface(c *pktRunConfig, process func(pcap.Packet) error, stderr io.Writer) error {
	conn, err := iface.Open(c.iface)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetReadTimeout(200 * time.Millisecond); err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	defer signal.Stop(stop)
	if !c.json {
		fmt.Fprintf(stderr, "gobee run: reading frames from %s (Ctrl-C to stop)\n", c.iface)
	}
	buf := make([]byte, 65536)
	for n := 0; c.count == 0 || n < c.count; {
		select {
		case <-stop:
			return nil
		default:
		}
		f, err := conn.Read(buf)
		if errors.Is(err, iface.ErrTimeout) {
			continue
		}
		if err != nil {
			return err
		}
		n++
		if err := process(pcap.Packet{Timestamp: f.Timestamp, Data: f.Data, OrigLen: f.OrigLen}); err != nil {
			return err
		}
	}
	return nil
}

var (
	pktXDPVerdicts = []string{"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"}
	pktTCVerdicts  = []string{"TC_ACT_OK", "TC_ACT_RECLASSIFY", "TC_ACT_SHOT", "TC_ACT_PIPE", "TC_ACT_STOLEN",
		"TC_ACT_QUEUED", "TC_ACT_REPEAT", "TC_ACT_REDIRECT", "TC_ACT_TRAP"}
)

// pktVerdict names a return value and says whether the packet passes.
func pktVerdict(t progtype.Type, ret uint32) (string, bool) {
	switch t {
	case progtype.XDP:
		if int(ret) < len(pktXDPVerdicts) {
			return pktXDPVerdicts[ret], ret >= 2
		}
		return fmt.Sprintf("XDP_UNKNOWN(%d)", ret), false
	case progtype.SchedCLS:
		if int32(ret) == -1 {
			return "TC_ACT_UNSPEC", true
		}
		if int(ret) < len(pktTCVerdicts) {
			switch ret {
			case 0, 1, 3, 7:
				return pktTCVerdicts[ret], true
			}
			return pktTCVerdicts[ret], false
		}
		return fmt.Sprintf("TC_ACT_UNKNOWN(%d)", int32(ret)), false
	}
	if ret == 0 {
		return "drop", false
	}
	return "keep", true
}

func (r *pktResult) verdictNames() []string {
	names := make([]string, 0, len(r.Verdicts))
	for n := range r.Verdicts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (r *pktResult) writeText(w io.Writer) {
	fmt.Fprintf(w, "program %s (%s, section %s) from %s, engine %s\n", r.Program, r.Type, r.Section, r.Object, r.Engine)
	fmt.Fprintf(w, "%d packets from %s, %d passed", r.Packets, r.Source, r.Passed)
	if r.Out != "" {
		fmt.Fprintf(w, " (written to %s)", r.Out)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "verdicts:")
	for _, n := range r.verdictNames() {
		fmt.Fprintf(w, "  %-18s %d\n", n, r.Verdicts[n])
	}
	if len(r.Errors) > 0 {
		fmt.Fprintln(w, "errors:")
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  packet %d (%d bytes): %s\n", e.Packet, e.Len, e.Err)
		}
	}
	mc := &mapCmd{stdout: w}
	for _, m := range r.Maps {
		fmt.Fprintf(w, "map %s (%s, key %d B, value %d B):\n", m.Name, m.Shape.typ, m.Shape.keySize, m.Shape.valueSize)
		for _, e := range m.Entries {
			mc.printEntry(m.Shape, e.Key, e.Value)
		}
		if len(m.Entries) == 1 {
			fmt.Fprintln(w, "Found 1 element")
		} else {
			fmt.Fprintf(w, "Found %d elements\n", len(m.Entries))
		}
	}
	if r.TraceNote != "" {
		fmt.Fprintf(w, "trace: %s\n", r.TraceNote)
	}
	if len(r.Trace) > 0 {
		fmt.Fprintln(w, "trace:")
		for _, l := range r.Trace {
			fmt.Fprintln(w, l)
		}
	}
}

func (r *pktResult) writeJSON(j *jsonWriter) {
	j.startObject()
	j.strField("object", r.Object)
	j.strField("program", r.Program)
	j.strField("section", r.Section)
	j.strField("type", r.Type)
	j.strField("engine", r.Engine)
	j.strField("source", r.Source)
	j.uintField("packets", uint64(r.Packets))
	j.uintField("passed", uint64(r.Passed))
	if r.Out != "" {
		j.strField("out", r.Out)
	}
	j.name("verdicts")
	j.startObject()
	for _, n := range r.verdictNames() {
		j.uintField(n, uint64(r.Verdicts[n]))
	}
	j.endObject()
	j.name("errors")
	j.startArray()
	for _, e := range r.Errors {
		j.startObject()
		j.uintField("packet", uint64(e.Packet))
		j.uintField("len", uint64(e.Len))
		j.strField("error", e.Err)
		j.endObject()
	}
	j.endArray()
	j.name("maps")
	j.startArray()
	for _, m := range r.Maps {
		j.startObject()
		j.strField("name", m.Name)
		j.strField("type", m.Shape.typ.String())
		j.uintField("bytes_key", uint64(m.Shape.keySize))
		j.uintField("bytes_value", uint64(m.Shape.valueSize))
		j.name("entries")
		j.startArray()
		for _, e := range m.Entries {
			jsonEntry(j, m.Shape, e.Key, e.Value)
		}
		j.endArray()
		j.endObject()
	}
	j.endArray()
	j.name("trace")
	j.startArray()
	for _, l := range r.Trace {
		j.str(l)
	}
	j.endArray()
	if r.TraceNote != "" {
		j.strField("trace_note", r.TraceNote)
	}
	j.endObject()
	j.finish()
}
