// SPDX-License-Identifier: GPL-2.0
// socket_filter: keeps only TCP segments to port 80 (IPv4 or IPv6, no
// VLAN), cut to their first 128 bytes; every other packet is dropped
// (return 0). kept/dropped are counted in the array stats.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// The legacy packet loads of classic socket filters (BPF_LD_ABS), built
// in by LLVM.
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

#define PORT 80
#define SNAP 128

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32); // 0: dropped, 1: kept
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline int verdict(int keep)
{
	__u32 k = keep;
	__u64 *v = bpf_map_lookup_elem(&stats, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	return keep ? SNAP : 0;
}

SEC("socket")
int socket_filter(struct __sk_buff *skb)
{
	__u32 l4off;
	__u8 proto;

	// Legacy packet loads (ld_abs), as classic socket filters do. A
	// socket filter sees the packet from its network header (skb->data
	// after eth_type_trans), so offset 0 is the IP header. A load beyond
	// the packet ends the program with 0: truncated packets are dropped.
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		__u8 vihl = load_byte(skb, 0);
		proto = load_byte(skb, 9);
		l4off = (vihl & 0xf) * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		proto = load_byte(skb, 6);
		l4off = 40;
	} else {
		return verdict(0);
	}
	if (proto != IPPROTO_TCP)
		return verdict(0);
	if (load_half(skb, l4off + 2) != PORT)
		return verdict(0);
	return verdict(1);
}

char LICENSE[] SEC("license") = "GPL";
