// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * xdp_proto.bpf.c - count the packets arriving on an interface per IP
 * protocol (IPv4's protocol, IPv6's next header: 1 ICMP, 6 TCP, 17 UDP,
 * 58 ICMPv6, ...), and the frames that are not IP. Every packet passes.
 *
 *   counts[proto]   per-CPU u64, 256 slots
 *   non_ip          .bss u64 (frames that are not IPv4/IPv6, e.g. ARP)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP   0x0800
#define ETH_P_IPV6 0x86DD

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

__u64 non_ip = 0;

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 proto;
	__u64 *c;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return XDP_PASS;
		proto = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return XDP_PASS;
		proto = ip6->nexthdr;
	} else {
		__sync_fetch_and_add(&non_ip, 1);
		return XDP_PASS;
	}
	c = bpf_map_lookup_elem(&counts, &proto);
	if (c)
		*c += 1;
	return XDP_PASS;
}
