// Package tracefs reads the kernel's trace buffer (tracefs' trace_pipe
// and trace files): it finds or mounts tracefs, clears the buffer, reads
// lines with a deadline, parses them and keeps those of given tasks.
//
// The kernel engine of `gobee run` and the helpers' differential tests
// use it to collect the bpf_trace_printk lines of their own
// BPF_PROG_TEST_RUN calls, which run in the caller's task: their lines
// carry the calling thread's id (the kernel's pid) and comm.
//
// tracefs exists only on Linux (tracefs_linux.go); elsewhere Mount and
// OpenPipe fail with ErrUnavailable (tracefs_other.go), while Parse,
// Records and Format work on any host.
package tracefs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Mount points where tracefs is looked for, in order.
var dirs = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// ErrUnavailable is returned (wrapped) when tracefs is neither mounted
// nor mountable.
var ErrUnavailable = errors.New("tracefs unavailable")

// Find returns the directory of a mounted tracefs.
func Find() (string, error) {
	for _, d := range dirs {
		if _, err := os.Stat(d + "/trace_pipe"); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w: not mounted at %s", ErrUnavailable, strings.Join(dirs, " or "))
}

// Clear empties the trace buffer of the tracefs at dir (all CPUs), as
// `echo > trace` does.
func Clear(dir string) error {
	f, err := os.OpenFile(dir+"/trace", os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// Pipe is an open trace_pipe. Reading it consumes lines, for every
// reader of the system.
type Pipe struct {
	fd      int
	lock    int // flock held while the pipe is open (Linux)
	partial []byte
	started bool // a record has begun
	kept    bool // ReadUntil keeps the current record
}

func (p *Pipe) lines() []string {
	k := strings.LastIndexByte(string(p.partial), '\n')
	if k < 0 {
		return nil
	}
	s := string(p.partial[:k])
	p.partial = append(p.partial[:0], p.partial[k+1:]...)
	return strings.Split(s, "\n")
}

// ReadUntil reads records until keep has accepted want of them or the
// deadline passes, and returns the accepted ones (keep nil accepts all).
// A record is a line of the trace format followed by the lines that do
// not parse as one (a message with newlines in it); records keep
// rejects are dropped.
func (p *Pipe) ReadUntil(deadline time.Time, want int, keep func(string) bool) ([]string, error) {
	var out []string
	for {
		ls, err := p.ReadAvailable()
		for _, l := range ls {
			if _, perr := Parse(l); perr != nil && p.started {
				if p.kept {
					out[len(out)-1] += "\n" + l
				}
				continue
			}
			p.started = true
			p.kept = keep == nil || keep(l)
			if p.kept {
				out = append(out, l)
			}
		}
		if err != nil || len(out) >= want || !time.Now().Before(deadline) {
			return out, err
		}
		if len(ls) == 0 {
			p.wait(deadline)
		}
	}
}

// Records splits trace output into records as ReadUntil does: each line
// of the trace format with the lines after it that are not.
func Records(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if _, err := Parse(l); err != nil && len(out) > 0 {
			out[len(out)-1] += "\n" + l
			continue
		}
		out = append(out, l)
	}
	return out
}

// Line is one parsed trace line of the default format:
//
//	<comm>-<pid> [<cpu>] <flags> <secs>.<usecs>: <event>: <msg>
type Line struct {
	Comm  string
	Pid   int
	CPU   int
	Flags string // irqs-off, need-resched, hardirq/softirq, preempt depth, migrate-disable
	Secs  uint64
	Usecs uint64
	Event string // bpf_trace_printk
	Msg   string
}

// Parse parses a line of trace_pipe or trace (without its newline).
func Parse(s string) (Line, error) {
	var l Line
	bad := func(why string) (Line, error) { return Line{}, fmt.Errorf("trace line %q: %s", s, why) }
	b := strings.Index(s, "] ")
	o := strings.LastIndex(s[:max(b, 0)], " [")
	if b < 0 || o < 0 || strings.IndexByte(s[:o], '\n') >= 0 {
		return bad("no [cpu]")
	}
	head := strings.TrimLeft(s[:o], " ")
	dash := strings.LastIndexByte(head, '-')
	if dash < 0 {
		return bad("no comm-pid")
	}
	l.Comm = head[:dash]
	var err error
	if l.Pid, err = strconv.Atoi(strings.TrimRight(head[dash+1:], " ")); err != nil {
		return bad("bad pid")
	}
	if l.CPU, err = strconv.Atoi(s[o+2 : b]); err != nil {
		return bad("bad cpu")
	}
	rest := s[b+2:]
	if len(rest) < 6 || rest[5] != ' ' {
		return bad("no flags")
	}
	l.Flags = rest[:5]
	rest = strings.TrimLeft(rest[6:], " ")
	colon := strings.Index(rest, ": ")
	if colon < 0 {
		return bad("no timestamp")
	}
	secs, usecs, ok := strings.Cut(rest[:colon], ".")
	if !ok || len(usecs) != 6 {
		return bad("bad timestamp")
	}
	if l.Secs, err = strconv.ParseUint(secs, 10, 64); err != nil {
		return bad("bad timestamp")
	}
	if l.Usecs, err = strconv.ParseUint(usecs, 10, 64); err != nil {
		return bad("bad timestamp")
	}
	rest = rest[colon+2:]
	ev, msg, ok := strings.Cut(rest, ": ")
	if !ok {
		return bad("no event")
	}
	l.Event, l.Msg = ev, msg
	return l, nil
}

// Format renders l as the kernel does.
func (l Line) Format() string {
	return fmt.Sprintf("%16s-%-7d [%03d] %s %5d.%06d: %s: %s", l.Comm, l.Pid, l.CPU, l.Flags, l.Secs, l.Usecs, l.Event, l.Msg)
}

// UnknownComm is what the kernel prints for a pid whose comm it has not
// saved (saved_cmdlines) by the time the line is read.
const UnknownComm = "<...>"

// Tasks is a set of thread ids (the kernel's pids).
type Tasks map[int]bool

// Keep returns a filter for ReadUntil that accepts the event lines of
// the given tasks and, if comm is not "", whose comm is comm or the
// kernel's "<...>". The thread ids may be added to ts while it is used.
func (ts Tasks) Keep(comm string) func(string) bool {
	return func(s string) bool {
		l, err := Parse(s)
		if err != nil || !ts[l.Pid] {
			return false
		}
		return comm == "" || l.Comm == comm || l.Comm == UnknownComm
	}
}
