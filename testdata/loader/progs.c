/* progs.c - test object for package loader.
 *
 * Several programs in different sections sharing subprograms, BTF maps and
 * a legacy map, .rodata/.data/.bss and a named .data.custom, a .kconfig
 * extern, CO-RE field accesses to xdp_md and __sk_buff, and a bpf-to-bpf
 * call chain (xdp_count -> account -> mix, sock_len -> account -> mix).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* The legacy map definition libbpf used before BTF maps. */
struct legacy_map_def {
	unsigned int type, key_size, value_size, max_entries, map_flags;
};

struct legacy_map_def legacy_counts SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = 4,
	.value_size = 8,
	.max_entries = 4,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} proto_bytes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} stats SEC(".maps");

const volatile __u32 min_len = 20;        /* .rodata */
const volatile __u16 blocked_proto = 0x0806; /* .rodata: ARP */
__u64 packets;                             /* .bss */
__u64 seed = 0x1234;                       /* .data */
__u32 custom_hits SEC(".data.custom") = 7; /* named data section */

extern unsigned int LINUX_KERNEL_VERSION __kconfig;

/* Local flavours of the context types: CO-RE relocates the field offsets
 * against the target BTF (the ___gobee suffix is ignored when matching). */
struct xdp_md___gobee {
	__u32 data;
	__u32 data_end;
} __attribute__((preserve_access_index));

struct __sk_buff___gobee {
	__u32 len;
} __attribute__((preserve_access_index));

static __attribute__((noinline)) __u64 mix(__u64 a, __u64 b)
{
	return (a ^ (b * 0x9e3779b1)) + seed;
}

static __attribute__((noinline)) __u64 account(__u32 key, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&proto_bytes, &key);
	if (v)
		__sync_fetch_and_add(v, n);
	else
		bpf_map_update_elem(&proto_bytes, &key, &n, BPF_ANY);
	return mix(key, n);
}

static __attribute__((noinline)) int eth_proto(void *data, void *end)
{
	unsigned char *p = data;
	if (p + 14 > (unsigned char *)end)
		return -1;
	return (p[12] << 8) | p[13];
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	struct xdp_md___gobee *c = (void *)ctx;
	void *data = (void *)(long)c->data;
	void *end = (void *)(long)c->data_end;
	__u32 len = end - data;
	int proto = eth_proto(data, end);

	packets++;
	custom_hits += 2;
	if (proto < 0)
		return XDP_ABORTED;
	__u64 h = account(proto, len);
	__u32 k = 0;
	__u64 *st = bpf_map_lookup_elem(&stats, &k);
	if (st)
		*st ^= h;
	if (proto == blocked_proto || len < min_len)
		return XDP_DROP;
	return len & 1 ? XDP_TX : XDP_PASS;
}

SEC("socket")
int sock_len(struct __sk_buff *skb)
{
	struct __sk_buff___gobee *s = (void *)skb;
	__u32 len = s->len;
	__u32 k = 1;
	__u64 *st = bpf_map_lookup_elem(&stats, &k);
	if (st)
		*st += len;
	if (len < min_len)
		return 0;
	account(0xffff, len);
	return len > 100 ? 100 : len;
}

SEC("tc")
int tc_version(struct __sk_buff *skb)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&legacy_counts, &k);
	if (v)
		*v += 1;
	k = 2;
	__u64 ver = LINUX_KERNEL_VERSION;
	bpf_map_update_elem(&stats, &k, &ver, BPF_ANY);
	return 0;
}

SEC("kprobe/do_sys_openat2")
int kprobe_open(void *ctx)
{
	return mix(1, 2) & 1;
}

char LICENSE[] SEC("license") = "GPL";
