// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * syscount.bpf.c - count system calls per process.
 *
 * The program runs on every syscall entry (raw_syscalls:sys_enter) and, when
 * target_pid is 0 or matches the calling process, increments
 *   - counts[pid]          (hash, pid -> u64)
 *   - by_id[syscall nr]    (array, nr -> u64; x86_64 getpgid is 121)
 *   - total                (.bss global)
 *
 * A second program, count_raw, does the same from the raw tracepoint
 * `raw_tp/sys_enter` (bpf_raw_tracepoint_args: args[1] is the syscall nr) and
 * counts into raw_total only, so a test can attach either one or both.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define MAX_SYSCALL_NR 512

/* 0 = count every process; set before load */
const volatile int target_pid = 0;

/* .bss totals */
__u64 total = 0;
__u64 raw_total = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALL_NR);
	__type(key, u32);
	__type(value, u64);
} by_id SEC(".maps");

SEC("tp/raw_syscalls/sys_enter")
int count_syscalls(struct trace_event_raw_sys_enter *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	u32 nr = (u32)ctx->id;
	u64 one = 1, *val;

	if (target_pid && pid != (u32)target_pid)
		return 0;

	val = bpf_map_lookup_elem(&counts, &pid);
	if (val)
		__sync_fetch_and_add(val, 1);
	else
		bpf_map_update_elem(&counts, &pid, &one, BPF_NOEXIST);

	val = bpf_map_lookup_elem(&by_id, &nr);  /* NULL when nr >= 512 */
	if (val)
		__sync_fetch_and_add(val, 1);

	__sync_fetch_and_add(&total, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int count_raw(struct bpf_raw_tracepoint_args *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;

	if (target_pid && pid != (u32)target_pid)
		return 0;
	__sync_fetch_and_add(&raw_total, 1);
	return 0;
}
