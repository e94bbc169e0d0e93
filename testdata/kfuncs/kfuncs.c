// Programs calling kfuncs (open-coded numeric iterators, RCU read-side
// sections, skb/xdp dynptrs) for gobee's differential tests: each runs
// under gobee and under the kernel (BPF_PROG_TEST_RUN) on the same packets.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

// libbpf 1.1's bpf_helpers.h predates the iterator kfuncs and bpf_for.
struct bpf_iter_num {
	__u64 opaque[1];
} __attribute__((aligned(8)));

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern int bpf_dynptr_from_skb(struct __sk_buff *skb, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern int bpf_dynptr_from_xdp(struct xdp_md *xdp, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt, __u32 buffer__szk) __ksym;
extern void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt, __u32 buffer__szk) __ksym;

// gobee's own spelling of libbpf's loop macros: iterate var over
// [start, end) or repeat n times, destroying the iterator on the way out.
#define bpf_for(var, start, end)                                                   \
	for (struct bpf_iter_num ___it __attribute__((cleanup(bpf_iter_num_destroy))), \
	     *___pit = (bpf_iter_num_new(&___it, (start), (end)), &___it);            \
	     ({                                                                         \
		     int *___v = bpf_iter_num_next(___pit);                              \
		     ___v ? ((var) = *___v, 1) : 0;                                     \
	     });)

#define bpf_repeat(n)                                                              \
	for (struct bpf_iter_num ___it __attribute__((cleanup(bpf_iter_num_destroy))), \
	     *___pit = (bpf_iter_num_new(&___it, 0, (n)), &___it);                    \
	     bpf_iter_num_next(___pit);)

// xdp_iter_sum: sums the packet's bytes with bpf_for up to a bound taken
// from the packet, and writes the sum and the count over its first bytes.
SEC("xdp")
int xdp_iter_sum(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 len = end - data, sum = 0, cnt = 0;
	int i;

	if (data + 8 > end)
		return XDP_DROP;
	bpf_for(i, 0, len) {
		__u8 *p;
		if (i < 0 || i >= 4096)
			break;
		p = data + i;
		if ((void *)(p + 1) > end)
			break;
		sum += *p * (i + 1);
		cnt++;
	}
	((__u32 *)data)[0] = sum;
	((__u32 *)data)[1] = cnt;
	return sum & 1 ? XDP_PASS : XDP_TX;
}

// xdp_repeat: bpf_repeat with a packet-dependent count, and the errors of
// bpf_iter_num_new (start > end, too many iterations).
SEC("xdp")
int xdp_repeat(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct bpf_iter_num it;
	int *v, n, cnt = 0, a, b, last = -1;
	__u8 *p = data;

	if (data + 16 > end)
		return XDP_PASS;
	n = p[0] & 31;
	bpf_repeat(n)
		cnt++;
	a = bpf_iter_num_new(&it, n, n - (p[1] & 3));
	v = bpf_iter_num_next(&it);
	if (v)
		last = *v;
	bpf_iter_num_destroy(&it);
	b = bpf_iter_num_new(&it, -(p[2] << 20), p[3] << 20);
	bpf_iter_num_destroy(&it);
	bpf_iter_num_new(&it, p[4] - 128, p[5] - 128);
	while ((v = bpf_iter_num_next(&it)))
		last = *v;
	bpf_iter_num_destroy(&it);
	((int *)data)[0] = cnt;
	((int *)data)[1] = a;
	((int *)data)[2] = b;
	((int *)data)[3] = last;
	return XDP_PASS;
}

// tc_iter_rcu: An RCU read-side sections around a bpf_for loop over
// the packet, with bpf_skb_load_bytes.
SEC("tc")
int tc_iter_rcu(struct __sk_buff *skb)
{
	__u32 sum = 0, n = skb->len;
	int i;

	bpf_rcu_read_lock();
	bpf_for(i, 0, n / 4) {
		__u32 w;
		if (bpf_skb_load_bytes(skb, i * 4, &w, 4))
			break;
		sum ^= w + i;
	}
	bpf_rcu_read_unlock();
	skb->mark = sum;
	if (n >= 18)
		bpf_skb_store_bytes(skb, 14, &sum, 4, 0);
	return sum & 1 ? TC_ACT_OK : TC_ACT_SHOT;
}

// tc_dynptr: reads the Ethernet header and a packet-dependent slice
// through an skb dynptr, and stores what it read.
SEC("tc")
int tc_dynptr(struct __sk_buff *skb)
{
	struct bpf_dynptr ptr, bad;
	__u8 eth[14], buf[8], *h, *q;
	__u32 off, sum = 0;
	int i, err;

	err = bpf_dynptr_from_skb(skb, 1, &bad);
	if (bpf_dynptr_from_skb(skb, 0, &ptr))
		return 100;
	h = bpf_dynptr_slice(&ptr, 0, eth, sizeof(eth));
	if (!h)
		return 101;
	off = h[13] & 63;
	q = bpf_dynptr_slice(&ptr, off, buf, sizeof(buf));
	if (!q)
		return 102 + (err == -22);
	bpf_for(i, 0, 8) {
		if (i < 0 || i >= 8)
			break;
		sum += q[i];
	}
	bpf_skb_store_bytes(skb, 6, &sum, 4, 0);
	return sum & 3;
}

// xdp_dynptr: the same over an XDP dynptr.
SEC("xdp")
int xdp_dynptr(struct xdp_md *ctx)
{
	struct bpf_dynptr ptr, bad;
	__u8 buf[16], *h, *q;
	__u32 off, sum = 0;
	int i, err;

	err = bpf_dynptr_from_xdp(ctx, 2, &bad);
	if (bpf_dynptr_from_xdp(ctx, 0, &ptr))
		return XDP_ABORTED;
	h = bpf_dynptr_slice(&ptr, 0, buf, 4);
	if (!h)
		return XDP_DROP;
	off = h[0] * 4;
	q = bpf_dynptr_slice(&ptr, off, buf, sizeof(buf));
	if (!q)
		return err == -22 ? XDP_PASS : XDP_ABORTED;
	bpf_for(i, 0, 16) {
		if (i < 0 || i >= 16)
			break;
		sum = sum * 31 + q[i];
	}
	return sum & 1 ? XDP_TX : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
