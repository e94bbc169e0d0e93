// Programs for the maps package's bpf_spin_lock / BPF_F_LOCK / bpf_timer
// differential test (maps/lock_kernel_test.go). Build: see maps/gen_lock.go.
//
// lock_incr updates, under the value's spin lock, every element of
// lock_hash (keys 0..7) and lock_array: a += 1, b += 2, c = a + b, so a
// value read under the lock always has b == 2a and c == 3a (mod 2^32 for
// b). timer_arm arms the timer of the element ctl names (which 0:
// timer_hash, 1: timer_array) to fire after ctl.ns; the callbacks count
// firings per key in fired (hash: key, array: 8 + key).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define CLOCK_MONOTONIC 1

struct val {
	__u64 a;
	struct bpf_spin_lock lock;
	__u32 b;
	__u64 c;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct val);
	__uint(max_entries, 4);
} lock_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct val);
	__uint(max_entries, 4);
} lock_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} plain_hash SEC(".maps");

static __always_inline void bump(struct val *v)
{
	bpf_spin_lock(&v->lock);
	v->a += 1;
	v->b += 2;
	v->c = v->a + v->b;
	bpf_spin_unlock(&v->lock);
}

SEC("xdp") int lock_incr(struct xdp_md *ctx)
{
	int n = 0;
	for (__u32 k = 0; k < 8; k++) {
		__u32 key = k;
		struct val *v = bpf_map_lookup_elem(&lock_hash, &key);
		if (v) {
			bump(v);
			n++;
		}
		v = bpf_map_lookup_elem(&lock_array, &key);
		if (v) {
			bump(v);
			n++;
		}
	}
	return n;
}

struct tval {
	struct bpf_timer t;
	struct bpf_spin_lock l;
	__u32 pad;
	__u64 x;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct tval);
	__uint(max_entries, 8);
} timer_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tval);
	__uint(max_entries, 4);
} timer_array SEC(".maps");

struct ctl {
	__u32 which;
	__u32 key;
	__u64 ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct ctl);
	__uint(max_entries, 1);
} ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
} fired SEC(".maps");

static int count(__u32 slot)
{
	__u64 *f = bpf_map_lookup_elem(&fired, &slot);
	if (f)
		__sync_fetch_and_add(f, 1);
	return 0;
}

static int hash_cb(void *map, __u32 *key, struct tval *v)
{
	return count(*key & 7);
}

static int array_cb(void *map, __u32 *key, struct tval *v)
{
	return count(8 + (*key & 7));
}

SEC("xdp") int timer_arm(struct xdp_md *ctx)
{
	__u32 z = 0;
	struct ctl *c = bpf_map_lookup_elem(&ctl, &z);
	if (!c)
		return 1;
	__u32 key = c->key;
	__u64 ns = c->ns;
	struct tval *v;
	long r;
	if (c->which == 0) {
		v = bpf_map_lookup_elem(&timer_hash, &key);
		if (!v)
			return 10;
		r = bpf_timer_init(&v->t, &timer_hash, CLOCK_MONOTONIC);
		if (r)
			return 20 - r;
		bpf_timer_set_callback(&v->t, hash_cb);
		r = bpf_timer_start(&v->t, ns, 0);
	} else {
		v = bpf_map_lookup_elem(&timer_array, &key);
		if (!v)
			return 10;
		r = bpf_timer_init(&v->t, &timer_array, CLOCK_MONOTONIC);
		if (r)
			return 20 - r;
		bpf_timer_set_callback(&v->t, array_cb);
		r = bpf_timer_start(&v->t, ns, 0);
	}
	return r ? 100 - r : 2;
}

char _license[] SEC("license") = "GPL";
