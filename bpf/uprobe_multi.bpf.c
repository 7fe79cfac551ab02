// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * uprobe_multi.bpf.c - uprobe.multi / uretprobe.multi programs that count
 * calls by attach cookie, like kprobe_multi.bpf.c: each call of a probed
 * function made by process target_pid (0 = any) adds one to hits[cookie]
 * (entry) or ret_hits[cookie] (return); cookies 0..15, larger ones in 15.
 *
 *  program        section                                   attach
 *  umulti         uprobe.multi                              explicitly
 *  uretmulti      uretprobe.multi                           explicitly
 *  umulti_glob    uprobe.multi/multi_target:tsbpf_multi_*   auto (path relative to the cwd)
 *
 * Linux 6.6+ (the host; not Debian's 6.1). libbpf 1.1 predates these
 * sections (1.3 added them) and cannot load this object.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_pid = 0;

__u64 hits[16];
__u64 ret_hits[16];

static __always_inline int count(__u64 *slots, void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 cookie;

	if (target_pid && pid != target_pid)
		return 0;
	cookie = bpf_get_attach_cookie(ctx);
	if (cookie > 15)
		cookie = 15;
	__sync_fetch_and_add(&slots[cookie], 1);
	return 0;
}

SEC("uprobe.multi")
int umulti(struct pt_regs *ctx)
{
	return count(hits, ctx);
}

SEC("uretprobe.multi")
int uretmulti(struct pt_regs *ctx)
{
	return count(ret_hits, ctx);
}

SEC("uprobe.multi/multi_target:tsbpf_multi_*")
int umulti_glob(struct pt_regs *ctx)
{
	return count(hits, ctx);
}
