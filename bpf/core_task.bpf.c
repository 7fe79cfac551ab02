// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * core_task.bpf.c - a small CO-RE object whose results a test can check
 * against /proc.
 *
 * For the current task it reads, through CO-RE:
 *   task->tgid, task->real_parent->tgid, task->comm, task->start_time,
 *   task->start_boottime, task->real_cred->uid / gid
 * and stores them in `tasks[tgid]` (hash, u32 -> struct task_info).
 *
 * /proc checks: ppid is field 4 of /proc/PID/stat, comm field 2 (also
 * /proc/PID/comm), start_boottime / (10^9 / USER_HZ) == field 22 (USER_HZ is
 * 100 on x86), uid/gid are the first numbers of "Uid:"/"Gid:" in
 * /proc/PID/status.
 *
 * Programs:
 *   task_getpgid   SEC("tp/syscalls/sys_enter_getpgid"), for target_pid
 *                  (0: every process)
 *   task_syscall   SEC("syscall"), BPF_PROG_TEST_RUN records the caller
 *
 * struct task_info layout: 0 pid, 4 ppid, 8 start_time, 16 start_boottime,
 * 24 uid, 28 gid, 32 comm[16]; size 48.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct task_info {
	u32 pid;
	u32 ppid;
	u64 start_time;
	u64 start_boottime;
	u32 uid;
	u32 gid;
	char comm[16];
};

const volatile int target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, u32);
	__type(value, struct task_info);
} tasks SEC(".maps");

static __always_inline int record_current(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_info info = {};

	info.pid = BPF_CORE_READ(task, tgid);
	info.ppid = BPF_CORE_READ(task, real_parent, tgid);
	info.start_time = BPF_CORE_READ(task, start_time);
	info.start_boottime = BPF_CORE_READ(task, start_boottime);
	info.uid = BPF_CORE_READ(task, real_cred, uid.val);
	info.gid = BPF_CORE_READ(task, real_cred, gid.val);
	BPF_CORE_READ_STR_INTO(&info.comm, task, comm);
	bpf_map_update_elem(&tasks, &info.pid, &info, BPF_ANY);
	return 0;
}

SEC("tp/syscalls/sys_enter_getpgid")
int task_getpgid(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (target_pid && pid != target_pid)
		return 0;
	return record_current();
}

SEC("syscall")
int task_syscall(void *ctx)
{
	return record_current();
}
