// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tcp_reno.h - a minimal Reno-like TCP congestion control written in BPF, as a
 * struct tcp_congestion_ops registered through struct_ops. Included by
 * tcp_reno.bpf.c (SEC(".struct_ops"): registered by a map update, every kernel
 * with BPF struct_ops, 5.6+) and tcp_reno_link.bpf.c (SEC(".struct_ops.link"):
 * registered by a BPF link, 6.4+), which set TSBPF_CC_SEC and TSBPF_CC_NAME.
 *
 * calls[] counts each operation the kernel invoked (CC_* below): a test
 * selects the algorithm with setsockopt(TCP_CONGESTION), moves data over a
 * loopback connection and reads the counts.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

enum { CC_INIT, CC_SSTHRESH, CC_CONG_AVOID, CC_UNDO_CWND, CC_SET_STATE, CC_CWND_EVENT, CC_RELEASE, CC_NR_OPS };

__u64 calls[CC_NR_OPS];

#define COUNT(op) __sync_fetch_and_add(&calls[op], 1)

static __always_inline struct tcp_sock *tcp_sk(const struct sock *sk)
{
	return (struct tcp_sock *)sk;
}

SEC("struct_ops/tsbpf_reno_init")
void BPF_PROG(tsbpf_reno_init, struct sock *sk)
{
	COUNT(CC_INIT);
}

SEC("struct_ops/tsbpf_reno_release")
void BPF_PROG(tsbpf_reno_release, struct sock *sk)
{
	COUNT(CC_RELEASE);
}

/* Multiplicative decrease: half the window, at least 2 segments. */
SEC("struct_ops/tsbpf_reno_ssthresh")
__u32 BPF_PROG(tsbpf_reno_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	__u32 half = tp->snd_cwnd >> 1;

	COUNT(CC_SSTHRESH);
	return half > 2 ? half : 2;
}

/* Slow start below ssthresh, then one segment more per window of ACKs. */
SEC("struct_ops/tsbpf_reno_cong_avoid")
void BPF_PROG(tsbpf_reno_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	struct tcp_sock *tp = tcp_sk(sk);
	__u32 cwnd = tp->snd_cwnd;

	COUNT(CC_CONG_AVOID);
	if (cwnd < tp->snd_ssthresh) {
		cwnd += acked;
		if (cwnd > tp->snd_ssthresh)
			cwnd = tp->snd_ssthresh;
	} else if (tp->snd_cwnd_cnt + acked >= cwnd) {
		tp->snd_cwnd_cnt = 0;
		cwnd++;
	} else {
		tp->snd_cwnd_cnt += acked;
	}
	if (cwnd > tp->snd_cwnd_clamp)
		cwnd = tp->snd_cwnd_clamp;
	tp->snd_cwnd = cwnd;
}

SEC("struct_ops/tsbpf_reno_undo_cwnd")
__u32 BPF_PROG(tsbpf_reno_undo_cwnd, struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	COUNT(CC_UNDO_CWND);
	return tp->snd_cwnd > tp->prior_cwnd ? tp->snd_cwnd : tp->prior_cwnd;
}

SEC("struct_ops/tsbpf_reno_set_state")
void BPF_PROG(tsbpf_reno_set_state, struct sock *sk, __u8 new_state)
{
	COUNT(CC_SET_STATE);
}

SEC("struct_ops/tsbpf_reno_cwnd_event")
void BPF_PROG(tsbpf_reno_cwnd_event, struct sock *sk, enum tcp_ca_event ev)
{
	COUNT(CC_CWND_EVENT);
}

SEC(TSBPF_CC_SEC)
struct tcp_congestion_ops TSBPF_CC_VAR = {
	.init = (void *)tsbpf_reno_init,
	.release = (void *)tsbpf_reno_release,
	.ssthresh = (void *)tsbpf_reno_ssthresh,
	.cong_avoid = (void *)tsbpf_reno_cong_avoid,
	.undo_cwnd = (void *)tsbpf_reno_undo_cwnd,
	.set_state = (void *)tsbpf_reno_set_state,
	.cwnd_event = (void *)tsbpf_reno_cwnd_event,
	.name = TSBPF_CC_NAME,
};
