// Programs for the helpers package's kernel differential test. Each XDP
// program reads its inputs from the first 128 bytes of a 384-byte packet
// and writes its results from byte 128 on. Build: see gen.go.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PKT 384
#define IN(p, off, T) ({ T v_; __builtin_memcpy(&v_, (p) + (off), sizeof(T)); v_; })
#define OUT(p, off, v) ({ __typeof__(v) v_ = (v); __builtin_memcpy((p) + 128 + (off), &v_, sizeof(v_)); })

// PROG(name) defines the XDP program name, which checks the packet's
// length and calls name_body(packet): gobee's test runs the body directly.
// Bodies return the input byte 7 so that clang cannot fold the return value.
#define PROG(name)                                                     \
	static __attribute__((noinline)) int name##_body(__u8 *p);     \
	SEC("xdp") int name(struct xdp_md *ctx)                        \
	{                                                              \
		__u8 *p = (__u8 *)(long)ctx->data;                     \
		if ((void *)(p + PKT) > (void *)(long)ctx->data_end)   \
			return XDP_ABORTED;                            \
		return name##_body(p);                                 \
	}                                                              \
	static __attribute__((noinline)) int name##_body(__u8 *p)

PROG(strto)
{
	char buf[64];
	__builtin_memcpy(buf, p + 16, 64);
	__u64 flags = IN(p, 0, __u64);
	__u32 len = (p[8] & 63) + 1;
	long res = 0x1234;
	unsigned long ures = 0x5678;
	long r1 = bpf_strtol(buf, len, flags, &res);
	long r2 = bpf_strtoul(buf, len, flags, &ures);
	OUT(p, 0, r1);
	OUT(p, 8, res);
	OUT(p, 16, r2);
	OUT(p, 24, ures);
	return p[7];
}

static const char s_hello[] = "hello";
static const char s_empty[] = "";
static const char s_long[] = "hello world, this is a longer one";
static const char s_high[] = "\xff\x80z";

PROG(strncmp_prog)
{
	char s1[40];
	__builtin_memcpy(s1, p + 16, 40);
	__u32 n = (p[8] & 31) + 1;
	OUT(p, 0, (long)bpf_strncmp(s1, n, s_hello));
	OUT(p, 8, (long)bpf_strncmp(s1, n, s_empty));
	OUT(p, 16, (long)bpf_strncmp(s1, n, s_long));
	OUT(p, 24, (long)bpf_strncmp(s1, n, s_high));
	return p[7];
}

static const char f0[] = "%d %i %u %x %X|%ld %lu %lx|%lld %llu %llx %llX";
static const char f1[] = "[%5d][%-5d][%05d][%+d][% d][%-+6d][%s][%10s][%-10s][%c][%3c][%%]";
static const char f2[] = "%pI4 %pi4 %pI6 %pi6 [%pks] %px %p %-4c|%08x|%+u|% x";
static const char f3[] = "%s%s%s%s%s%s%s%s%s%s%s%s";

PROG(snprintf_prog)
{
	__u64 a[12];
	char out[128];
	__builtin_memcpy(a, p + 16, 96);
	__builtin_memset(out, 0x55, sizeof(out));
	__u32 size = p[8] & 127;
	__u8 sel = p[9] & 3;
	__u8 *s = p + 16 + (p[10] & 63);
	long ret;
	if (sel == 0) {
		ret = bpf_snprintf(out, size, f0, a, sizeof(a));
	} else if (sel == 1) {
		a[6] = (__u64)(long)s;
		a[7] = (__u64)(long)(p + 16 + (p[11] & 63));
		a[8] = (__u64)(long)(p + 16 + (p[12] & 63));
		ret = bpf_snprintf(out, size, f1, a, 88);
	} else if (sel == 2) {
		a[0] = (__u64)(long)s;
		a[1] = (__u64)(long)(p + 16 + (p[11] & 63));
		a[2] = (__u64)(long)(p + 16 + (p[12] & 63));
		a[3] = (__u64)(long)(p + 16 + (p[13] & 63));
		a[4] = (__u64)(long)(p + 16 + (p[14] & 63));
		a[6] = 0;
		ret = bpf_snprintf(out, size, f2, a, 88);
	} else {
		for (int i = 0; i < 12; i++)
			a[i] = (__u64)(long)(p + 16 + (p[2 + i] & 63));
		ret = bpf_snprintf(out, size, f3, a, sizeof(a));
	}
	OUT(p, 0, ret);
	__builtin_memcpy(p + 136, out, 128);
	return p[7];
}

PROG(vprintk_prog)
{
	char fmt[64];
	__u64 a[16];
	__builtin_memcpy(fmt, p + 16, 64);
	__builtin_memcpy(a, p + 80, 48);
	for (int i = 6; i < 16; i++)
		a[i] = (__u64)(long)(p + 16 + i);
	__u32 fsize = (p[8] & 63) + 1;
	__u32 dlen = (p[9] & 15) * 8;
	long r1 = bpf_trace_vprintk(fmt, fsize, a, dlen);
	long r2 = bpf_trace_printk(fmt, fsize, a[0], a[1], a[2]);
	OUT(p, 0, r1);
	OUT(p, 8, r2);
	return p[7];
}

struct loop_ctx {
	__u32 stop;
	__u32 count;
	__u64 sum;
};

static long loop_cb(__u64 i, void *c)
{
	struct loop_ctx *lc = c;
	lc->sum += i * 3 + 1;
	lc->count++;
	return i == lc->stop;
}

PROG(loop_prog)
{
	struct loop_ctx lc = { .stop = IN(p, 28, __u32) };
	long r = bpf_loop(IN(p, 16, __u32), loop_cb, &lc, IN(p, 20, __u64));
	OUT(p, 0, r);
	OUT(p, 8, lc.count);
	OUT(p, 16, lc.sum);
	return p[7];
}

PROG(probe_prog)
{
	char d[32];
	__u32 size = p[9] & 31;
	__u8 *src = p + 16 + (p[10] & 63);
	void *bad = (void *)(long)IN(p, 0, __u64);

	__builtin_memset(d, 0xaa, sizeof(d));
	OUT(p, 0, bpf_probe_read_kernel(d, size, src));
	__builtin_memcpy(p + 136, d, 32);

	__builtin_memset(d, 0xaa, sizeof(d));
	OUT(p, 8, bpf_probe_read_kernel_str(d, size, src));
	__builtin_memcpy(p + 168, d, 32);

	__builtin_memset(d, 0xaa, sizeof(d));
	OUT(p, 200 - 128, bpf_probe_read_kernel(d, 8, bad));
	__builtin_memcpy(p + 208, d, 8);

	__builtin_memset(d, 0xaa, sizeof(d));
	OUT(p, 216 - 128, bpf_probe_read_kernel_str(d, 8, bad));
	__builtin_memcpy(p + 224, d, 8);

	__builtin_memset(d, 0xaa, sizeof(d));
	OUT(p, 232 - 128, bpf_probe_read_user(d, 8, bad));
	__builtin_memcpy(p + 240, d, 8);

	__builtin_memset(d, 0xaa, sizeof(d));
	OUT(p, 248 - 128, bpf_probe_read_user_str(d, 8, bad));
	__builtin_memcpy(p + 256, d, 8);

	__builtin_memset(d, 0xaa, sizeof(d));
	OUT(p, 264 - 128, bpf_probe_read_kernel(d, size, (void *)0));
	__builtin_memcpy(p + 272, d, 8);
	return p[7];
}

PROG(task_prog)
{
	char comm[16];
	__u32 size = (p[8] & 15) + 1;
	__builtin_memset(comm, 0xaa, sizeof(comm));
	OUT(p, 0, bpf_get_current_comm(comm, size));
	__builtin_memcpy(p + 136, comm, 16);
	OUT(p, 24, bpf_get_current_uid_gid());
	OUT(p, 32, bpf_get_current_pid_tgid() >> 32);
	return p[7];
}

char LICENSE[] SEC("license") = "GPL";
