/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bootstrap.h - record shared by bootstrap.bpf.c and user space.
 *
 * Layout (x86_64 and BPF agree; offsets in bytes):
 *    0 int pid                  (tgid of the process)
 *    4 int ppid                 (tgid of task->real_parent)
 *    8 unsigned exit_code       ((task->exit_code >> 8) & 0xff, exit events)
 *   16 u64 duration_ns          (exit events: time since the exec we saw)
 *   24 u64 start_time           (task->start_time, CLOCK_MONOTONIC ns)
 *   32 u64 start_boottime       (task->start_boottime, CLOCK_BOOTTIME ns;
 *                                /proc/<pid>/stat field 22 is this / 10^7
 *                                with USER_HZ = 100)
 *   40 char comm[16]
 *   56 char filename[127]       (exec events: the exec'd path)
 *  183 bool exit_event
 *  size 184
 */
#ifndef __BOOTSTRAP_H
#define __BOOTSTRAP_H

#define TASK_COMM_LEN 16
#define MAX_FILENAME_LEN 127

struct event {
	int pid;
	int ppid;
	unsigned exit_code;
	unsigned long long duration_ns;
	unsigned long long start_time;
	unsigned long long start_boottime;
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME_LEN];
	bool exit_event;
};

#endif /* __BOOTSTRAP_H */
