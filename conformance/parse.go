// Package conformance reads the test files of the eBPF conformance suite
// (Alan-Jowett/bpf_conformance, the `.data` files under
// testdata/conformance) and runs them on gobee's engines.
//
// A file is split into sections by header lines containing "--"; the kind
// of a section is picked by the same substring tests, in the same order, as
// the upstream runner (asm, result, mem, raw, no register offset, " c",
// error). The `-- asm` section is assembled with the ubpf-style syntax the
// suite uses (see Assemble); `-- raw` bytecode replaces it when present.
package conformance

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gobee-dev/gobee/isa"
)

// Test is one parsed conformance file.
type Test struct {
	// Name is the name the test was parsed under (the file's base name
	// for ParseFile, such as "add.data").
	Name string
	// Program is the assembled (or raw) program.
	Program isa.Instructions
	// Mem is the input memory, nil when the file has no `-- mem`.
	Mem []byte
	// Result is the expected final r0, valid when HasResult is set.
	Result    uint64
	HasResult bool
	// ExpectError is the text of an `-- error` section: the test expects
	// the program to be rejected or to fail.
	ExpectError string
}

// ParseError names the file and line at which parsing failed.
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}
func (e *ParseError) Unwrap() error { return e.Err }

// Parse errors, wrapped in a *ParseError.
var (
	ErrUnknownSection = errors.New("unknown section header")
	ErrNoResult       = errors.New(`no "-- result" or "-- error" section`)
	ErrNoProgram      = errors.New("no instructions")
	ErrBadResult      = errors.New("bad result value")
	ErrBadMem         = errors.New("bad hex byte in mem")
	ErrBadRaw         = errors.New("bad raw instruction")
)

// section is the kind of a section of a test file.
type section int

const (
	secNone section = iota // before the first header, or an ignored section
	secAsm
	secResult
	secMem
	secRaw
	secError
)

// sectionKeys maps header substrings to section kinds, in the order the
// upstream runner tests them.
var sectionKeys = []struct {
	key  string
	kind section
}{
	{"asm", secAsm},
	{"result", secResult},
	{"mem", secMem},
	{"raw", secRaw},
	{"no register offset", secNone},
	{" c", secNone},
	{"error", secError},
}

// line is one non-empty line of a section, with its 1-based line number.
type line struct {
	n    int
	text string
}

// rawFile is a test file split into sections.
type rawFile struct {
	asm, mem, raw     []line
	result, errorText *line
	lastLine          int
	hasRaw            bool
}

// ParseFile reads and parses one `.data` file. The test is named after the
// file's base name.
func ParseFile(path string) (*Test, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	defer f.Close()
	return Parse(filepath.Base(path), f)
}

// Parse parses a test file read from r. name is used in errors and as
// Test.Name.
func Parse(name string, r io.Reader) (*Test, error) {
	rf, err := split(name, r)
	if err != nil {
		return nil, err
	}
	t := &Test{Name: name}
	if err := rf.fill(name, t); err != nil {
		return nil, err
	}
	return t, nil
}

// split reads the file into sections. A `#` starts a comment anywhere on a
// line; blank lines are dropped.
func split(name string, r io.Reader) (*rawFile, error) {
	rf := &rawFile{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	cur := secNone
	n := 0
	for sc.Scan() {
		n++
		text := stripComment(strings.TrimSuffix(sc.Text(), "\r"))
		if strings.Contains(text, "--") {
			kind, ok := sectionOf(text)
			if !ok {
				return nil, &ParseError{name, n, fmt.Errorf("%w %q", ErrUnknownSection, strings.TrimSpace(text))}
			}
			cur = kind
			rf.hasRaw = rf.hasRaw || kind == secRaw
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		rf.add(cur, line{n, text})
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{name, n, err}
	}
	rf.lastLine = n
	return rf, nil
}

// stripComment drops everything from the first '#'.
func stripComment(s string) string {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		return s[:i]
	}
	return s
}

// sectionOf classifies a header line.
func sectionOf(header string) (section, bool) {
	for _, k := range sectionKeys {
		if strings.Contains(header, k.key) {
			return k.kind, true
		}
	}
	return secNone, false
}

// add files a non-empty line under its section. For result and error the
// last line counts.
func (rf *rawFile) add(s section, l line) {
	switch s {
	case secAsm:
		rf.asm = append(rf.asm, l)
	case secMem:
		rf.mem = append(rf.mem, l)
	case secRaw:
		rf.raw = append(rf.raw, l)
	case secResult:
		rf.result = &l
	case secError:
		rf.errorText = &l
	}
}

// fill turns the sections into a Test.
func (rf *rawFile) fill(name string, t *Test) error {
	if rf.result == nil && rf.errorText == nil {
		return &ParseError{name, rf.lastLine, ErrNoResult}
	}
	if rf.errorText != nil {
		t.ExpectError = strings.TrimSpace(rf.errorText.text)
	}
	if rf.result != nil {
		v, err := parseResult(rf.result.text)
		if err != nil {
			return &ParseError{name, rf.result.n, err}
		}
		t.Result, t.HasResult = v, true
	}
	mem, err := parseMem(name, rf.mem)
	if err != nil {
		return err
	}
	t.Mem = mem
	if rf.hasRaw {
		t.Program, err = parseRaw(name, rf.raw)
	} else {
		t.Program, err = assemble(name, rf.asm)
	}
	if err != nil {
		return err
	}
	if len(t.Program) == 0 {
		return &ParseError{name, rf.lastLine, ErrNoProgram}
	}
	return nil
}

// parseResult reads the expected r0: hex if it contains "0x", otherwise
// decimal.
func parseResult(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	var v uint64
	var err error
	if strings.Contains(s, "0x") {
		h, ok := strings.CutPrefix(s, "0x")
		if !ok {
			return 0, fmt.Errorf("%w %q", ErrBadResult, s)
		}
		v, err = strconv.ParseUint(h, 16, 64)
	} else {
		v, err = strconv.ParseUint(s, 10, 64)
	}
	if err != nil {
		return 0, fmt.Errorf("%w %q", ErrBadResult, s)
	}
	return v, nil
}

// parseMem reads whitespace-separated hex byte tokens, optionally with a
// 0x prefix. It returns nil when there are no lines.
func parseMem(name string, lines []line) ([]byte, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	var mem []byte
	for _, l := range lines {
		for _, tok := range strings.Fields(l.text) {
			digits := strings.TrimPrefix(strings.TrimPrefix(tok, "0x"), "0X")
			v, err := strconv.ParseUint(digits, 16, 8)
			if err != nil || len(digits) == 0 {
				return nil, &ParseError{name, l.n, fmt.Errorf("%w %q", ErrBadMem, tok)}
			}
			mem = append(mem, byte(v))
		}
	}
	return mem, nil
}

// parseRaw reads `-- raw` bytecode: one little-endian 64-bit number per
// instruction slot, 0x hex or decimal.
func parseRaw(name string, lines []line) (isa.Instructions, error) {
	var b []byte
	var slotLine []int // the line each slot came from
	for _, l := range lines {
		for _, tok := range strings.Fields(l.text) {
			v, err := parseUint64(tok)
			if err != nil {
				return nil, &ParseError{name, l.n, fmt.Errorf("%w %q", ErrBadRaw, tok)}
			}
			b = binary.LittleEndian.AppendUint64(b, v)
			slotLine = append(slotLine, l.n)
		}
	}
	prog, err := isa.Decode(b, binary.LittleEndian)
	if err != nil {
		n := 0
		var ie *isa.Error
		if errors.As(err, &ie) && ie.Insn < len(slotLine) {
			n = slotLine[ie.Insn]
		} else if len(slotLine) > 0 {
			n = slotLine[len(slotLine)-1]
		}
		return nil, &ParseError{name, n, fmt.Errorf("%w: %w", ErrBadRaw, err)}
	}
	return prog, nil
}

// parseUint64 reads an unsigned number, 0x hex or decimal.
func parseUint64(s string) (uint64, error) {
	if h, ok := cutHex(s); ok {
		return strconv.ParseUint(h, 16, 64)
	}
	return strconv.ParseUint(s, 10, 64)
}

// cutHex returns the digits after a 0x or 0X prefix.
func cutHex(s string) (string, bool) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return s[2:], true
	}
	return s, false
}
