/* core.c - CO-RE relocations of every kind against gobee's context types.
 *
 * Each program computes CO-RE values (field offset / size / exists /
 * signedness / lshift / rshift, type exists / size / id, enum value exists /
 * value) against struct xdp_md, __sk_buff, bpf_sock, bpf_flow_keys,
 * bpf_sockopt, enum xdp_action, sk_action and bpf_ret_code, and writes them
 * into the packet, so that gobee and the kernel can be compared on
 * data_out. Local flavours (___new) declare fields, types and enum values
 * the target does not have; code using them is guarded by the matching
 * existence check, so the objects still load.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct xdp_md___new {
	__u32 data;
	__u32 data_end;
	__u32 ingress_ifindex;
	__u32 future_field;
} __attribute__((preserve_access_index));

/* Same essential name, wrong kind: bpf_core_type_exists is 0. */
union xdp_md___union {
	__u32 data;
} __attribute__((preserve_access_index));

struct __sk_buff___new {
	__u32 len;
	__u32 protocol;
	__u32 mark;
	__u64 future_field;
} __attribute__((preserve_access_index));

enum xdp_action___new {
	XDP_PASS___new = 2,
	XDP_FUTURE___new = 77,
};

#define NOUT 24

#define SIGNED(s, f) __builtin_preserve_field_info(((s *)0)->f, BPF_FIELD_SIGNED)
#define LSHIFT(s, f) __builtin_preserve_field_info(((s *)0)->f, BPF_FIELD_LSHIFT_U64)
#define RSHIFT(s, f) __builtin_preserve_field_info(((s *)0)->f, BPF_FIELD_RSHIFT_U64)

SEC("xdp")
int core_xdp(struct xdp_md *ctx)
{
	__u32 v[NOUT] = {};
	struct xdp_md___new *n = (void *)ctx;

	v[0] = bpf_core_field_offset(struct xdp_md, ingress_ifindex);
	v[1] = bpf_core_field_size(struct xdp_md, rx_queue_index);
	v[2] = bpf_core_field_exists(struct xdp_md, egress_ifindex);
	v[3] = bpf_core_field_exists(struct xdp_md___new, future_field);
	v[4] = SIGNED(struct xdp_md, data);
	v[5] = SIGNED(struct bpf_sock, rx_queue_mapping);
	v[6] = LSHIFT(struct xdp_md, ingress_ifindex);
	v[7] = RSHIFT(struct xdp_md, ingress_ifindex);
	v[8] = bpf_core_type_exists(struct xdp_md);
	v[9] = bpf_core_type_exists(union xdp_md___union);
	v[10] = bpf_core_type_size(struct xdp_md);
	v[11] = bpf_core_type_id_kernel(struct xdp_md) != 0;
	v[12] = bpf_core_type_id_local(struct xdp_md) != 0;
	v[13] = bpf_core_enum_value_exists(enum xdp_action, XDP_REDIRECT);
	v[14] = bpf_core_enum_value(enum xdp_action, XDP_TX);
	v[15] = bpf_core_enum_value_exists(enum xdp_action___new, XDP_FUTURE___new);
	v[16] = bpf_core_enum_value(enum xdp_action___new, XDP_PASS___new);
	v[17] = bpf_core_enum_value(enum sk_action, SK_PASS);
	v[18] = bpf_core_type_size(struct bpf_flow_keys);
	v[19] = bpf_core_field_offset(struct bpf_flow_keys, ipv6_dst);
	v[20] = n->ingress_ifindex; /* a relocated ctx load */
	if (bpf_core_field_exists(n->future_field))
		v[21] = n->future_field; /* poisoned, but dead code */
	else
		v[21] = 0xdead;
	/* The kernel refuses loads through a modified ctx pointer, so the
	 * bitfield read (byte offset + size + lshift + rshift) goes through a
	 * copy on the stack. */
	struct xdp_md copy = {};
	copy.rx_queue_index = ctx->data_end - ctx->data;
	v[22] = BPF_CORE_READ_BITFIELD(&copy, rx_queue_index);
	v[23] = ctx->data_end - ctx->data;

	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + sizeof(v) > end)
		return bpf_core_enum_value(enum xdp_action, XDP_DROP);
	__builtin_memcpy(data, v, sizeof(v));
	if (bpf_core_enum_value_exists(enum xdp_action___new, XDP_FUTURE___new))
		return bpf_core_enum_value(enum xdp_action___new, XDP_FUTURE___new);
	return bpf_core_enum_value(enum xdp_action___new, XDP_PASS___new);
}

SEC("tc")
int core_tc(struct __sk_buff *skb)
{
	__u32 v[NOUT] = {};
	struct __sk_buff___new *n = (void *)skb;

	v[0] = bpf_core_field_offset(struct __sk_buff, cb[2]);
	v[1] = bpf_core_field_size(struct __sk_buff, tstamp);
	v[2] = bpf_core_field_offset(struct __sk_buff, flow_keys);
	v[3] = bpf_core_field_offset(struct __sk_buff, sk);
	v[4] = bpf_core_field_size(struct __sk_buff, sk);
	v[5] = bpf_core_field_exists(struct __sk_buff___new, future_field);
	v[6] = bpf_core_field_size(struct __sk_buff, tstamp_type);
	v[7] = bpf_core_field_offset(struct __sk_buff, hwtstamp);
	v[8] = SIGNED(struct bpf_sockopt, level);
	v[9] = SIGNED(struct __sk_buff, len);
	v[10] = LSHIFT(struct __sk_buff, tstamp_type);
	v[11] = RSHIFT(struct __sk_buff, tstamp_type);
	v[12] = bpf_core_type_size(struct bpf_sock);
	v[13] = bpf_core_type_size(struct __sk_buff);
	v[14] = bpf_core_type_exists(struct bpf_sock_addr);
	v[15] = bpf_core_enum_value(enum bpf_ret_code, BPF_REDIRECT);
	v[16] = bpf_core_enum_value_exists(enum bpf_ret_code, BPF_LWT_REROUTE);
	v[17] = bpf_core_field_offset(struct bpf_sock, dst_port);
	v[18] = bpf_core_field_size(struct bpf_sock, dst_port);
	v[19] = n->len;
	v[20] = n->protocol;
	if (bpf_core_field_exists(n->future_field))
		v[21] = n->future_field;
	else
		v[21] = 0xbeef;
	v[22] = bpf_core_type_id_kernel(struct __sk_buff) != 0;
	v[23] = bpf_core_field_offset(struct bpf_sk_lookup, remote_port);

	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	if (data + sizeof(v) > end)
		return 2;
	__builtin_memcpy(data, v, sizeof(v));
	return v[13] + v[12];
}

char _license[] SEC("license") = "GPL";
