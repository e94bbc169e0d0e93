// SPDX-License-Identifier: GPL-2.0
// tc_bytecount: a TC (SCHED_CLS) program that counts packets and bytes per
// protocol (EtherType and, for IPv4/IPv6, the transport protocol) in the
// hash map proto_bytes, and passes every packet (TC_ACT_OK).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct proto_key {
	__u16 eth_proto; // host order
	__u8 ip_proto;   // 0 when not IP
	__u8 pad;
};

struct counters {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct proto_key);
	__type(value, struct counters);
} proto_bytes SEC(".maps");

SEC("tc")
int tc_bytecount(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct proto_key k = {.eth_proto = bpf_ntohs(skb->protocol)};
	struct counters *c, zero = {};

	if (k.eth_proto == ETH_P_IP) {
		struct iphdr *ip = data + sizeof(struct ethhdr);
		if ((void *)(ip + 1) <= data_end)
			k.ip_proto = ip->protocol;
	} else if (k.eth_proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
		if ((void *)(ip6 + 1) <= data_end)
			k.ip_proto = ip6->nexthdr;
	}
	c = bpf_map_lookup_elem(&proto_bytes, &k);
	if (!c) {
		bpf_map_update_elem(&proto_bytes, &k, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&proto_bytes, &k);
		if (!c)
			return TC_ACT_OK;
	}
	__sync_fetch_and_add(&c->packets, 1);
	__sync_fetch_and_add(&c->bytes, skb->len);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
