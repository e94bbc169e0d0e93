package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cilium/ebpf"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/maps"
	"github.com/gobee-dev/gobee/objects"
	"github.com/gobee-dev/gobee/progtype"
)

func init() {
	register("test-run", "run a program once or N times like bpftool prog run (BPF_PROG_TEST_RUN)", runTestRun)
}

// parseInterleaved parses fs from args that may mix flags and positional
// arguments (bpftool-style), returning the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// cliFail reports an error as bpftool does: "Error: ..." on stderr, or
// {"error": "..."} on stdout in JSON mode. It returns the exit status.
func cliFail(stdout, stderr io.Writer, format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	if global.json {
		writeJSON(stdout, map[string]string{"error": msg})
	} else {
		fmt.Fprintf(stderr, "Error: %s\n", msg)
	}
	return 1
}

// writeJSON writes v as one JSON document (indented with -p).
func writeJSON(w io.Writer, v any) {
	var b []byte
	if global.pretty {
		b, _ = json.MarshalIndent(v, "", "    ")
	} else {
		b, _ = json.Marshal(v)
	}
	w.Write(append(b, '\n'))
}

// errnoOf returns the errno in err's chain (as Linux numbers it), or 0.
func errnoOf(err error) unix.Errno { return maps.Errno(err) }

// runFailure renders a refused run like bpftool ("failed to run program:
// Invalid argument"), followed by gobee's explanation.
func runFailure(err error) string {
	e := errnoOf(err)
	if e == 0 {
		return "failed to run program: " + err.Error()
	}
	text := errnoText(e)
	if e == maps.ENOTSUPP {
		text = "Unknown error 524"
	}
	return fmt.Sprintf("failed to run program: %s (%v)", text, err)
}

// byteList makes bytes print as a JSON array of numbers, as bpftool's
// data_out.
type byteList []byte

func (b byteList) MarshalJSON() ([]byte, error) {
	var s strings.Builder
	s.WriteByte('[')
	for i, c := range b {
		if i > 0 {
			s.WriteByte(',')
		}
		fmt.Fprint(&s, c)
	}
	s.WriteByte(']')
	return []byte(s.String()), nil
}

// testRunResult is the JSON of gobee test-run: bpftool's fields
// (data_out, ctx_out, retval, duration) plus duration_ns.
type testRunResult struct {
	DataOut    byteList `json:"data_out,omitempty"`
	CtxOut     byteList `json:"ctx_out,omitempty"`
	Retval     uint32   `json:"retval"`
	Duration   int64    `json:"duration"`
	DurationNs int64    `json:"duration_ns"`
}

type runInput struct {
	data, ctx  []byte
	dataOutCap int
	ctxOutSize int
	repeat     uint32
}

type runOutput struct {
	retval   uint32
	dataOut  []byte
	ctxOut   []byte
	duration time.Duration
}

// runTestRun implements "gobee test-run OBJ.o --program NAME --data-in F
// [--data-out F] [--ctx-in F] [--ctx-out F] [--repeat N] [--engine
// interp|kernel]". A file name "-" for data-out or ctx-out prints the
// bytes.
func runTestRun(args []string, stdout, stderr io.Writer) int {
	args, err := stripGlobalFlags(args, &global)
	if err != nil {
		return cliFail(stdout, stderr, "%v", err)
	}
	fs := flag.NewFlagSet("test-run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gobee test-run OBJ.o --program NAME [--data-in F] [--data-out F|-] [--ctx-in F] [--ctx-out F|-] [--repeat N] [--engine interp|kernel]")
		fs.PrintDefaults()
	}
	prog := fs.String("program", "", "program `name` in the object")
	dataIn := fs.String("data-in", "", "`file` with the packet (data_in)")
	dataOut := fs.String("data-out", "", "`file` for data_out (- prints it)")
	ctxIn := fs.String("ctx-in", "", "`file` with the context (ctx_in)")
	ctxOut := fs.String("ctx-out", "", "`file` for ctx_out (- prints it)")
	repeat := fs.Uint("repeat", 1, "number of runs")
	engine := fs.String("engine", "interp", "interp or kernel")
	fs.StringVar(&coreBTF, "btf", "", "vmlinux BTF `file` for CO-RE relocations (default: the running kernel's)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	obj := pos[0]
	if *prog == "" {
		return cliFail(stdout, stderr, "missing --program NAME (the program to run in %s)", obj)
	}
	in := runInput{repeat: uint32(*repeat)}
	if *dataIn != "" {
		if in.data, err = os.ReadFile(*dataIn); err != nil {
			return cliFail(stdout, stderr, "data-in: %v", err)
		}
	}
	if *ctxIn != "" {
		if in.ctx, err = os.ReadFile(*ctxIn); err != nil {
			return cliFail(stdout, stderr, "ctx-in: %v", err)
		}
	}
	if *dataOut != "" {
		// As bpftool: room for what the program may add.
		in.dataOutCap = len(in.data) + 4096
	}
	var out runOutput
	switch *engine {
	case "interp":
		out, err = testRunInterp(obj, *prog, in, *ctxOut != "")
	case "kernel":
		out, err = testRunKernel(obj, *prog, in, *ctxOut != "")
	default:
		return cliFail(stdout, stderr, "unknown engine %q (interp or kernel)", *engine)
	}
	if err != nil {
		var re runError
		if errors.As(err, &re) {
			return cliFail(stdout, stderr, "%s", runFailure(re.err))
		}
		return cliFail(stdout, stderr, "%v", err)
	}
	res := testRunResult{Retval: out.retval, Duration: int64(out.duration), DurationNs: int64(out.duration)}
	for _, f := range []struct {
		name string
		b    []byte
		dst  *byteList
	}{{*dataOut, out.dataOut, &res.DataOut}, {*ctxOut, out.ctxOut, &res.CtxOut}} {
		switch f.name {
		case "":
		case "-":
			if global.json {
				*f.dst = append(byteList{}, f.b...)
			} else {
				hexDump(stdout, f.b)
			}
		default:
			if err := os.WriteFile(f.name, f.b, 0o644); err != nil {
				return cliFail(stdout, stderr, "%v", err)
			}
		}
	}
	if global.json {
		writeJSON(stdout, res)
		return 0
	}
	avg := ""
	if *repeat > 1 {
		avg = " (average)"
	}
	fmt.Fprintf(stdout, "Return value: %d, duration%s: %dns\n", out.retval, avg, out.duration.Nanoseconds())
	return 0
}

// runError marks a refusal of the run itself (as opposed to load errors).
type runError struct{ err error }

func (e runError) Error() string { return e.err.Error() }
func (e runError) Unwrap() error { return e.err }

// hexDump prints bytes as bpftool's fprint_hex does for "-" outputs.
func hexDump(w io.Writer, b []byte) {
	for i := 0; i < len(b); i += 16 {
		end := min(i+16, len(b))
		fmt.Fprintf(w, "%07x", i)
		for j := i; j < end; j++ {
			if (j-i)%8 == 0 {
				fmt.Fprint(w, " ")
			}
			fmt.Fprintf(w, " %02x", b[j])
		}
		fmt.Fprintln(w)
	}
}

// ctxOutSize is the size of a program type's context, the size of the
// ctx_out buffer.
func ctxOutSize(t objects.ProgramType, ctxIn []byte) int {
	if info := progtype.Lookup(objects.ProgTypeOf(t)); info != nil && info.Context != nil {
		return int(info.Context.Size)
	}
	return max(len(ctxIn), 0)
}

func testRunInterp(obj, name string, in runInput, wantCtx bool) (runOutput, error) {
	spec, err := loadObject(obj)
	if err != nil {
		return runOutput{}, err
	}
	ps := spec.Programs[name]
	if ps == nil {
		return runOutput{}, fmt.Errorf("%s: no program %q (has %s)", obj, name, strings.Join(progNames(spec.Programs), ", "))
	}
	reg := objects.NewRegistry(objects.WithPinRoot(pinRoot()))
	coll, err := reg.NewCollection(spec)
	if err != nil {
		return runOutput{}, err
	}
	defer coll.Close()
	opts := objects.RunOptions{Data: in.data, Repeat: in.repeat}
	if in.ctx != nil {
		opts.Context = in.ctx
	}
	if in.dataOutCap > 0 {
		opts.DataOut = make([]byte, in.dataOutCap)
	}
	var ctxOut []byte
	if wantCtx {
		ctxOut = make([]byte, ctxOutSize(ps.Type, in.ctx))
		opts.ContextOut = ctxOut
	}
	ret, err := coll.Programs[name].Run(&opts)
	if err != nil {
		return runOutput{}, runError{err}
	}
	return runOutput{retval: ret, dataOut: opts.DataOut, ctxOut: ctxOut, duration: opts.Duration}, nil
}

func testRunKernel(obj, name string, in runInput, wantCtx bool) (runOutput, error) {
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		return runOutput{}, err
	}
	ps := spec.Programs[name]
	if ps == nil {
		names := make([]string, 0, len(spec.Programs))
		for n := range spec.Programs {
			names = append(names, n)
		}
		return runOutput{}, fmt.Errorf("%s: no program %q (has %s)", obj, name, strings.Join(sortStrings(names), ", "))
	}
	// Load only the program asked for (and the maps).
	for n := range spec.Programs {
		if n != name {
			delete(spec.Programs, n)
		}
	}
	kopts, err := kernelCollectionOptions()
	if err != nil {
		return runOutput{}, err
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, kopts)
	if err != nil {
		return runOutput{}, fmt.Errorf("kernel: %w", err)
	}
	defer coll.Close()
	opts := ebpf.RunOptions{Data: in.data, Repeat: in.repeat}
	if in.ctx != nil {
		opts.Context = in.ctx
	}
	if in.dataOutCap > 0 {
		opts.DataOut = make([]byte, in.dataOutCap)
	}
	var ctxOut []byte
	if wantCtx {
		ctxOut = make([]byte, ctxOutSize(objects.ProgramType(ps.Type), in.ctx))
		opts.ContextOut = ctxOut
	}
	kp := coll.Programs[name]
	if opts.DataOut == nil && !wantCtx && in.ctx == nil {
		// The kernel's own mean duration.
		ret, d, err := kp.Benchmark(in.data, int(max(in.repeat, 1)), nil)
		if err != nil {
			return runOutput{}, runError{err}
		}
		return runOutput{retval: ret, duration: d}, nil
	}
	// cilium/ebpf's Run does not report the duration: measure it around
	// the call (it includes the syscall).
	start := time.Now()
	ret, err := kp.Run(&opts)
	if err != nil {
		return runOutput{}, runError{err}
	}
	d := time.Since(start) / time.Duration(max(in.repeat, 1))
	return runOutput{retval: ret, dataOut: opts.DataOut, ctxOut: ctxOut, duration: d}, nil
}
