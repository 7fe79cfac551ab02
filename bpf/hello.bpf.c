// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * hello.bpf.c - BCC's hello world: say hello on every execve, through
 * bpf_printk (read back from the trace pipe).
 *
 * Two ways in, the same output:
 *   hello_kprobe  SEC("ksyscall/execve"): a kprobe on the syscall's entry
 *                 (needs CONFIG_KPROBES);
 *   hello_tp      SEC("tp/syscalls/sys_enter_execve"): the tracepoint, for
 *                 kernels without kprobes.
 * User space attaches the first and falls back to the second.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

static __always_inline void say_hello(const char *kind, const char *pathname)
{
	char path[64];

	if (bpf_probe_read_user_str(path, sizeof(path), pathname) < 0)
		path[0] = 0;
	bpf_printk("hello (%s): execve %s", kind, path);
}

SEC("ksyscall/execve")
int BPF_KSYSCALL(hello_kprobe, const char *pathname)
{
	say_hello("kprobe", pathname);
	return 0;
}

SEC("tp/syscalls/sys_enter_execve")
int hello_tp(struct trace_event_raw_sys_enter *ctx)
{
	say_hello("tracepoint", (const char *)ctx->args[0]);
	return 0;
}
