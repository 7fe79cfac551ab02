// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * kprobe_multi.bpf.c - kprobe.multi / kretprobe.multi programs that count
 * calls by attach cookie: each call of a probed function made by thread
 * target_tid (0 = any) adds one to hits[cookie] (entry) or ret_hits[cookie]
 * (return); cookies 0..15, larger ones land in slot 15.
 *
 *  program        section                              attach
 *  kmulti         kprobe.multi                         explicitly (syms/addrs + cookies)
 *  kretmulti      kretprobe.multi                      explicitly
 *  kmulti_glob    kprobe.multi/__x64_sys_getp?id       auto: getpgid + getppid, cookie 0
 *  kretmulti_glob kretprobe.multi/__x64_sys_getp?id    auto
 *
 * Needs CONFIG_FPROBE (Debian's 6.12; not 6.1).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tid = 0;

__u64 hits[16];
__u64 ret_hits[16];

static __always_inline int count(__u64 *slots, void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 cookie;

	if (target_tid && tid != target_tid)
		return 0;
	cookie = bpf_get_attach_cookie(ctx);
	if (cookie > 15)
		cookie = 15;
	__sync_fetch_and_add(&slots[cookie], 1);
	return 0;
}

SEC("kprobe.multi")
int kmulti(struct pt_regs *ctx)
{
	return count(hits, ctx);
}

SEC("kretprobe.multi")
int kretmulti(struct pt_regs *ctx)
{
	return count(ret_hits, ctx);
}

SEC("kprobe.multi/__x64_sys_getp?id")
int kmulti_glob(struct pt_regs *ctx)
{
	return count(hits, ctx);
}

SEC("kretprobe.multi/__x64_sys_getp?id")
int kretmulti_glob(struct pt_regs *ctx)
{
	return count(ret_hits, ctx);
}
