// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * uprobe.bpf.c - a user function's entry (first two arguments) and return
 * (its value), one ring buffer event each. User space attaches both programs
 * to the function it is given (binary + symbol).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

enum probe_kind { PROBE_ENTRY = 0, PROBE_EXIT = 1 };

struct event {
	__u32 pid;
	__u32 kind;        /* enum probe_kind */
	__s64 arg0;
	__s64 arg1;
	__s64 ret;         /* exit only */
	char comm[16];
};

const struct event *unused_event __attribute__((unused));
const enum probe_kind *unused_kind __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

static __always_inline int emit(__u32 kind, __s64 a0, __s64 a1, __s64 ret)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->kind = kind;
	e->arg0 = a0;
	e->arg1 = a1;
	e->ret = ret;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(func_entry, long a0, long a1)
{
	return emit(PROBE_ENTRY, a0, a1, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(func_exit, long ret)
{
	return emit(PROBE_EXIT, 0, 0, ret);
}
