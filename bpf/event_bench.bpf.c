// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * event_bench.bpf.c - bootstrap's struct event (bootstrap.h, 184 bytes) in
 * bulk, for bench/ringbuf.ts's drain_decode: one getpgid(2) from target_pid
 * writes nr_records events into `rb` with bpf_loop. Knobs and names follow
 * ringbuf_bench.bpf.c (target_pid in .rodata, nr_records in .data, ring
 * `rb` resized before load).
 *
 * Event i: pid = i, ppid = 1, exit_code = i & 0xff, duration_ns = i * 1000,
 * start_time = i, start_boottime = 2 * i, comm = "bench", filename =
 * "/usr/bin/bench-event", exit_event = i & 1.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "bootstrap.h"

char LICENSE[] SEC("license") = "GPL";

const volatile int target_pid = 0;
__u32 nr_records = 1;
__u64 next_seq;
__u64 dropped;

const struct event *unused_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

static int ev_cb(__u32 idx, void *data)
{
	struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	__u64 i;

	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	i = __sync_fetch_and_add(&next_seq, 1);
	e->pid = i;
	e->ppid = 1;
	e->exit_code = i & 0xff;
	e->duration_ns = i * 1000;
	e->start_time = i;
	e->start_boottime = 2 * i;
	__builtin_memcpy(e->comm, "bench\0\0\0\0\0\0\0\0\0\0\0", 16);
	__builtin_memcpy(e->filename, "/usr/bin/bench-event", 21);
	e->filename[21] = 0;
	e->exit_event = i & 1;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_getpgid")
int ev_produce(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (target_pid && pid != target_pid)
		return 0;
	bpf_loop(nr_records, ev_cb, NULL, 0);
	return 0;
}
