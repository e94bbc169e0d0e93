package helpers

import (
	"encoding/binary"
	"syscall"

	"github.com/gobee-dev/gobee/interp"
)

// strtoxBaseMask is BPF_STRTOX_BASE_MASK.
const strtoxBaseMask = 0x1f

// isSpace is the kernel's isspace (lib/ctype.c, Latin-1): \t \n \v \f \r,
// space and 0xa0.
func isSpace(c byte) bool { return c == ' ' || (c >= 9 && c <= 13) || c == 0xa0 }

func isXDigit(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f'
}

// parseUint follows the kernel's __bpf_strtoull: it returns the value,
// whether a '-' came first, and the bytes consumed or a negative errno.
func parseUint(buf []byte, flags uint64) (res uint64, neg bool, n int64) {
	base := uint64(flags & strtoxBaseMask)
	if len(buf) == 0 {
		return 0, false, -int64(syscall.EINVAL)
	}
	if base != 0 && base != 8 && base != 10 && base != 16 {
		return 0, false, -int64(syscall.EINVAL)
	}
	if flags&^strtoxBaseMask != 0 {
		return 0, false, -int64(syscall.EINVAL)
	}
	i := 0
	for i < len(buf) && isSpace(buf[i]) {
		i++
	}
	neg = i < len(buf) && buf[i] == '-'
	if neg {
		i++
	}
	consumed := i
	if consumed == len(buf) {
		return 0, neg, -int64(syscall.EINVAL)
	}
	// The kernel copies at most 63 bytes into a NUL-terminated buffer.
	var str [64]byte
	copy(str[:63], buf[i:])
	s := 0
	if base == 0 {
		switch {
		case str[0] != '0':
			base = 10
		case str[1]|0x20 == 'x' && isXDigit(str[2]):
			base = 16
		default:
			base = 8
		}
	}
	if base == 16 && str[0] == '0' && str[1]|0x20 == 'x' {
		s = 2
	}
	var digits int
	overflow := false
	for ; s < len(str); s++ {
		c := str[s]
		var v uint64
		switch {
		case c >= '0' && c <= '9':
			v = uint64(c - '0')
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			v = uint64(c|0x20-'a') + 10
		default:
			v = 99
		}
		if v >= base {
			break
		}
		if res>>60 != 0 && res > (^uint64(0)-v)/base {
			overflow = true
		}
		res = res*base + v
		digits++
	}
	if overflow {
		return 0, neg, -int64(syscall.ERANGE)
	}
	if digits == 0 {
		return 0, neg, -int64(syscall.EINVAL)
	}
	return res, neg, int64(consumed + s)
}

// Strtol is bpf_strtol(buf, buf_len, flags, res): it parses a signed long
// and returns the number of bytes consumed, -EINVAL or -ERANGE. *res is 0
// unless the parse succeeds.
func Strtol(r *interp.Run, buf, bufLen, flags, res, _ uint64) (uint64, error) {
	return strto(r, "bpf_strtol", true, buf, bufLen, flags, res)
}

// Strtoul is bpf_strtoul(buf, buf_len, flags, res), the unsigned form: a
// leading '-' is -EINVAL.
func Strtoul(r *interp.Run, buf, bufLen, flags, res, _ uint64) (uint64, error) {
	return strto(r, "bpf_strtoul", false, buf, bufLen, flags, res)
}

func strto(r *interp.Run, name string, signed bool, buf, bufLen, flags, resPtr uint64) (uint64, error) {
	b, err := mem(r, name, "buf", buf, bufLen, false)
	if err != nil {
		return 0, err
	}
	out, err := mem(r, name, "res", resPtr, 8, true)
	if err != nil {
		return 0, err
	}
	binary.NativeEndian.PutUint64(out, 0)
	v, neg, n := parseUint(b, flags)
	if n < 0 {
		return uint64(n), nil
	}
	if signed {
		if neg {
			if int64(-v) > 0 {
				return errno(syscall.ERANGE), nil
			}
			v = -v
		} else if int64(v) < 0 {
			return errno(syscall.ERANGE), nil
		}
	} else if neg {
		return errno(syscall.EINVAL), nil
	}
	binary.NativeEndian.PutUint64(out, v)
	return uint64(n), nil
}
