// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * pinned.bpf.c - a map with `pinning = LIBBPF_PIN_BY_NAME`.
 *
 * libbpf pins `pinned_counts` at <pin_root>/pinned_counts (default pin root
 * /sys/fs/bpf, which must be a bpffs mount), and on a later load of the same
 * object reuses the pinned map if its definition is compatible. `scratch` is
 * an ordinary, unpinned map for contrast.
 *
 * Program: pinned_xdp SEC("xdp"), runnable with BPF_PROG_TEST_RUN:
 *   pinned_counts[0] += 1, scratch[0] += 1, returns XDP_PASS (2).
 * After two loads (the second reusing the pin) and one run each, the pinned
 * counter reads 2 while each scratch reads 1.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* LIBBPF_PIN_BY_NAME from libbpf's bpf_helpers.h (enum libbpf_pin_type) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} scratch SEC(".maps");

SEC("xdp")
int pinned_xdp(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(&pinned_counts, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&pinned_counts, &key, &one, BPF_NOEXIST);

	v = bpf_map_lookup_elem(&scratch, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	return XDP_PASS;
}
