/* core_bad.c - an unguarded CO-RE access to a field that gobee's context
 * BTF (and the kernel's) does not have: the relocation is poisoned and the
 * poisoned instruction is reachable, so both refuse the program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct xdp_md___bad {
	__u32 data;
	__u32 no_such_field;
} __attribute__((preserve_access_index));

SEC("xdp")
int core_bad(struct xdp_md *ctx)
{
	struct xdp_md___bad *b = (void *)ctx;
	return b->no_such_field == 7 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
