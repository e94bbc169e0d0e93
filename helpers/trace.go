package helpers

import (
	"fmt"
	"io"
	"sync"
)

// TracePipe collects the lines bpf_trace_printk and bpf_trace_vprintk
// write, in the format of the kernel's trace_pipe:
//
//	<comm>-<pid> [<cpu>] <flags> <secs>.<usecs>: bpf_trace_printk: <msg>
//
// Read consumes lines like trace_pipe does, blocking until one arrives or
// the pipe is closed. A TracePipe is safe for concurrent use.
type TracePipe struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	closed bool
	tee    io.Writer
	shared *SharedTraceWriter // other processes' readers (trace_shared.go)
}

// NewTracePipe returns an empty pipe. Its lines also go to the shared
// trace pipe of the pin root ($GOBEE_PIN_ROOT, else /run/gobee) when
// another process reads it (`gobee trace pipe`); see ShareTo.
func NewTracePipe() *TracePipe {
	p := &TracePipe{shared: sharedWriterFor(DefaultPinRoot())}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// ShareTo makes the pipe send its lines to pinRoot's shared trace pipe
// instead of the default pin root's; "" stops sharing.
func (p *TracePipe) ShareTo(pinRoot string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pinRoot == "" {
		p.shared = nil
		return
	}
	p.shared = sharedWriterFor(pinRoot)
}

// Tee makes the pipe also write every line to w as it arrives (nil stops).
func (p *TracePipe) Tee(w io.Writer) {
	p.mu.Lock()
	p.tee = w
	p.mu.Unlock()
}

// TraceEntry is one trace_printk record.
type TraceEntry struct {
	Comm  string
	Pid   uint32
	CPU   int
	Nanos uint64 // trace clock
	Msg   []byte
	// Flags is the line's flags field; empty means "...11".
	Flags string
}

// Format renders e as a trace_pipe line, ending in a newline (the
// message may hold newlines of its own).
func (e TraceEntry) Format() []byte {
	comm := e.Comm
	if comm == "" {
		comm = "<...>"
	}
	flags := e.Flags
	if flags == "" {
		flags = "...11"
	}
	line := fmt.Appendf(nil, "%16s-%-7d [%03d] %s %5d.%06d: bpf_trace_printk: ",
		comm, e.Pid, e.CPU, flags, e.Nanos/1e9, e.Nanos%1e9/1e3)
	line = append(line, e.Msg...)
	// As the kernel's bpf_trace_printk event ("%s\n"), a newline always
	// ends the line: a message ending in one is followed by an empty line.
	return append(line, '\n')
}

// Emit appends an entry.
func (p *TracePipe) Emit(e TraceEntry) {
	line := e.Format()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.buf = append(p.buf, line...)
	if p.tee != nil {
		_, _ = p.tee.Write(line)
	}
	if p.shared != nil {
		_, _ = p.shared.Write(line)
	}
	p.cond.Broadcast()
}

// Read reads trace output, blocking until some is there. It returns
// io.EOF once the pipe is closed and drained.
func (p *TracePipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf) == 0 && !p.closed {
		p.cond.Wait()
	}
	if len(p.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	return n, nil
}

// Drain returns and consumes whatever output is buffered, without waiting.
func (p *TracePipe) Drain() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.buf
	p.buf = nil
	return out
}

// Close wakes readers; later entries are dropped.
func (p *TracePipe) Close() error {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	return nil
}
