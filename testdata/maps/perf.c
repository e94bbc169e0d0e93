// Program for the maps package's perf event array differential test. The
// XDP program reads 8 operation bytes from the start of a 256-byte packet
// and calls bpf_perf_event_output (bpf_xdp_event_output) with an index,
// flags and a size the bytes choose; each result goes to the packet from
// byte 128 on. Build: see maps/gen_ringbuf.go.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PKT 256
#define NOPS 8

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, 4);
	__uint(value_size, 4);
} events SEC(".maps");

#define OUT(p, off, v) ({ __u64 v_ = (v); __builtin_memcpy((p) + 128 + (off), &v_, 8); })

static __attribute__((noinline)) int perf_body(struct xdp_md *ctx, __u8 *p);

SEC("xdp") int perf_prog(struct xdp_md *ctx)
{
	__u8 *p = (__u8 *)(long)ctx->data;
	if ((void *)(p + PKT) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	return perf_body(ctx, p);
}

static __attribute__((noinline)) int perf_body(struct xdp_md *ctx, __u8 *p)
{
	int ok = 0;
	__u8 buf[64];
	__builtin_memcpy(buf, p + 32, 64);
#pragma unroll
	for (int i = 0; i < NOPS; i++) {
		__u8 op = p[i];
		__u32 n = p[16 + i] & 63;
		__u64 flags;
		switch (op & 7) {
		case 0:
		case 1:
		case 2:
			flags = BPF_F_CURRENT_CPU;
			break;
		case 3:
			flags = op >> 3; // index 0..31
			break;
		case 4:
			flags = BPF_F_CURRENT_CPU | ((__u64)(op >> 3) << 32); // packet bytes
			break;
		case 5:
			flags = BPF_F_CURRENT_CPU | ((__u64)(200 + op) << 32); // more than the packet
			break;
		case 6:
			flags = (__u64)1 << (52 + (op >> 5)); // bad flags
			break;
		default:
			flags = 0;
			break;
		}
		long res = bpf_perf_event_output(ctx, &events, flags, buf, n);
		ok += res == 0;
		OUT(p, i * 8, res);
	}
	return ok;
}

char LICENSE[] SEC("license") = "GPL";
