/* core_vmlinux.c - CO-RE against types gobee's context BTF does not define
 * (struct sk_buff, struct task_struct, enum bpf_func_id flavours): these
 * resolve against the kernel's BTF, the running kernel's or a vmlinux file
 * the user names. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct sk_buff {
	unsigned int len;
	unsigned int data_len;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	int no_such_field___x;
} __attribute__((preserve_access_index));

enum bpf_func_id___x {
	BPF_FUNC_map_lookup_elem___x = 1,
	BPF_FUNC_gobee_future___x = 100000,
};

SEC("tc")
int core_vmlinux(struct __sk_buff *skb)
{
	__u32 v[10] = {};

	v[0] = bpf_core_field_offset(struct sk_buff, len);
	v[1] = bpf_core_field_offset(struct sk_buff, data_len);
	v[2] = bpf_core_type_size(struct sk_buff);
	v[3] = bpf_core_field_offset(struct task_struct, tgid);
	v[4] = bpf_core_field_exists(struct task_struct, no_such_field___x);
	v[5] = __builtin_preserve_field_info(((struct task_struct *)0)->pid, BPF_FIELD_SIGNED);
	v[6] = bpf_core_enum_value(enum bpf_func_id___x, BPF_FUNC_map_lookup_elem___x);
	v[7] = bpf_core_enum_value_exists(enum bpf_func_id___x, BPF_FUNC_gobee_future___x);
	v[8] = bpf_core_type_exists(struct task_struct);
	v[9] = bpf_core_type_size(struct xdp_md);

	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	if (data + sizeof(v) > end)
		return 1;
	__builtin_memcpy(data, v, sizeof(v));
	return 0;
}

char _license[] SEC("license") = "GPL";
