// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * ksym.bpf.c - `extern ... __ksym`: kernel variables and kfuncs.
 *
 *   __start_BTF       untyped (`const void`): its address comes from
 *                     /proc/kallsyms (this kernel has no CONFIG_KALLSYMS_ALL,
 *                     so only text and section-marker symbols are listed).
 *                     It is the start of the kernel's own BTF blob, whose
 *                     first two bytes are the BTF magic 0xeB9F (read
 *                     little-endian as 0xeb9f).
 *   tsbpf_missing_sym untyped and __weak: absent, resolves to address 0
 *   bpf_task_from_pid / bpf_task_acquire / bpf_task_release
 *                     kfuncs (BPF_PSEUDO_KFUNC_CALL with the BTF id of the
 *                     kernel FUNC); bpf_task_from_pid needs Linux 6.2+
 *
 * Typed kernel *variables* (runqueues, bpf_prog_active) are in
 * ksym_typed.bpf.c: the kernel resolves their address through kallsyms, which
 * on the dev machine (no CONFIG_KALLSYMS_ALL) lists no data symbols.
 *
 * Program: read_ksyms SEC("syscall"), runnable with BPF_PROG_TEST_RUN.
 * Set `ks_pid` (.bss) to look up a task, 0 (default) means the caller.
 * Results in .bss struct `ks`:
 *   start_btf_addr  (u64)&__start_BTF: equals its /proc/kallsyms address
 *   btf_magic       first u16 at &__start_BTF (0xeb9f)
 *   missing_addr    (u64)&tsbpf_missing_sym (0)
 *   task_tgid       tgid of bpf_task_from_pid(pid), read after acquiring a
 *                   second reference with bpf_task_acquire (== pid)
 *   task_found      1 when bpf_task_from_pid found the task
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern const void __start_BTF __ksym;
extern const void tsbpf_missing_sym __ksym __weak;

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

/* .bss knob: pid for bpf_task_from_pid, 0 = the calling process */
int ks_pid;

/* .bss; offsets: 0 start_btf_addr, 8 missing_addr, 16 btf_magic,
 * 20 task_tgid, 24 task_found; size 32 */
struct ksym_result {
	__u64 start_btf_addr;
	__u64 missing_addr;
	__u32 btf_magic;
	__s32 task_tgid;
	__u32 task_found;
} ks;

SEC("syscall")
int read_ksyms(void *ctx)
{
	struct task_struct *t, *t2;
	__u16 magic = 0;
	int pid;

	bpf_probe_read_kernel(&magic, sizeof(magic), &__start_BTF);
	ks.btf_magic = magic;
	ks.start_btf_addr = (__u64)&__start_BTF;
	ks.missing_addr = (__u64)&tsbpf_missing_sym;

	pid = ks_pid ? ks_pid : bpf_get_current_pid_tgid() >> 32;
	ks.task_found = 0;
	ks.task_tgid = -1;
	t = bpf_task_from_pid(pid);
	if (!t)
		return 0;
	t2 = bpf_task_acquire(t);
	if (t2) {
		ks.task_tgid = t2->tgid;
		bpf_task_release(t2);
	}
	ks.task_found = 1;
	bpf_task_release(t);
	return 0;
}
