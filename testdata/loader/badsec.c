/* badsec.c - a program in a section libbpf does not know. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("weird_section")
int weird(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "GPL";
