package main

import (
	"fmt"
	"strconv"
	"strings"

	unix "github.com/gobee-dev/gobee/internal/linuxerr"
	"github.com/gobee-dev/gobee/maps"
	"github.com/gobee-dev/gobee/objects"
)

// Element commands: bpftool's key/value syntax and output formats.

// mapShape is what printing and parsing need to know about a map.
type mapShape struct {
	typ       maps.Type
	keySize   int
	valueSize int
	ncpu      int // per-CPU maps: values per element
}

func shapeOf(m *objects.Map) (mapShape, error) {
	info, err := m.Info()
	if err != nil {
		return mapShape{}, err
	}
	s := mapShape{typ: info.Type, keySize: int(info.KeySize), valueSize: int(info.ValueSize)}
	if info.Type.PerCPU() {
		s.ncpu = info.NumCPU
	}
	return s, nil
}

func (s mapShape) stride() int { return (s.valueSize + 7) &^ 7 }

// userValueSize is the size of a value in the user API.
func (s mapShape) userValueSize() int {
	if s.ncpu > 0 {
		return s.stride() * s.ncpu
	}
	return s.valueSize
}

// parseBytes is bpftool's parse_bytes: n bytes, each a C integer (0x.., 0..
// octal, decimal), or hex digits after "hex".
func (c *mapCmd) parseBytes(args []string, name string, n int) ([]byte, []string, error) {
	base := 0
	if len(args) > 0 && isPrefix(args[0], "hex") {
		base = 16
		args = args[1:]
	}
	out := make([]byte, 0, n)
	i := 0
	for ; i < n && i < len(args); i++ {
		v, err := strconv.ParseUint(args[i], base, 8)
		if err != nil {
			return nil, nil, c.fail("error parsing byte: %s", args[i])
		}
		out = append(out, byte(v))
	}
	if i != n {
		return nil, nil, c.fail("%s expected %d bytes got %d", name, n, i)
	}
	return out, args[i:], nil
}

// elem is the parsed [key DATA] [value VALUE] [any|exist|noexist].
type elem struct {
	key, value []byte
	flags      objects.MapUpdateFlags
}

// parseElem parses the element arguments; wantKey and wantValue say which
// the command needs.
func (c *mapCmd) parseElem(args []string, sh mapShape, wantKey, wantValue, wantFlags bool) (*elem, error) {
	e := &elem{}
	var err error
	for len(args) > 0 {
		a := args[0]
		switch {
		case isPrefix(a, "key") && wantKey:
			if e.key != nil {
				return nil, c.fail("key specified twice")
			}
			if e.key, args, err = c.parseBytes(args[1:], "key", sh.keySize); err != nil {
				return nil, err
			}
		case isPrefix(a, "value") && wantValue:
			if e.value != nil {
				return nil, c.fail("value specified twice")
			}
			if len(args) > 1 && (args[1] == "id" || args[1] == "pinned" || args[1] == "tag" || args[1] == "name") {
				return nil, c.fail("values naming maps or programs (%s) are not supported; give the value's bytes", args[1])
			}
			if e.value, args, err = c.parseBytes(args[1:], "value", sh.valueSize); err != nil {
				return nil, err
			}
		case wantFlags && isPrefix(a, "any"):
			e.flags, args = objects.UpdateAny, args[1:]
		case wantFlags && isPrefix(a, "exist"):
			e.flags, args = objects.UpdateExist, args[1:]
		case wantFlags && isPrefix(a, "noexist"):
			e.flags, args = objects.UpdateNoExist, args[1:]
		default:
			switch {
			case wantKey && wantValue:
				return nil, c.fail("expected key or value, got: %s", a)
			case wantKey:
				return nil, c.fail("expected key, got: %s", a)
			default:
				return nil, c.fail("expected value, got: %s", a)
			}
		}
	}
	if wantKey && e.key == nil && sh.keySize > 0 {
		return nil, c.fail("did not find key")
	}
	if wantValue && e.value == nil && sh.valueSize > 0 {
		return nil, c.fail("did not find value")
	}
	if e.key == nil {
		e.key = []byte{}
	}
	if e.value == nil {
		e.value = []byte{}
	}
	return e, nil
}

// userValue widens a parsed value to the user format: per-CPU maps get
// the same value on every CPU, as bpftool does.
func userValue(sh mapShape, v []byte) []byte {
	if sh.ncpu == 0 {
		return v
	}
	out := make([]byte, sh.userValueSize())
	for i := range sh.ncpu {
		copy(out[i*sh.stride():], v)
	}
	return out
}

// hexBytes is bpftool's fprint_hex: bytes separated by a space, two
// spaces every 8 bytes, a newline every 16.
func hexBytes(b []byte) string {
	var s strings.Builder
	for i, c := range b {
		switch {
		case i == 0:
		case i%16 == 0:
			s.WriteByte('\n')
		case i%8 == 0:
			s.WriteString("  ")
		default:
			s.WriteByte(' ')
		}
		fmt.Fprintf(&s, "%02x", c)
	}
	return s.String()
}

// printEntry is bpftool's plain entry format (value nil: "<no entry>").
func (c *mapCmd) printEntry(sh mapShape, key, value []byte) {
	w := c.stdout
	if sh.ncpu == 0 {
		breakNames := sh.keySize > 16 || sh.valueSize > 16
		singleLine := sh.keySize+sh.valueSize <= 24 && !breakNames
		sep := byte(' ')
		if breakNames {
			sep = '\n'
		}
		if sh.keySize > 0 {
			fmt.Fprintf(w, "key:%c%s", sep, hexBytes(key))
			if singleLine {
				fmt.Fprint(w, "  ")
			} else {
				fmt.Fprint(w, "\n")
			}
		}
		if sh.valueSize > 0 {
			if value != nil {
				fmt.Fprintf(w, "value:%c%s", sep, hexBytes(value))
			} else {
				fmt.Fprint(w, "value: <no entry>")
			}
		}
		fmt.Fprint(w, "\n")
		return
	}
	if sh.keySize > 0 {
		fmt.Fprintf(w, "key:\n%s\n", hexBytes(key))
	}
	if sh.valueSize > 0 {
		sep := byte(' ')
		if sh.valueSize > 16 {
			sep = '\n'
		}
		for i := range sh.ncpu {
			fmt.Fprintf(w, "value (CPU %02d):%c%s\n", i, sep, hexBytes(value[i*sh.stride():i*sh.stride()+sh.valueSize]))
		}
	}
}

// jsonEntry is bpftool's JSON entry: {"key":[...],"value":[...]}, or
// "values":[{"cpu":N,"value":[...]},...] for per-CPU maps.
func jsonEntry(j *jsonWriter, sh mapShape, key, value []byte) {
	j.startObject()
	j.name("key")
	j.hexArray(key)
	if sh.ncpu == 0 {
		j.name("value")
		j.hexArray(value)
	} else {
		j.name("values")
		j.startArray()
		for i := range sh.ncpu {
			j.startObject()
			j.uintField("cpu", uint64(i))
			j.name("value")
			j.hexArray(value[i*sh.stride() : i*sh.stride()+sh.valueSize])
			j.endObject()
		}
		j.endArray()
	}
	j.endObject()
}

// openWithShape opens MAP and reads its shape.
func (c *mapCmd) openWithShape(args []string) (*objects.Map, mapShape, []string, error) {
	m, path, rest, err := c.openMap(args)
	if err != nil {
		return nil, mapShape{}, nil, err
	}
	sh, err := shapeOf(m)
	if err != nil {
		m.Close()
		return nil, mapShape{}, nil, c.fail("can't get map info (%s): %s", path, detail(err))
	}
	return m, sh, rest, nil
}

func noKeys(t maps.Type) bool {
	switch t {
	case maps.Queue, maps.Stack, maps.BloomFilter, maps.RingBuf, maps.UserRingBuf:
		return true
	}
	return false
}

func (c *mapCmd) dump(args []string) error {
	m, sh, rest, err := c.openWithShape(args)
	if err != nil {
		return err
	}
	defer m.Close()
	if len(rest) > 0 {
		return c.fail("unexpected argument '%s'", rest[0])
	}
	var j *jsonWriter
	if c.g.json {
		j = c.json()
		j.startArray()
	}
	n := 0
	var prev []byte
	limit := int(m.MaxEntries()) + 1
	for range limit {
		if noKeys(sh.typ) {
			break
		}
		var key []byte
		var kerr error
		if prev == nil {
			kerr = m.NextKey(nil, &key)
		} else {
			kerr = m.NextKey(prev, &key)
		}
		if kerr != nil {
			if maps.Errno(kerr) == unix.ENOENT {
				break
			}
			if j != nil {
				j.endArray()
				j.finish()
			}
			return c.fail("can't get next key: %s", strerror(kerr))
		}
		prev = key
		var value []byte
		if lerr := m.Lookup(key, &value); lerr != nil {
			if maps.Errno(lerr) == unix.ENOENT {
				continue // deleted meanwhile
			}
			if j != nil {
				j.endArray()
				j.finish()
			}
			return c.fail("lookup failed: %s", strerror(lerr))
		}
		if j != nil {
			jsonEntry(j, sh, key, value)
		} else {
			c.printEntry(sh, key, value)
		}
		n++
	}
	if j != nil {
		j.endArray()
		j.finish()
		return nil
	}
	if n == 1 {
		fmt.Fprintf(c.stdout, "Found %d element\n", n)
	} else {
		fmt.Fprintf(c.stdout, "Found %d elements\n", n)
	}
	return nil
}

func (c *mapCmd) lookup(args []string) error {
	m, sh, rest, err := c.openWithShape(args)
	if err != nil {
		return err
	}
	defer m.Close()
	e, err := c.parseElem(rest, sh, true, false, false)
	if err != nil {
		return err
	}
	var value []byte
	if err := m.Lookup(e.key, &value); err != nil {
		if maps.Errno(err) != unix.ENOENT {
			return c.fail("lookup failed: %s", strerror(err))
		}
		if c.g.json {
			c.jsonNull()
		} else {
			fmt.Fprintf(c.stdout, "key:\n%s\n\nNot found\n", hexBytes(e.key))
		}
		return errExit
	}
	if c.g.json {
		j := c.json()
		jsonEntry(j, sh, e.key, value)
		j.finish()
	} else {
		c.printEntry(sh, e.key, value)
	}
	return nil
}

func (c *mapCmd) update(args []string) error { return c.write(args, true, "update") }

// push is update for maps without keys (QUEUE, STACK, BLOOM_FILTER).
func (c *mapCmd) push(args []string) error { return c.write(args, false, "push") }

// write parses `[key ...] value ... [flags]` and updates the map.
func (c *mapCmd) write(args []string, withKey bool, verb string) error {
	m, sh, rest, err := c.openWithShape(args)
	if err != nil {
		return err
	}
	defer m.Close()
	e, err := c.parseElem(rest, sh, withKey, true, true)
	if err != nil {
		return err
	}
	if err := m.Update(e.key, userValue(sh, e.value), e.flags); err != nil {
		return c.fail("%s failed: %s", verb, strerror(err))
	}
	c.jsonNull()
	return nil
}

func (c *mapCmd) delete(args []string) error {
	m, sh, rest, err := c.openWithShape(args)
	if err != nil {
		return err
	}
	defer m.Close()
	e, err := c.parseElem(rest, sh, true, false, false)
	if err != nil {
		return err
	}
	if err := m.Delete(e.key); err != nil {
		return c.fail("delete failed: %s", strerror(err))
	}
	c.jsonNull()
	return nil
}

func (c *mapCmd) getnext(args []string) error {
	m, sh, rest, err := c.openWithShape(args)
	if err != nil {
		return err
	}
	defer m.Close()
	var key []byte
	if len(rest) > 0 {
		e, err := c.parseElem(rest, sh, true, false, false)
		if err != nil {
			return err
		}
		key = e.key
	}
	var next []byte
	if key == nil {
		err = m.NextKey(nil, &next)
	} else {
		err = m.NextKey(key, &next)
	}
	if err != nil {
		return c.fail("can't get next key: %s", strerror(err))
	}
	if c.g.json {
		j := c.json()
		j.startObject()
		j.name("key")
		if key == nil {
			j.null()
		} else {
			j.hexArray(key)
		}
		j.name("next_key")
		j.hexArray(next)
		j.endObject()
		j.finish()
		return nil
	}
	if key == nil {
		fmt.Fprint(c.stdout, "key: None\n")
	} else {
		fmt.Fprintf(c.stdout, "key:\n%s\n", hexBytes(key))
	}
	fmt.Fprintf(c.stdout, "next key:\n%s\n", hexBytes(next))
	return nil
}

func (c *mapCmd) peekPop(args []string, pop bool) error {
	m, sh, rest, err := c.openWithShape(args)
	if err != nil {
		return err
	}
	defer m.Close()
	if len(rest) > 0 {
		return c.fail("unexpected argument '%s'", rest[0])
	}
	var value []byte
	op := "peek"
	if pop {
		op = "pop"
		err = m.LookupAndDelete([]byte{}, &value)
	} else {
		err = m.Lookup([]byte{}, &value)
	}
	if err != nil {
		if maps.Errno(err) == unix.ENOENT {
			return c.fail("empty map")
		}
		return c.fail("%s failed: %s", op, strerror(err))
	}
	if c.g.json {
		j := c.json()
		jsonEntry(j, sh, []byte{}, value)
		j.finish()
	} else {
		c.printEntry(sh, nil, value)
	}
	return nil
}

func (c *mapCmd) freeze(args []string) error {
	m, _, rest, err := c.openMap(args)
	if err != nil {
		return err
	}
	defer m.Close()
	if len(rest) > 0 {
		return c.fail("unexpected argument '%s'", rest[0])
	}
	if err := m.Freeze(); err != nil {
		return c.fail("failed to freeze map: %s", strerror(err))
	}
	c.jsonNull()
	return nil
}
