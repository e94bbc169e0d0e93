// Programs for the helpers package's trace differential test
// (trace_kernel_test.go): an XDP program and a socket filter that format
// packet bytes with bpf_trace_printk / bpf_printk (and bpf_trace_vprintk
// for more than three arguments), count packets in a hash keyed by a
// packet byte and keep the helpers' return values in an array.
// Build: see gen.go (trace.o).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NB 64

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} trace_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __s64);
} trace_last SEC(".maps");

#define U8(o) ((__u64)b[o])
#define U16(o) ((__u64)(b[o] | b[(o) + 1] << 8))
#define U32(o) ((__u64)((__u32)b[o] | (__u32)b[(o) + 1] << 8 | (__u32)b[(o) + 2] << 16 | (__u32)b[(o) + 3] << 24))
#define U64(o) (U32(o) | U32((o) + 4) << 32)

static __always_inline void note(__u32 slot, __s64 v)
{
	bpf_map_update_elem(&trace_last, &slot, &v, BPF_ANY);
}

// trace formats b (NB bytes copied from the packet) with the format that
// b[0] selects and returns what the helper returned.
static __always_inline long trace(__u8 *b)
{
	char s1[16], s2[16];
	long r = 0;
	__builtin_memcpy(s1, b + 32, 16);
	__builtin_memcpy(s2, b + 48, 16);
	s1[b[2] & 15] = 0;
	s2[15] = 0;

	__u32 key = b[1];
	__u64 one = 1, *c = bpf_map_lookup_elem(&trace_counts, &key);
	if (c)
		__sync_fetch_and_add(c, 1);
	else
		bpf_map_update_elem(&trace_counts, &key, &one, BPF_NOEXIST);

	switch (b[0] % 20) {
	case 0: r = bpf_printk("%d %i %u", U32(4), U32(8), U32(12)); break;
	case 1: r = bpf_printk("%x %ld %lu", U32(4), U64(8), U64(16)); break;
	case 2: r = bpf_printk("%lx %lld %llu", U64(4), U64(12), U64(20)); break;
	case 3: r = bpf_printk("%llx %c%c", U64(4), b[12] % 95 + 32, b[13] % 95 + 32); break;
	case 4: r = bpf_printk("[%5d][%-5u][%05x]", (int)U16(4) - 30000, U8(8), U16(10)); break;
	case 5: r = bpf_printk("[%+d][% d][%-+6ld]", (int)U32(4), (int)U8(8) - 128, (long)U8(9) - 100); break;
	case 6: r = bpf_printk("%s|%10s|%-8s", s1, s2, s1); break;
	case 7: r = bpf_printk("%016llx %08lx %-3c|", U64(4), U32(12), b[16] % 95 + 32); break;
	case 8: r = bpf_printk("100%% of %u: %s", U8(4), s1); break;
	case 9: r = bpf_printk("with a newline %d\n", U16(4)); break;
	case 10: r = bpf_printk("%pI4 and %pi4", b + 4, b + 8); break;
	case 11: r = bpf_printk("%X %lX %llX", U32(4), U64(8), U64(16)); break;
	case 12: r = bpf_printk("%-10d|%010u|%10lx", (int)U32(4), U32(8), U64(12)); break;
	case 13: r = bpf_printk("no arguments at all"); break;
	case 14: r = bpf_printk("%s", s2); break;
	case 15: r = bpf_printk("%d %u %x %ld %lu %lx %lld %llu %llx %c %s %5d",
			(int)U32(4), U32(8), U32(12), U64(16), U64(24), U64(4), U64(12), U64(20), U64(28),
			b[3] % 95 + 32, s1, (int)U8(3) - 100); break;
	case 16: r = bpf_printk("%u-%u-%u-%u-%u-%u", U8(4), U8(5), U8(6), U8(7), U8(8), U8(9)); break;
	case 17: r = bpf_printk("%s %s %s %s", s1, s2, s1, s2); break;
	case 18: r = bpf_printk("%i|% 5i|%+05d|%-+5d|", (int)U32(4), (int)U16(8) - 0x8000, (int)U8(10) - 128, (int)U8(11) - 128); break;
	default: r = bpf_printk("%pi6", b + 4); break;
	}
	note(b[0] % 32, r);
	return r;
}

SEC("xdp") int trace_xdp(struct xdp_md *ctx)
{
	__u8 *p = (__u8 *)(long)ctx->data;
	__u8 b[NB];
	if ((void *)(p + NB) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	__builtin_memcpy(b, p, NB);
	long r = trace(b);
	return r < 0 ? XDP_ABORTED : (r & 1 ? XDP_PASS : XDP_DROP);
}

SEC("socket") int trace_skb(struct __sk_buff *skb)
{
	__u8 b[NB];
	if (bpf_skb_load_bytes(skb, 0, b, NB) < 0)
		return 0;
	long r = trace(b);
	return r < 0 ? 0 : r;
}

char LICENSE[] SEC("license") = "GPL";
