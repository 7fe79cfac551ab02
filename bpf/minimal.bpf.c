// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * minimal.bpf.c - the smallest useful BPF object, in the spirit of
 * libbpf-bootstrap's "minimal" example.
 *
 * One tracepoint program on write(2) entry. User space writes its own pid into
 * `my_pid` (a .bss global) before attaching; the program then counts the
 * writes made by that process in `hits` (also .bss) and prints a line to the
 * trace pipe with bpf_printk. The format string of bpf_printk lands in .rodata.
 *
 * It includes <linux/bpf.h> rather than vmlinux.h on purpose: an object with
 * no kernel types, no maps declared in .maps, only global data.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* .bss: zero-initialised globals, set/read from user space. */
int my_pid = 0;
int hits = 0;

SEC("tp/syscalls/sys_enter_write")
int handle_tp(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (pid != my_pid)
		return 0;

	__sync_fetch_and_add(&hits, 1);
	bpf_printk("BPF triggered from PID %d.\n", pid);
	return 0;
}
