// SPDX-License-Identifier: GPL-2.0
// xdp_firewall: drops IPv4 packets whose source address falls in a denied
// prefix (LPM trie deny_src) and TCP/UDP packets to a denied destination
// port (hash deny_port), counts every verdict in the array verdicts and
// logs each drop with bpf_printk.
//
// The deny lists are filled by the program itself on its first packet
// from the rules below, so the example runs without a loader step.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 64);
	__type(key, struct lpm_v4);
	__type(value, __u32); // rule id
} deny_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16); // destination port, host order
	__type(value, __u32); // rule id
} deny_port SEC(".maps");

// verdicts[XDP_ABORTED..XDP_REDIRECT] counts the program's return values.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u64);
} verdicts SEC(".maps");

// Rules the program installs on its first run.
const volatile __u8 deny_nets[2][5] = {
	{10, 66, 0, 0, 16},    // 10.66.0.0/16
	{192, 0, 2, 128, 25},  // 192.0.2.128/25
};
const volatile __u16 deny_ports[2] = {23, 6666};

__u32 initialized;

static __always_inline void install_rules(void)
{
	if (initialized)
		return;
	initialized = 1;
	for (__u32 i = 0; i < 2; i++) {
		struct lpm_v4 k = {.prefixlen = deny_nets[i][4]};
		__u32 id = i + 1;
		k.addr[0] = deny_nets[i][0];
		k.addr[1] = deny_nets[i][1];
		k.addr[2] = deny_nets[i][2];
		k.addr[3] = deny_nets[i][3];
		bpf_map_update_elem(&deny_src, &k, &id, BPF_ANY);
	}
	for (__u32 i = 0; i < 2; i++) {
		__u16 port = deny_ports[i];
		__u32 id = 100 + i;
		bpf_map_update_elem(&deny_port, &port, &id, BPF_ANY);
	}
}

static __always_inline int count(int verdict)
{
	__u32 k = verdict;
	__u64 *v = bpf_map_lookup_elem(&verdicts, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	return verdict;
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u16 proto;
	__u8 l4;
	void *l4hdr;

	install_rules();
	if ((void *)(eth + 1) > data_end)
		return count(XDP_ABORTED);
	proto = eth->h_proto;
	data = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		__u16 *vlan = data;
		if ((void *)(vlan + 2) > data_end)
			return count(XDP_DROP);
		proto = vlan[1];
		data = vlan + 2;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data;
		struct lpm_v4 k = {.prefixlen = 32};
		__u32 *rule;

		if ((void *)(ip + 1) > data_end)
			return count(XDP_DROP);
		__builtin_memcpy(k.addr, &ip->saddr, 4);
		rule = bpf_map_lookup_elem(&deny_src, &k);
		if (rule) {
			bpf_printk("xdp_firewall: drop src %pI4 (rule %u)", &ip->saddr, *rule);
			return count(XDP_DROP);
		}
		if (ip->ihl < 5)
			return count(XDP_DROP);
		l4 = ip->protocol;
		l4hdr = (void *)ip + ip->ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data;
		if ((void *)(ip6 + 1) > data_end)
			return count(XDP_DROP);
		l4 = ip6->nexthdr;
		l4hdr = ip6 + 1;
	} else {
		return count(XDP_PASS);
	}
	if (l4 == IPPROTO_TCP || l4 == IPPROTO_UDP) {
		__u16 *ports = l4hdr;
		__u16 dport;
		__u32 *rule;

		if ((void *)(ports + 2) > data_end)
			return count(XDP_PASS);
		dport = bpf_ntohs(ports[1]);
		rule = bpf_map_lookup_elem(&deny_port, &dport);
		if (rule) {
			bpf_printk("xdp_firewall: drop %s port %u (rule %u)",
				   l4 == IPPROTO_TCP ? "tcp" : "udp", dport, *rule);
			return count(XDP_DROP);
		}
	}
	return count(XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
