// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tcp_cc.bpf.c - a minimal TCP congestion control written as struct_ops:
 * two `struct tcp_congestion_ops` maps, one in `.struct_ops` (registered
 * when the map is updated) and one in `.struct_ops.link` (registered by a
 * BPF link), each pointing at programs in `struct_ops/` sections.
 *
 *   tsbpf_cc       .struct_ops       ssthresh, undo_cwnd, cong_avoid,
 *                                    name "tsbpf_cc"
 *   tsbpf_cc_link  .struct_ops.link  the same programs, name "tsbpf_cc_link"
 *
 * Programs: cc_ssthresh (struct_ops/cc_ssthresh) halves snd_cwnd (min 2),
 *   cc_undo_cwnd (struct_ops/cc_undo_cwnd) keeps snd_cwnd,
 *   cc_cong_avoid (struct_ops/cc_cong_avoid) adds one segment per call.
 * Until tsbpf implements struct_ops, opening this object is refused with a
 * NotSupportedError naming the section.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/cc_ssthresh")
__u32 BPF_PROG(cc_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u32 half = tp->snd_cwnd >> 1;

	return half < 2 ? 2 : half;
}

SEC("struct_ops/cc_undo_cwnd")
__u32 BPF_PROG(cc_undo_cwnd, struct sock *sk)
{
	return ((const struct tcp_sock *)sk)->snd_cwnd;
}

SEC("struct_ops/cc_cong_avoid")
void BPF_PROG(cc_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC(".struct_ops")
struct tcp_congestion_ops tsbpf_cc = {
	.ssthresh = (void *)cc_ssthresh,
	.undo_cwnd = (void *)cc_undo_cwnd,
	.cong_avoid = (void *)cc_cong_avoid,
	.name = "tsbpf_cc",
};

SEC(".struct_ops.link")
struct tcp_congestion_ops tsbpf_cc_link = {
	.ssthresh = (void *)cc_ssthresh,
	.undo_cwnd = (void *)cc_undo_cwnd,
	.cong_avoid = (void *)cc_cong_avoid,
	.name = "tsbpf_cc_link",
};
