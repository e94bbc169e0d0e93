package helpers

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/isa"
)

// call runs a two-instruction program `call id; exit` with r1–r5 = args
// and the given memory, and returns r0.
func call(t *testing.T, env *Env, id int32, args [5]uint64, regions ...interp.Region) (uint64, error) {
	t.Helper()
	p, err := interp.Load(isa.Instructions{
		{Op: isa.OpcodeCall, Imm: int64(id)},
		{Op: isa.OpcodeExit},
	}, &interp.Options{Helpers: Table(env)})
	if err != nil {
		t.Fatal(err)
	}
	return p.Run(&interp.Input{Args: args, Regions: regions, CPU: 3})
}

func rw(b []byte) interp.Region  { return interp.Region{Mem: b, Writable: true} }
func ro(b []byte) interp.Region  { return interp.Region{Mem: b} }
func a(b []byte) uint64          { return interp.Addr(b) }
func neg(e syscall.Errno) uint64 { return errno(e) }

func TestIDs(t *testing.T) {
	want := map[string]int32{
		"bpf_ktime_get_ns": 5, "bpf_trace_printk": 6, "bpf_get_prandom_u32": 7, "bpf_get_smp_processor_id": 8,
		"bpf_get_current_pid_tgid": 14, "bpf_get_current_uid_gid": 15, "bpf_get_current_comm": 16,
		"bpf_get_numa_node_id": 42, "bpf_strtol": 105, "bpf_strtoul": 106, "bpf_probe_read_user": 112,
		"bpf_probe_read_kernel": 113, "bpf_probe_read_user_str": 114, "bpf_probe_read_kernel_str": 115,
		"bpf_jiffies64": 118, "bpf_ktime_get_boot_ns": 125, "bpf_ktime_get_coarse_ns": 160, "bpf_snprintf": 165,
		"bpf_trace_vprintk": 177, "bpf_loop": 181, "bpf_strncmp": 182, "bpf_ktime_get_tai_ns": 208,
	}
	l := List(nil)
	if len(l) != len(want) {
		t.Fatalf("%d helpers, want %d", len(l), len(want))
	}
	for _, h := range l {
		if want[h.Name] != h.ID || h.Fn == nil {
			t.Errorf("%s: id %d, want %d", h.Name, h.ID, want[h.Name])
		}
	}
}

func TestClockRandTask(t *testing.T) {
	clk := &FixedClock{T: 10_000_000_000, Offsets: map[ClockID]uint64{ClockBoottime: 5, ClockTAI: 37e9, ClockMonotonicCoarse: 1}}
	env := &Env{Clock: clk, Rand: func() uint32 { return 0xdeadbeef }, HZ: 100,
		Task: &Task{Pid: 7, Tgid: 6, UID: 1000, GID: 100, Comm: "averyveryverylongcomm"}}
	for id, want := range map[int32]uint64{
		IDKtimeGetNs: 10e9, IDKtimeGetBootNs: 10e9 + 5, IDKtimeGetTaiNs: 47e9, IDKtimeGetCoarseNs: 10e9 + 1,
		IDJiffies64: 1<<32 - 30000 + 1000, IDGetPrandomU32: 0xdeadbeef, IDGetSmpProcessorID: 3,
		IDGetNumaNodeID: 0, IDGetCurrentPidTgid: 6<<32 | 7, IDGetCurrentUIDGid: 100<<32 | 1000,
	} {
		if got, err := call(t, env, id, [5]uint64{}); err != nil || got != want {
			t.Errorf("helper %d = %d, %v; want %d", id, got, err, want)
		}
	}
	buf := bytes.Repeat([]byte{0xaa}, 20)
	if got, err := call(t, env, IDGetCurrentComm, [5]uint64{a(buf), 20}, rw(buf)); err != nil || got != 0 {
		t.Fatal(got, err)
	}
	if want := "averyveryverylo\x00\x00\x00\x00\x00"; string(buf) != want {
		t.Errorf("comm %q, want %q", buf, want)
	}
	if _, err := call(t, env, IDGetCurrentComm, [5]uint64{a(buf), 21}, rw(buf)); err == nil {
		t.Error("comm into too small a buffer did not fail")
	}
	if h := HostTask(); h.Tgid == 0 || h.Comm == "" {
		t.Errorf("host task %+v", h)
	}
}

func TestStrto(t *testing.T) {
	for _, c := range []struct {
		in     string
		flags  uint64
		ret    int64
		l, ul  int64
		retUL  int64
		unused bool
	}{
		{in: "123", ret: 3, l: 123, ul: 123, retUL: 3},
		{in: "  -42x", ret: 5, l: -42, retUL: -int64(syscall.EINVAL)},
		{in: "0x1F", ret: 4, l: 31, ul: 31, retUL: 4},
		{in: "0x1F", flags: 10, ret: 1, l: 0, ul: 0, retUL: 1},
		{in: "0x", flags: 16, ret: -int64(syscall.EINVAL), retUL: -int64(syscall.EINVAL)},
		{in: "017", ret: 3, l: 15, ul: 15, retUL: 3},
		{in: "9223372036854775808", ret: -int64(syscall.ERANGE), ul: -9223372036854775808, retUL: 19},
		{in: "-9223372036854775808", ret: 20, l: -9223372036854775808, retUL: -int64(syscall.EINVAL)},
		{in: "18446744073709551616", ret: -int64(syscall.ERANGE), retUL: -int64(syscall.ERANGE)},
		{in: "12", flags: 7, ret: -int64(syscall.EINVAL), retUL: -int64(syscall.EINVAL)},
		{in: "12", flags: 1<<5 | 10, ret: -int64(syscall.EINVAL), retUL: -int64(syscall.EINVAL)},
		{in: "   ", ret: -int64(syscall.EINVAL), retUL: -int64(syscall.EINVAL)},
		{in: "-", ret: -int64(syscall.EINVAL), retUL: -int64(syscall.EINVAL)},
	} {
		buf := []byte(c.in)
		res := make([]byte, 8)
		for _, id := range []int32{IDStrtol, IDStrtoul} {
			binary.NativeEndian.PutUint64(res, 0x5555)
			got, err := call(t, nil, id, [5]uint64{a(buf), uint64(len(buf)), c.flags, a(res)}, ro(buf), rw(res))
			wantRet, wantRes := c.ret, c.l
			if id == IDStrtoul {
				wantRet, wantRes = c.retUL, c.ul
			}
			if wantRet < 0 {
				wantRes = 0
			}
			if err != nil || int64(got) != wantRet || int64(binary.NativeEndian.Uint64(res)) != wantRes {
				t.Errorf("helper %d(%q, %d) = %d (res %d), %v; want %d (res %d)", id, c.in, c.flags,
					int64(got), int64(binary.NativeEndian.Uint64(res)), err, wantRet, wantRes)
			}
		}
	}
	res := make([]byte, 4)
	buf := []byte("1")
	if _, err := call(t, nil, IDStrtol, [5]uint64{a(buf), 1, 0, a(res)}, ro(buf), rw(res)); !errors.Is(err, interp.ErrOutOfBounds) {
		t.Errorf("strtol with a 4-byte res: %v", err)
	}
}

func TestStrncmp(t *testing.T) {
	for _, c := range []struct {
		s1, s2 string
		n      uint64
		want   int64
	}{
		{"abc", "abc\x00", 3, 0}, {"abd", "abc\x00", 3, 1}, {"abb", "abc\x00", 3, -1},
		{"ab\x00x", "ab\x00y", 4, 0}, {"\xff", "a\x00", 1, 1}, {"abcdef", "abc\x00", 6, 1}, {"abz", "abc\x00", 2, 0},
	} {
		s1, s2 := []byte(c.s1), []byte(c.s2)
		got, err := call(t, nil, IDStrncmp, [5]uint64{a(s1), c.n, a(s2)}, ro(s1), ro(s2))
		if err != nil || int64(got) != c.want {
			t.Errorf("strncmp(%q, %q, %d) = %d, %v; want %d", c.s1, c.s2, c.n, int64(got), err, c.want)
		}
	}
	s1 := []byte("abc")
	if _, err := call(t, nil, IDStrncmp, [5]uint64{a(s1), 3, 0}, ro(s1)); err == nil {
		t.Error("strncmp with an unreadable s2 did not fail")
	}
}

func TestLoopArgs(t *testing.T) {
	for _, c := range []struct {
		nr, flags uint64
		want      uint64
	}{
		{0, 0, 0}, {MaxLoops + 1, 0, neg(syscall.E2BIG)}, {1, 1, neg(syscall.EINVAL)}, {1 << 32, 0, 0},
	} {
		if got, err := call(t, nil, IDLoop, [5]uint64{c.nr, 0, 0, c.flags}); err != nil || got != c.want {
			t.Errorf("loop(%d, flags %d) = %d, %v; want %d", c.nr, c.flags, int64(got), err, int64(c.want))
		}
	}
	if _, err := call(t, nil, IDLoop, [5]uint64{1, 0x1234, 0, 0}); !errors.Is(err, interp.ErrBadCallTarget) {
		t.Errorf("loop with a bad callback: %v", err)
	}
}

func TestProbeRead(t *testing.T) {
	src := []byte("hello\x00world")
	dst := make([]byte, 8)
	fill := func() { copy(dst, bytes.Repeat([]byte{0xaa}, 8)) }
	for _, c := range []struct {
		id   int32
		size uint64
		src  uint64
		ret  uint64
		dst  string
	}{
		{IDProbeReadKernel, 8, a(src), 0, "hello\x00wo"},
		{IDProbeReadKernel, 8, 0, neg(syscall.ERANGE), "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{IDProbeReadKernel, 8, 0xffff_ffff_ffff_0000, neg(syscall.EFAULT), "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{IDProbeReadKernel, 0, 0, neg(syscall.ERANGE), "\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa"},
		{IDProbeReadKernel, 0, a(src), 0, "\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa"},
		{IDProbeReadUser, 8, 0, neg(syscall.EFAULT), "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{IDProbeReadUser, 4, a(src) + 9, neg(syscall.EFAULT), "\x00\x00\x00\x00\xaa\xaa\xaa\xaa"},
		{IDProbeReadKernelStr, 8, a(src), 6, "hello\x00\xaa\xaa"},
		{IDProbeReadKernelStr, 4, a(src), 4, "hel\x00\xaa\xaa\xaa\xaa"},
		{IDProbeReadKernelStr, 8, a(src) + 6, neg(syscall.ERANGE), "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{IDProbeReadKernelStr, 0, 0, 0, "\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa"},
		{IDProbeReadUserStr, 8, a(src) + 5, 1, "\x00\xaa\xaa\xaa\xaa\xaa\xaa\xaa"},
		{IDProbeReadUserStr, 8, 0, neg(syscall.EFAULT), "\x00\x00\x00\x00\x00\x00\x00\x00"},
	} {
		fill()
		got, err := call(t, nil, c.id, [5]uint64{a(dst), c.size, c.src}, rw(dst), ro(src))
		if err != nil || got != c.ret || string(dst) != c.dst {
			t.Errorf("probe %d(size %d, %#x) = %d %q, %v; want %d %q", c.id, c.size, c.src, int64(got), dst, err, int64(c.ret), c.dst)
		}
	}
	if _, err := call(t, nil, IDProbeReadKernel, [5]uint64{a(dst), 8, a(src)}, ro(dst), ro(src)); !errors.Is(err, interp.ErrOutOfBounds) {
		t.Errorf("probe into read-only memory: %v", err)
	}
}

func TestSnprintf(t *testing.T) {
	str := []byte("str\x00")
	ip := []byte{10, 0, 0, 1}
	for _, c := range []struct {
		f    string
		args []uint64
		want string
		ret  int64
	}{
		{f: "%d %i %u %x %X", args: []uint64{^uint64(0), 5, ^uint64(0), 255, 255}, want: "-1 5 4294967295 ff FF"},
		{f: "%ld %lu %llx %lld", args: []uint64{^uint64(0), ^uint64(0), 1 << 40, 1 << 63}, want: "-1 18446744073709551615 10000000000 -9223372036854775808"},
		{f: "[%5d][%-5d][%05d][%+d][% d][%+u]", args: []uint64{1, 2, uint64(1<<32 - 3), 4, 5, 6}, want: "[    1][2    ][-0003][+4][ 5][6]"},
		{f: "[%s][%6s][%-6s][%c][%3c][%%]", args: []uint64{a(str), a(str), 0, 'x', 'y'}, want: "[str][   str][      ][x][  y][%]"},
		{f: "%pI4 %pi4 %p %px", args: []uint64{a(ip), a(ip), 0, 0xabc}, want: "10.0.0.1 010.000.000.001 0000000000000000 0000000000000abc"},
		{f: "%pks.", args: []uint64{a(str)}, want: "str."},
		{f: "%d", want: "", ret: -int64(syscall.EINVAL)},
		{f: "%o", args: []uint64{1}, ret: -int64(syscall.EINVAL)},
		{f: "%.2d", args: []uint64{1}, ret: -int64(syscall.EINVAL)},
		{f: "%hd", args: []uint64{1}, ret: -int64(syscall.EINVAL)},
		{f: "%sx", args: []uint64{a(str)}, ret: -int64(syscall.EINVAL)},
		{f: "%pQ", args: []uint64{1}, ret: -int64(syscall.EINVAL)},
		{f: "a\x01", ret: -int64(syscall.EINVAL)},
		{f: "\xc3\xa9%%", want: "\xc3\xa9%"},
	} {
		f := append([]byte(c.f), 0)
		data := make([]byte, 8*len(c.args)+8)
		for i, v := range c.args {
			binary.NativeEndian.PutUint64(data[8*i:], v)
		}
		out := bytes.Repeat([]byte{'U'}, 100)
		got, err := call(t, nil, IDSnprintf, [5]uint64{a(out), 100, a(f), a(data), uint64(8 * len(c.args))},
			rw(out), ro(f), ro(data), ro(str), ro(ip))
		want := c.ret
		if want == 0 {
			want = int64(len(c.want)) + 1
		}
		if err != nil || int64(got) != want || (want > 0 && string(out[:want]) != c.want+"\x00") {
			t.Errorf("snprintf(%q) = %d %q, %v; want %d %q", c.f, int64(got), out[:max(0, min(int64(got), 100))], err, want, c.want)
		}
	}
	// Truncation: the return value still counts the whole output.
	f := []byte("hello %d\x00")
	data := make([]byte, 8)
	binary.NativeEndian.PutUint64(data, 12345)
	out := bytes.Repeat([]byte{'U'}, 8)
	got, err := call(t, nil, IDSnprintf, [5]uint64{a(out), 4, a(f), a(data), 8}, rw(out), ro(f), ro(data))
	if err != nil || got != 12 || string(out) != "hel\x00UUUU" {
		t.Errorf("truncated snprintf = %d %q, %v", got, out, err)
	}
	for _, dl := range []uint64{4, 13 * 8} {
		if got, _ := call(t, nil, IDSnprintf, [5]uint64{a(out), 8, a(f), a(data), dl}, rw(out), ro(f), ro(data)); got != neg(syscall.EINVAL) {
			t.Errorf("snprintf with data_len %d = %d", dl, int64(got))
		}
	}
	// Strings that do not fit the 512-byte argument buffer are cut.
	long := append(bytes.Repeat([]byte{'x'}, 300), 0)
	f = []byte("%s%s\x00")
	data = make([]byte, 16)
	binary.NativeEndian.PutUint64(data, a(long))
	binary.NativeEndian.PutUint64(data[8:], a(long))
	big := make([]byte, 1024)
	if got, _ := call(t, nil, IDSnprintf, [5]uint64{a(big), 1024, a(f), a(data), 16}, rw(big), ro(f), ro(data), ro(long)); got != 511 {
		t.Errorf("two 300-byte strings: %d, want 511 (300 + the 210 that fit, and the NUL)", got)
	}
}

func TestTracePrintk(t *testing.T) {
	pipe := NewTracePipe()
	env := &Env{Trace: pipe, Clock: &FixedClock{T: 12_345_678_901}, Task: &Task{Pid: 42, Comm: "prog"}}
	f := []byte("x=%d %s\n\x00")
	s := []byte("hi\x00")
	got, err := call(t, env, IDTracePrintk, [5]uint64{a(f), uint64(len(f)), 7, a(s)}, ro(f), ro(s))
	if err != nil || got != 7 {
		t.Fatalf("trace_printk = %d, %v", int64(got), err)
	}
	want := "            prog-42      [003] ...11    12.345678: bpf_trace_printk: x=7 hi\n\n"
	if line := string(pipe.Drain()); line != want {
		t.Errorf("trace line\n%q, want\n%q", line, want)
	}
	for _, c := range []struct {
		f    string
		size uint64
	}{{"%d %d %d %d\x00", 12}, {"abc", 3}, {"%z\x00", 3}} {
		f := []byte(c.f)
		if got, err := call(t, env, IDTracePrintk, [5]uint64{a(f), c.size}, ro(f)); err != nil || got != neg(syscall.EINVAL) {
			t.Errorf("trace_printk(%q) = %d, %v; want -EINVAL", c.f, int64(got), err)
		}
	}
	data := make([]byte, 8)
	binary.NativeEndian.PutUint64(data, 9)
	f = []byte("v%d\x00")
	if got, err := call(t, env, IDTraceVprintk, [5]uint64{a(f), 4, a(data), 8}, ro(f), ro(data)); err != nil || got != 2 {
		t.Errorf("trace_vprintk = %d, %v", int64(got), err)
	}
	if got, _ := call(t, env, IDTraceVprintk, [5]uint64{a(f), 4, 0, 8}, ro(f)); got != neg(syscall.EINVAL) {
		t.Errorf("trace_vprintk with NULL data = %d", int64(got))
	}
	if !strings.HasSuffix(string(pipe.Drain()), "bpf_trace_printk: v9\n") {
		t.Error("trace_vprintk line missing")
	}
	go func() { pipe.Emit(TraceEntry{Comm: "c", Msg: []byte("m")}); pipe.Close() }()
	b, err := io.ReadAll(pipe)
	if err != nil || !strings.HasSuffix(string(b), ": bpf_trace_printk: m\n") {
		t.Errorf("read pipe: %q, %v", b, err)
	}
}
