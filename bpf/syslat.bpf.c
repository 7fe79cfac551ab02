// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * syslat.bpf.c - syscall latency histogram and exec events: what the
 * `tsbpf` command and examples/syscall_latency.ts read. Tracepoints only
 * (no kprobes needed).
 *
 * - raw_syscalls/sys_enter: remember the entry time of the thread in `start`.
 * - raw_syscalls/sys_exit: the syscall's latency in microseconds goes into the
 *   log2 histogram `hist` (array: slot index -> count; slot i counts
 *   latencies in [2^i, 2^(i+1)) usecs, slot 0 also counts 0).
 * - sched/sched_process_exec: one `struct exec_event` into the ring buffer
 *   `events` (pid, ppid, comm).
 *
 * Maps: `start` hash u32 tid -> u64 ns (10240), `hist` array[MAX_SLOTS] u32 ->
 * u64, `events` ringbuf 64 KiB. Globals: `.rodata` `target_tgid` (0 = every
 * process; else only that process's syscalls go into the histogram);
 * `.bss` `samples` (how many latencies were counted).
 * `struct exec_event` is kept in the BTF by the `exec_event_type` global
 * (clang emits BTF only for types that a global or a function signature uses).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_SLOTS 27

struct exec_event {
	__u32 pid;
	__u32 ppid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

const volatile __u32 target_tgid = 0;
__u64 samples = 0;
struct exec_event *exec_event_type __attribute__((unused));

SEC("tp/raw_syscalls/sys_enter")
int syslat_enter(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	__u64 ts;

	if (target_tgid && (id >> 32) != target_tgid)
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
	return 0;
}

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 slot = 0;

	for (int i = 0; i < MAX_SLOTS - 1; i++) {
		if (v < 2)
			break;
		v >>= 1;
		slot++;
	}
	return slot;
}

SEC("tp/raw_syscalls/sys_exit")
int syslat_exit(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *tsp, *count;
	__u32 slot;

	tsp = bpf_map_lookup_elem(&start, &tid);
	if (!tsp)
		return 0;
	slot = log2_slot((bpf_ktime_get_ns() - *tsp) / 1000);
	bpf_map_delete_elem(&start, &tid);
	count = bpf_map_lookup_elem(&hist, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	__sync_fetch_and_add(&samples, 1);
	return 0;
}

SEC("tp/sched/sched_process_exec")
int syslat_exec(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct exec_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
