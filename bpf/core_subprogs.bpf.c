// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * core_subprogs.bpf.c - CO-RE reads inside subprograms shared by several
 * programs, as tools factor them out: a static helper per field, a global
 * function filling a record through a pointer argument, both reached from a
 * tracepoint, a raw tracepoint and a syscall program. Every program carries
 * its own copy of the helpers, each copy CO-RE-relocated once.
 *
 * In .text:
 *   task_tgid(t)     static: BPF_CORE_READ(t, tgid)
 *   parent_tgid(t)   static: BPF_CORE_READ(t, real_parent, tgid)
 *   task_comm(t, b)  static: bpf_core_read_str(b, 16, &t->comm)
 *   fill_info(out)   global, pointer argument (NULL-checked, as the kernel
 *                    verifies a global function on its own): fills
 *                    *out for the current task through the static helpers,
 *                    returns 0 (-1 for NULL)
 *
 * Programs:
 *   info_syscall     SEC("syscall"): fill_info(&last) -> .bss `last`;
 *                    returns fill_info's result (0)
 *   info_getpgid     SEC("tp/syscalls/sys_enter_getpgid"): for target_pid
 *                    (.rodata, 0 = any), fill_info into `infos[tgid]`
 *   info_raw         SEC("raw_tp/sys_enter"): counts calls of target_pid
 *                    in .bss `raw_hits` (uses task_tgid only)
 *
 * struct task_brief (size 24): 0 tgid, 4 ppid, 8 comm[16].
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct task_brief {
	u32 tgid;
	u32 ppid;
	char comm[16];
};

const volatile int target_pid = 0;
struct task_brief last;
u64 raw_hits;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, u32);
	__type(value, struct task_brief);
} infos SEC(".maps");

static __noinline u32 task_tgid(struct task_struct *t)
{
	return BPF_CORE_READ(t, tgid);
}

static __noinline u32 parent_tgid(struct task_struct *t)
{
	return BPF_CORE_READ(t, real_parent, tgid);
}

static __noinline void task_comm(struct task_struct *t, char *buf)
{
	bpf_core_read_str(buf, 16, &t->comm);
}

__noinline int fill_info(struct task_brief *out)
{
	struct task_struct *t;

	if (!out)
		return -1;
	t = (struct task_struct *)bpf_get_current_task();
	out->tgid = task_tgid(t);
	out->ppid = parent_tgid(t);
	task_comm(t, out->comm);
	return 0;
}

SEC("syscall")
int info_syscall(void *ctx)
{
	return fill_info(&last);
}

SEC("tp/syscalls/sys_enter_getpgid")
int info_getpgid(void *ctx)
{
	struct task_brief b = {};
	u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (target_pid && tgid != target_pid)
		return 0;
	if (fill_info(&b))
		return 0;
	bpf_map_update_elem(&infos, &tgid, &b, BPF_ANY);
	return 0;
}

SEC("raw_tp/sys_enter")
int info_raw(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	if (target_pid && task_tgid(t) == target_pid)
		__sync_fetch_and_add(&raw_hits, 1);
	return 0;
}
