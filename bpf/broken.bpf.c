// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * broken.bpf.c - compiles, but the verifier rejects `broken_null_deref`.
 *
 * bpf_map_lookup_elem() returns NULL for a missing key; dereferencing the
 * result without checking is refused with a log ending in something like
 *   ; *val += 1;  (TSBPF_BROKEN_LINE comment) @ broken.bpf.c:LINE
 *   R0 invalid mem access 'map_value_or_null'
 * (the "; source @ file:line" lines come from the BTF line info). Tests look
 * for the marker TSBPF_BROKEN_LINE and for "map_value_or_null".
 *
 * `good_prog` in the same object is fine: with broken_null_deref's autoload
 * turned off, the object loads.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("xdp")
int broken_null_deref(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *val = bpf_map_lookup_elem(&counts, &key);

	*val += 1;  /* TSBPF_BROKEN_LINE: deliberate NULL dereference */
	return XDP_PASS;
}

SEC("xdp")
int good_prog(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *val = bpf_map_lookup_elem(&counts, &key);

	if (val)
		*val += 1;
	return XDP_PASS;
}
