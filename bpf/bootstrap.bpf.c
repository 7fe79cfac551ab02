// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * bootstrap.bpf.c - process exec/exit tracer, modelled on libbpf-bootstrap's
 * "bootstrap" example.
 *
 * - sched_process_exec: remember the exec time of the pid in `exec_start`,
 *   and (unless min_duration_ns is set) emit an exec event with the filename.
 * - sched_process_exit: for whole-process exits, compute how long the process
 *   lived since its exec, drop it if shorter than min_duration_ns, and emit an
 *   exit event with the exit code.
 *
 * Exercises: ring buffer output (reserve/submit), a hash map, a
 * `const volatile` .rodata knob set before load, CO-RE reads through pointer
 * chains (task->real_parent->tgid), reading a __data_loc string out of a
 * tracepoint record.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "bootstrap.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* pid -> exec timestamp (bpf_ktime_get_ns) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, pid_t);
	__type(value, u64);
} exec_start SEC(".maps");

/* events to user space; 256 KiB */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

/* Puts struct event in the object's BTF, for typed records in user space
 * (a skeleton's `types: ['event']`, like bpf2go's -type). */
const struct event *unused_event __attribute__((unused));

/* Set from user space before load; 0 reports every exec and exit. */
const volatile unsigned long long min_duration_ns = 0;

/* Fill the fields common to exec and exit events from the current task. */
static __always_inline void fill_common(struct event *e, struct task_struct *task, pid_t pid)
{
	e->pid = pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->start_time = BPF_CORE_READ(task, start_time);
	e->start_boottime = BPF_CORE_READ(task, start_boottime);
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
}

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task;
	unsigned fname_off;
	struct event *e;
	pid_t pid;
	u64 ts;

	/* remember when this process exec'd */
	pid = bpf_get_current_pid_tgid() >> 32;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&exec_start, &pid, &ts, BPF_ANY);

	/* with a minimum duration set, only exits are reported */
	if (min_duration_ns)
		return 0;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;

	task = (struct task_struct *)bpf_get_current_task();
	fill_common(e, task, pid);
	e->exit_event = false;
	e->exit_code = 0;
	e->duration_ns = 0;

	/* __data_loc: low 16 bits are the offset of the string in the record */
	fname_off = ctx->__data_loc_filename & 0xFFFF;
	bpf_probe_read_str(&e->filename, sizeof(e->filename), (void *)ctx + fname_off);

	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int handle_exit(struct trace_event_raw_sched_process_template *ctx)
{
	struct task_struct *task;
	struct event *e;
	pid_t pid, tid;
	u64 id, ts, *start_ts, duration_ns = 0;

	id = bpf_get_current_pid_tgid();
	pid = id >> 32;
	tid = (u32)id;

	/* threads exiting are not process exits */
	if (pid != tid)
		return 0;

	start_ts = bpf_map_lookup_elem(&exec_start, &pid);
	if (start_ts)
		duration_ns = bpf_ktime_get_ns() - *start_ts;
	else if (min_duration_ns)
		return 0;
	bpf_map_delete_elem(&exec_start, &pid);

	if (min_duration_ns && duration_ns < min_duration_ns)
		return 0;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;

	task = (struct task_struct *)bpf_get_current_task();
	fill_common(e, task, pid);
	e->exit_event = true;
	e->duration_ns = duration_ns;
	e->exit_code = (BPF_CORE_READ(task, exit_code) >> 8) & 0xff;
	e->filename[0] = 0;

	bpf_ringbuf_submit(e, 0);
	return 0;
}
