// Program for the maps package's ring buffer differential test. The XDP
// program reads 16 operation bytes from the start of a 256-byte packet and
// runs them against a 4 KiB ring buffer: reserve records of one of four
// sizes and submit or discard them, output records of packet-dependent
// sizes, query the ring, and reservations that must fail. Each operation's
// result goes to the packet from byte 128 on. Build: see maps/gen.go.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PKT 256
#define NOPS 12

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

#define OUT(p, off, v) ({ __u64 v_ = (v); __builtin_memcpy((p) + 128 + (off), &v_, 8); })

#define RESERVE(n)                                                          \
	({                                                                  \
		long r_ = 0;                                                \
		__u8 *s_ = bpf_ringbuf_reserve(&rb, n, 0);                  \
		if (s_) {                                                   \
			__builtin_memcpy(s_, p + 16, n);                    \
			s_[0] = i;                                          \
			if (op & 0x20)                                      \
				bpf_ringbuf_discard(s_, op >> 6);           \
			else                                                \
				bpf_ringbuf_submit(s_, op >> 6);            \
			r_ = 1;                                             \
		}                                                           \
		r_;                                                         \
	})

static __attribute__((noinline)) int ringbuf_body(__u8 *p);

SEC("xdp") int ringbuf_prog(struct xdp_md *ctx)
{
	__u8 *p = (__u8 *)(long)ctx->data;
	if ((void *)(p + PKT) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	return ringbuf_body(p);
}

static __attribute__((noinline)) int ringbuf_body(__u8 *p)
{
	int ok = 0;
	// Helpers other than a few may not read the packet itself.
	__u8 buf[64];
	__builtin_memcpy(buf, p + 48, 64);
#pragma unroll
	for (int i = 0; i < NOPS; i++) {
		__u8 op = p[i];
		long res = 0;
		switch (op & 7) {
		case 0:
		case 1:
			switch ((op >> 3) & 3) {
			case 0:
				res = RESERVE(1);
				break;
			case 1:
				res = RESERVE(13);
				break;
			case 2:
				res = RESERVE(40);
				break;
			default:
				res = RESERVE(100);
				break;
			}
			break;
		case 2:
		case 3: {
			__u32 n = p[32 + i] & 63;
			res = bpf_ringbuf_output(&rb, buf, n, (op >> 3) & 7);
			break;
		}
		case 4:
			res = bpf_ringbuf_query(&rb, (op >> 3) & 7);
			break;
		case 5: {
			__u8 *s = bpf_ringbuf_reserve(&rb, 8192, 0);
			if (s) {
				bpf_ringbuf_submit(s, 0);
				res = 1;
			}
			break;
		}
		case 6: {
			__u8 *s = bpf_ringbuf_reserve(&rb, 8, op >> 3);
			if (s) {
				__builtin_memcpy(s, p + 40, 8);
				bpf_ringbuf_submit(s, 0);
				res = 1;
			}
			break;
		}
		default:
			res = bpf_ringbuf_output(&rb, buf, 0, 0);
			break;
		}
		ok += res == 1;
		OUT(p, i * 8, res);
	}
	return ok;
}

char LICENSE[] SEC("license") = "GPL";
