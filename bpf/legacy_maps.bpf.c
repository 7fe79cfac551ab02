// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * legacy_maps.bpf.c - a pre-BTF map definition in SEC("maps").
 *
 * Before BTF-defined maps (.maps), maps were described by a fixed struct
 * (struct bpf_map_def) placed in a section named "maps". libbpf 1.0 dropped
 * support: it refuses this object ("legacy map definitions in 'maps' section
 * are not supported by libbpf v1.0+"). The struct is defined here because the
 * 1.x headers no longer provide it.
 *
 * Program: legacy_xdp SEC("xdp"): legacy_counts[0] += 1, returns XDP_PASS.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* The historical layout: five u32 fields, 20 bytes per definition. */
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") legacy_counts = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 4,
};

SEC("xdp")
int legacy_xdp(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&legacy_counts, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	return XDP_PASS;
}
