package main

import (
	"fmt"
	"io"
	"strings"
)

// jsonWriter writes JSON the way bpftool's writer lays it out, so that
// `gobee -j` and `gobee -p` output matches bpftool's byte for byte: in
// pretty mode every object member starts on a new line indented by four
// spaces per level, while array elements stay on one line and the closing
// bracket of a non-empty array goes on a line of its own.
type jsonWriter struct {
	w      io.Writer
	pretty bool
	depth  int
	sep    byte // what goes before the next value: 0 or ','
}

func newJSONWriter(w io.Writer, pretty bool) *jsonWriter { return &jsonWriter{w: w, pretty: pretty} }

func (j *jsonWriter) put(s string) { io.WriteString(j.w, s) }

func (j *jsonWriter) newline() {
	if j.pretty {
		j.put("\n" + strings.Repeat("    ", j.depth))
	}
}

// beforeValue writes the pending separator.
func (j *jsonWriter) beforeValue() {
	if j.sep != 0 {
		j.put(string(j.sep))
	}
	j.sep = ','
}

func (j *jsonWriter) open(c string) {
	j.beforeValue()
	j.put(c)
	j.depth++
	j.sep = 0
}

func (j *jsonWriter) close(c string) {
	j.depth--
	if j.sep != 0 {
		j.newline()
	}
	j.put(c)
	j.sep = ','
}

func (j *jsonWriter) startObject() { j.open("{") }
func (j *jsonWriter) endObject()   { j.close("}") }
func (j *jsonWriter) startArray()  { j.open("[") }
func (j *jsonWriter) endArray()    { j.close("]") }

// name writes an object member's name; its value follows.
func (j *jsonWriter) name(n string) {
	j.beforeValue()
	j.newline()
	j.sep = 0
	j.put(quoteJSON(n) + ":")
	if j.pretty {
		j.put(" ")
	}
}

func (j *jsonWriter) str(s string) { j.beforeValue(); j.put(quoteJSON(s)) }
func (j *jsonWriter) uint(v uint64) {
	j.beforeValue()
	j.put(fmt.Sprint(v))
}
func (j *jsonWriter) null() { j.beforeValue(); j.put("null") }

// finish ends the document with a newline, as bpftool does.
func (j *jsonWriter) finish() { j.put("\n") }

func (j *jsonWriter) strField(n, v string)         { j.name(n); j.str(v) }
func (j *jsonWriter) uintField(n string, v uint64) { j.name(n); j.uint(v) }

// hexArray writes bytes as bpftool does: ["0x01","0x00",...].
func (j *jsonWriter) hexArray(b []byte) {
	j.startArray()
	for _, c := range b {
		j.str(fmt.Sprintf("0x%02x", c))
	}
	j.endArray()
}

func quoteJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
