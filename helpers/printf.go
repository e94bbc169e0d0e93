package helpers

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"syscall"

	"github.com/gobee-dev/gobee/interp"
)

// Limits of the kernel's bpf_bprintf_prepare.
const (
	MaxBprintfVarargs  = 12   // MAX_BPRINTF_VARARGS
	MaxTracePrintkArgs = 3    // MAX_TRACE_PRINTK_VARARGS
	MaxBprintfBuf      = 1024 // MAX_BPRINTF_BUF
	MaxBprintfBinArgs  = 512  // MAX_BPRINTF_BIN_ARGS
)

// binArgs is the kernel's MAX_BPRINTF_BIN_ARGS buffer as
// bpf_bprintf_prepare fills it and bstr_printf reads it: integers at
// 4-byte alignment, %c as one byte, strings (copied, or preformatted for
// %pI4 and the like) with their NUL.
type binArgs struct {
	b    [MaxBprintfBinArgs]byte
	used int
}

func (a *binArgs) room() int { return MaxBprintfBinArgs - a.used }

func (a *binArgs) num(size int, v uint64) syscall.Errno {
	a.used = (a.used + 3) &^ 3
	if a.room() < size {
		return syscall.ENOSPC
	}
	if size == 8 {
		binary.LittleEndian.PutUint64(a.b[a.used:], v)
	} else {
		binary.LittleEndian.PutUint32(a.b[a.used:], uint32(v))
	}
	a.used += size
	return 0
}

// preformatted stores s as the kernel's snprintf into the rest of the
// buffer would: cut to fit with a NUL, but advancing by its full length.
func (a *binArgs) preformatted(s []byte) {
	if room := a.room(); room > 0 {
		n := copy(a.b[a.used:a.used+room-1], s)
		a.b[a.used+n] = 0
	}
	a.used += len(s) + 1
}

func at(f []byte, i int) byte {
	if i < len(f) {
		return f[i]
	}
	return 0
}

func isPrint(c byte) bool { return c >= 0x20 && c < 0x7f }
func isPunct(c byte) bool {
	return isPrint(c) && c != ' ' && !isAlnum(c)
}
func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// prepare follows bpf_bprintf_prepare: it checks f (without its NUL)
// against the kernel's rules for at most len(raw) arguments and converts
// the arguments into the binary buffer. It returns 0 or an errno.
//
// Linux 6.18 accepts bytes 0x80-0xff in a format; it rejects ASCII
// control characters other than white space.
func (e *Env) prepare(r *interp.Run, f []byte, raw []uint64) (*binArgs, syscall.Errno) {
	args := &binArgs{}
	nspec := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c < 0x80 && !isPrint(c) && !isSpace(c) {
			return nil, syscall.EINVAL
		}
		if c != '%' {
			continue
		}
		if at(f, i+1) == '%' {
			i++
			continue
		}
		if nspec >= len(raw) {
			return nil, syscall.EINVAL
		}
		cur := raw[nspec]
		nspec++
		i++
		for at(f, i) == '0' || at(f, i) == '+' || at(f, i) == '-' || at(f, i) == ' ' {
			i++
		}
		if at(f, i) >= '1' && at(f, i) <= '9' {
			i++
			for at(f, i) >= '0' && at(f, i) <= '9' {
				i++
			}
		}
		switch at(f, i) {
		case 'p':
			n := at(f, i+1)
			switch {
			case n == 0 || isSpace(n) || isPunct(n):
				if err := args.num(8, cur); err != 0 {
					return nil, err
				}
				continue
			case (n == 'k' || n == 'u') && at(f, i+2) == 's':
				i += 2
				if err := args.str(r, f, i, cur); err != 0 {
					return nil, err
				}
				continue
			case n == 'K' || n == 'x' || n == 's' || n == 'S':
				i++
				if err := args.num(8, cur); err != 0 {
					return nil, err
				}
				continue
			case n == 'B':
				i++
				args.preformatted(fmt.Appendf(nil, "%#x", cur))
				continue
			}
			if (n != 'i' && n != 'I') || (at(f, i+2) != '4' && at(f, i+2) != '6') {
				return nil, syscall.EINVAL
			}
			i += 2
			size := 4
			if f[i] == '6' {
				size = 16
			}
			if args.room() < size {
				return nil, syscall.ENOSPC
			}
			ip, err := r.Mem(cur, uint64(size), false)
			if err != nil {
				ip = make([]byte, size)
			}
			args.preformatted(formatIP(n, ip))
			continue
		case 's':
			if err := args.str(r, f, i, cur); err != 0 {
				return nil, err
			}
			continue
		case 'c':
			if args.room() <= 0 {
				return nil, syscall.ENOSPC
			}
			args.b[args.used] = byte(cur)
			args.used++
			continue
		}
		size := 4
		if at(f, i) == 'l' {
			size = 8
			i++
		}
		if at(f, i) == 'l' {
			i++
		}
		switch at(f, i) {
		case 'i', 'd', 'u', 'x', 'X':
		default:
			return nil, syscall.EINVAL
		}
		if err := args.num(size, cur); err != 0 {
			return nil, err
		}
	}
	return args, 0
}

// str handles %s, %ks and %us at f[i] == 's': the kernel copies the
// string into the binary buffer (cut to fit), or an empty one when it
// cannot read it.
func (a *binArgs) str(r *interp.Run, f []byte, i int, ptr uint64) syscall.Errno {
	if n := at(f, i+1); n != 0 && !isSpace(n) && !isPunct(n) {
		return syscall.EINVAL
	}
	room := a.room()
	if room <= 0 {
		return syscall.ENOSPC
	}
	k := 0
	for ; k < room-1; k++ {
		c, ok := readable(r, ptr+uint64(k))
		if !ok {
			k = 0
			break
		}
		if c == 0 {
			break
		}
		a.b[a.used+k] = c
	}
	a.b[a.used+k] = 0
	a.used += k + 1
	return 0
}

func formatIP(kind byte, ip []byte) []byte {
	switch {
	case len(ip) == 4 && kind == 'I':
		return fmt.Appendf(nil, "%d.%d.%d.%d", ip[0], ip[1], ip[2], ip[3])
	case len(ip) == 4:
		return fmt.Appendf(nil, "%03d.%03d.%03d.%03d", ip[0], ip[1], ip[2], ip[3])
	case kind == 'I':
		var out []byte
		for k := 0; k < 16; k += 2 {
			if k > 0 {
				out = append(out, ':')
			}
			out = fmt.Appendf(out, "%04x", binary.BigEndian.Uint16(ip[k:]))
		}
		return out
	default:
		return fmt.Appendf(nil, "%x", ip)
	}
}

// Flags of a conversion, as the kernel's struct printf_spec.
const (
	fLeft = 1 << iota
	fPlus
	fSpace
	fZero
	fSign
	fSmall
)

// number is the kernel's number() (lib/vsprintf.c) without precision and
// the '#' prefix, which bpf formats cannot ask for.
func number(out []byte, v uint64, base uint64, flags, width int) []byte {
	if flags&fLeft != 0 {
		flags &^= fZero
	}
	var sign byte
	if flags&fSign != 0 {
		switch {
		case int64(v) < 0:
			sign, v = '-', -v
			width--
		case flags&fPlus != 0:
			sign = '+'
			width--
		case flags&fSpace != 0:
			sign = ' '
			width--
		}
	}
	digits := "0123456789ABCDEF"
	if flags&fSmall != 0 {
		digits = "0123456789abcdef"
	}
	var tmp [24]byte
	n := 0
	for {
		tmp[n] = digits[v%base]
		n++
		v /= base
		if v == 0 {
			break
		}
	}
	width -= n
	if flags&(fZero|fLeft) == 0 {
		for ; width > 0; width-- {
			out = append(out, ' ')
		}
	}
	if sign != 0 {
		out = append(out, sign)
	}
	if flags&fLeft == 0 {
		pad := byte(' ')
		if flags&fZero != 0 {
			pad = '0'
		}
		for ; width > 0; width-- {
			out = append(out, pad)
		}
	}
	for n > 0 {
		n--
		out = append(out, tmp[n])
	}
	for ; width > 0; width-- {
		out = append(out, ' ')
	}
	return out
}

func widen(out, s []byte, flags, width int) []byte {
	pad := width - len(s)
	if flags&fLeft == 0 {
		for ; pad > 0; pad-- {
			out = append(out, ' ')
		}
	}
	out = append(out, s...)
	for ; pad > 0; pad-- {
		out = append(out, ' ')
	}
	return out
}

var ptrSeed = maphash.MakeSeed()

// hashPtr is what %p prints instead of a pointer: 32 bits of a keyed hash,
// as the kernel's ptr_to_id on 64-bit; NULL and error pointers print as
// they are.
func (e *Env) hashPtr(v uint64) uint64 {
	if v == 0 || v >= ^uint64(0)-4094 {
		return v
	}
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], v)
	binary.LittleEndian.PutUint64(b[8:], e.PtrKey)
	return maphash.Bytes(ptrSeed, b[:]) & 0xffffffff
}

// bstrPrintf follows the kernel's bstr_printf over a format prepare
// accepted, for an output buffer of size bytes, and returns the output
// untruncated. As in the kernel, a string that prepare preformatted (%pI4,
// %pks and the like) is copied without padding, and only while the output
// has not yet reached size: past it, it counts for nothing and, a kernel
// quirk, the arguments after it are read from where it starts.
func (e *Env) bstrPrintf(f []byte, bin *binArgs, size int) []byte {
	var out []byte
	cur := 0
	get := func(n int) uint64 {
		if n > 1 {
			cur = (cur + 3) &^ 3
		}
		var b [8]byte
		if cur < len(bin.b) {
			copy(b[:n], bin.b[cur:])
		}
		cur += n
		return binary.LittleEndian.Uint64(b[:])
	}
	cstr := func() []byte {
		if cur >= len(bin.b) {
			cur++
			return nil
		}
		s := bin.b[cur:]
		if k := bytes.IndexByte(s, 0); k >= 0 {
			s = s[:k]
		}
		cur += len(s) + 1
		return s
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			out = append(out, c)
			continue
		}
		if at(f, i+1) == '%' {
			out = append(out, '%')
			i++
			continue
		}
		i++
		flags, width := 0, 0
	flagLoop:
		for {
			switch at(f, i) {
			case '-':
				flags |= fLeft
			case '+':
				flags |= fPlus
			case ' ':
				flags |= fSpace
			case '0':
				flags |= fZero
			default:
				break flagLoop
			}
			i++
		}
		hasWidth := false
		for at(f, i) >= '0' && at(f, i) <= '9' {
			width = width*10 + int(f[i]-'0')
			hasWidth = true
			i++
		}
		switch f[i] {
		case 'p':
			k := at(f, i+1)
			switch {
			case isAlnum(k) && k != 'S' && k != 's' && k != 'x' && k != 'K' && k != 'e':
				if len(out) < size {
					out = append(out, cstr()...)
				}
			case k == 's' || k == 'S':
				out = widen(out, fmt.Appendf(nil, "%#x", get(8)), flags, width)
			default:
				v := get(8)
				if k != 'x' {
					v = e.hashPtr(v)
				}
				if !hasWidth {
					width, flags = 16, flags|fZero
				}
				out = number(out, v, 16, flags|fSmall, width)
			}
			for isAlnum(at(f, i+1)) {
				i++
			}
		case 's':
			out = widen(out, cstr(), flags, width)
		case 'c':
			if flags&fLeft == 0 {
				for ; width > 1; width-- {
					out = append(out, ' ')
				}
			}
			out = append(out, byte(get(1)))
			for ; width > 1; width-- {
				out = append(out, ' ')
			}
		default:
			n := 4
			if f[i] == 'l' {
				n = 8
				i++
			}
			if f[i] == 'l' {
				i++
			}
			v := get(n)
			base := uint64(10)
			switch f[i] {
			case 'd', 'i':
				flags |= fSign
				if n == 4 {
					v = uint64(int64(int32(v)))
				}
			case 'x':
				base = 16
				flags |= fSmall
			case 'X':
				base = 16
			}
			out = number(out, v, base, flags, width)
		}
	}
	return out
}

// sprintf runs prepare and bstrPrintf; the errno is 0 on success.
func (e *Env) sprintf(r *interp.Run, f []byte, raw []uint64, size int) ([]byte, syscall.Errno) {
	args, err := e.prepare(r, f, raw)
	if err != 0 {
		return nil, err
	}
	return e.bstrPrintf(f, args, size), 0
}

// traceOut emits msg (cut to MAX_BPRINTF_BUF-1 bytes) to the trace pipe.
func (e *Env) traceOut(r *interp.Run, msg []byte) {
	msg = msg[:min(len(msg), MaxBprintfBuf-1)]
	t := e.task(r)
	e.Trace.Emit(TraceEntry{Comm: t.Comm, Pid: t.Pid, CPU: r.CPU(), Nanos: e.Clock.Now(ClockMonotonic), Msg: append([]byte(nil), msg...), Flags: e.TraceFlags})
}

// fmtArg reads a format of fmt_size bytes; it must hold a NUL.
func fmtArg(r *interp.Run, name string, ptr, size uint64) ([]byte, bool, error) {
	b, err := mem(r, name, "fmt", ptr, uint64(uint32(size)), false)
	if err != nil {
		return nil, false, err
	}
	for i, c := range b {
		if c == 0 {
			return b[:i], true, nil
		}
	}
	return nil, false, nil
}

// tracePrintk is bpf_trace_printk(fmt, fmt_size, a1, a2, a3): the length
// of the message, or a negative errno.
func (e *Env) tracePrintk(r *interp.Run, f, fsize, a1, a2, a3 uint64) (uint64, error) {
	format, ok, err := fmtArg(r, "bpf_trace_printk", f, fsize)
	if err != nil || !ok {
		return errno(syscall.EINVAL), err
	}
	msg, en := e.sprintf(r, format, []uint64{a1, a2, a3}, MaxBprintfBuf)
	if en != 0 {
		return errno(en), nil
	}
	e.traceOut(r, msg)
	return uint64(len(msg)), nil
}

// dataArgs reads the u64 array of snprintf and trace_vprintk.
func dataArgs(r *interp.Run, name string, data, dataLen uint64) ([]uint64, syscall.Errno, error) {
	dataLen = uint64(uint32(dataLen))
	if dataLen%8 != 0 || dataLen > MaxBprintfVarargs*8 || (dataLen != 0 && data == 0) {
		return nil, syscall.EINVAL, nil
	}
	b, err := mem(r, name, "data", data, dataLen, false)
	if err != nil {
		return nil, 0, err
	}
	raw := make([]uint64, dataLen/8)
	for i := range raw {
		raw[i] = binary.NativeEndian.Uint64(b[8*i:])
	}
	return raw, 0, nil
}

// traceVprintk is bpf_trace_vprintk(fmt, fmt_size, data, data_len).
func (e *Env) traceVprintk(r *interp.Run, f, fsize, data, dataLen, _ uint64) (uint64, error) {
	raw, en, err := dataArgs(r, "bpf_trace_vprintk", data, dataLen)
	if err != nil || en != 0 {
		return errno(en), err
	}
	format, ok, err := fmtArg(r, "bpf_trace_vprintk", f, fsize)
	if err != nil || !ok {
		return errno(syscall.EINVAL), err
	}
	msg, en := e.sprintf(r, format, raw, MaxBprintfBuf)
	if en != 0 {
		return errno(en), nil
	}
	e.traceOut(r, msg)
	return uint64(len(msg)), nil
}

// snprintf is bpf_snprintf(str, str_size, fmt, data, data_len): it writes
// at most str_size bytes including a NUL and returns the length of the
// whole output including the NUL, or a negative errno.
func (e *Env) snprintf(r *interp.Run, str, size, f, data, dataLen uint64) (uint64, error) {
	size = uint64(uint32(size))
	raw, en, err := dataArgs(r, "bpf_snprintf", data, dataLen)
	if err != nil || en != 0 {
		return errno(en), err
	}
	format, ok := cString(r, f, 1<<16)
	if !ok {
		return 0, fmt.Errorf("bpf_snprintf: fmt: %w: no readable NUL-terminated string at %#x", interp.ErrOutOfBounds, f)
	}
	var dst []byte
	if size > 0 {
		if dst, err = mem(r, "bpf_snprintf", "str", str, size, true); err != nil {
			return 0, err
		}
	}
	msg, en := e.sprintf(r, format, raw, int(size))
	if en != 0 {
		return errno(en), nil
	}
	if size > 0 {
		n := copy(dst[:size-1], msg)
		dst[n] = 0
	}
	return uint64(len(msg)) + 1, nil
}
