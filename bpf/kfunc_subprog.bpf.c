// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * kfunc_subprog.bpf.c - kfuncs called from a static subprogram shared by two
 * programs (the program that needs the kfunc is not the function that calls
 * it). Needs Linux 6.2+ (bpf_task_from_pid).
 *
 * In .text:
 *   task_tgid_of(pid)  static __noinline: bpf_task_from_pid(pid), reads the
 *                      task's tgid, bpf_task_release(); -1 when no such task
 *
 * Programs (SEC("syscall"), run with BPF_PROG_TEST_RUN, no ctx):
 *   tgid_of_self    .bss `self_tgid`  = task_tgid_of(current tgid) (== pid)
 *   tgid_of_knob    .bss `knob_tgid`  = task_tgid_of(.bss `knob_pid`)
 *                   (0 when knob_pid is 0: pid 0 is no task -> -1)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

int knob_pid;
int self_tgid;
int knob_tgid;

static __noinline int task_tgid_of(int pid)
{
	struct task_struct *t = bpf_task_from_pid(pid);
	int tgid;

	if (!t)
		return -1;
	tgid = t->tgid;
	bpf_task_release(t);
	return tgid;
}

SEC("syscall")
int tgid_of_self(void *ctx)
{
	self_tgid = task_tgid_of(bpf_get_current_pid_tgid() >> 32);
	return 0;
}

SEC("syscall")
int tgid_of_knob(void *ctx)
{
	knob_tgid = task_tgid_of(knob_pid);
	return 0;
}
