// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * usdt.bpf.c - USDT programs written against libbpf's own <bpf/usdt.bpf.h>
 * (unchanged: its __bpf_usdt_specs / __bpf_usdt_ip_to_spec_id maps, its
 * LINUX_HAS_BPF_COOKIE kconfig extern and its __weak __hidden
 * bpf_usdt_arg/bpf_usdt_arg_cnt/bpf_usdt_cookie functions), so that a loader
 * that attaches them must fill those maps exactly as libbpf does.
 *
 * Programs:
 *   usdt_all    SEC("usdt")  generic: for any probe, emits a struct usdt_event
 *               (usdt.h) into `events` with every argument (up to 12), its
 *               return code, the argument count, the usdt cookie and the pid.
 *   usdt_consts SEC("usdt/test/build/usdt_target:tsbpf_test:consts")
 *               auto-attach section; BPF_USDT with three arguments (the probe
 *               passes 5, -9, 123456789012): adds them into `.bss`
 *               consts_sum[0..2] and counts hits in consts_hits.
 *   usdt_lib    SEC("usdt/libtsbpf_usdt.so:tsbpf_lib:plain") a probe in a
 *               shared library (one argument, the round): lib_hits++,
 *               lib_last = arg0.
 *
 * Maps: events (ringbuf 256 KiB), __bpf_usdt_specs (array 256 x 208 bytes),
 * __bpf_usdt_ip_to_spec_id (hash 1024, long -> u32), .bss, .kconfig.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "usdt.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

long long consts_sum[3];
unsigned long long consts_hits;
unsigned long long lib_hits;
long long lib_last;

SEC("usdt")
int usdt_all(struct pt_regs *ctx)
{
	struct usdt_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->cookie = bpf_usdt_cookie(ctx);
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->arg_cnt = bpf_usdt_arg_cnt(ctx);
#pragma unroll
	for (int i = 0; i < USDT_MAX_ARGS; i++) {
		long v;
		e->rets[i] = bpf_usdt_arg(ctx, i, &v);
		e->args[i] = v;
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("usdt/test/build/usdt_target:tsbpf_test:consts")
int BPF_USDT(usdt_consts, int a, long b, long long c)
{
	__sync_fetch_and_add(&consts_sum[0], a);
	__sync_fetch_and_add(&consts_sum[1], b);
	__sync_fetch_and_add(&consts_sum[2], c);
	__sync_fetch_and_add(&consts_hits, 1);
	return 0;
}

SEC("usdt/libtsbpf_usdt.so:tsbpf_lib:plain")
int BPF_USDT(usdt_lib, int round)
{
	__sync_fetch_and_add(&lib_hits, 1);
	lib_last = round;
	return 0;
}
