// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * attach.bpf.c - one small program per attach kind, each counting into its
 * own slot of the .bss array `counts` (u64 counts[16]; take its offset in
 * .bss from the BTF DATASEC: clang chose 8, not declaration order).
 *
 *  slot  program              section                          notes
 *   0    tp_getpgid           tp/syscalls/sys_enter_getpgid    target_pid
 *   1    raw_tp_sys_enter     raw_tp/sys_enter                 nr 121 + target_pid
 *   2    tp_btf_sys_enter     tp_btf/sys_enter                 nr 121 + target_pid
 *   3    uprobe_fn            uprobe                           records args 1,2
 *   4    uretprobe_fn         uretprobe                        records return value
 *   5    on_perf_event        perf_event                       records sample_period
 *   6    dump_task            iter/task                        one line per task
 *   7    xdp_count            xdp                              returns XDP_PASS
 *   8    kprobe_openat2       kprobe/do_sys_openat2            target_pid
 *   9    kretprobe_openat2    kretprobe/do_sys_openat2         records return value
 *  10    ksyscall_getpgid     ksyscall/getpgid                 records its argument
 *  11    fentry_openat2       fentry/do_sys_openat2            target_pid
 *  12    fexit_openat2        fexit/do_sys_openat2             records return value
 *  13    tc_count             tc                               returns TC_ACT_OK (0)
 *
 * The uprobe/uretprobe sections name no target: attach them explicitly to a
 * binary + offset (or function). target_pid (const volatile, 0 = any
 * process) filters where marked; the uprobes also honour it.
 * 121 is __NR_getpgid on x86_64.
 *
 * On the dev machine (6.18, no CONFIG_KPROBES, fentry/fexit/LSM refused by
 * policy) the kprobe programs load but cannot be attached (no kprobe PMU, no
 * kprobe_events) and fentry/fexit do not load (EPERM); they are meant for the
 * Debian 6.1 guest.
 *
 * The other .bss results (after counts):
 *   uprobe_args[2] (s64), uretprobe_ret (s64), perf_sample_period (u64),
 *   kretprobe_ret (s64), ksyscall_arg (s64), fexit_ret (s64)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define NR_GETPGID 121

enum slot {
	SLOT_TP = 0,
	SLOT_RAW_TP = 1,
	SLOT_TP_BTF = 2,
	SLOT_UPROBE = 3,
	SLOT_URETPROBE = 4,
	SLOT_PERF_EVENT = 5,
	SLOT_ITER = 6,
	SLOT_XDP = 7,
	SLOT_KPROBE = 8,
	SLOT_KRETPROBE = 9,
	SLOT_KSYSCALL = 10,
	SLOT_FENTRY = 11,
	SLOT_FEXIT = 12,
	SLOT_TC = 13,
	NR_SLOTS = 16,
};

const volatile int target_pid = 0;

__u64 counts[NR_SLOTS];
long uprobe_args[2];
long uretprobe_ret;
__u64 perf_sample_period;
long kretprobe_ret;
long ksyscall_arg;
long fexit_ret;

static __always_inline bool wanted(void)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	return !target_pid || pid == target_pid;
}

static __always_inline void hit(enum slot s)
{
	__sync_fetch_and_add(&counts[s], 1);
}

SEC("tp/syscalls/sys_enter_getpgid")
int tp_getpgid(void *ctx)
{
	if (wanted())
		hit(SLOT_TP);
	return 0;
}

SEC("raw_tp/sys_enter")
int raw_tp_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	/* sys_enter(struct pt_regs *regs, long id) */
	if (ctx->args[1] == NR_GETPGID && wanted())
		hit(SLOT_RAW_TP);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(tp_btf_sys_enter, struct pt_regs *regs, long id)
{
	if (id == NR_GETPGID && wanted())
		hit(SLOT_TP_BTF);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(uprobe_fn, long a, long b)
{
	if (!wanted())
		return 0;
	uprobe_args[0] = a;
	uprobe_args[1] = b;
	hit(SLOT_UPROBE);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(uretprobe_fn, long ret)
{
	if (!wanted())
		return 0;
	uretprobe_ret = ret;
	hit(SLOT_URETPROBE);
	return 0;
}

SEC("perf_event")
int on_perf_event(struct bpf_perf_event_data *ctx)
{
	perf_sample_period = ctx->sample_period;
	hit(SLOT_PERF_EVENT);
	return 0;
}

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	if (!task)   /* called once more at the end with task == NULL */
		return 0;
	if (ctx->meta->seq_num == 0)
		BPF_SEQ_PRINTF(seq, "tgid pid comm\n");
	BPF_SEQ_PRINTF(seq, "%d %d %s\n", task->tgid, task->pid, task->comm);
	hit(SLOT_ITER);
	return 0;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	hit(SLOT_XDP);
	return XDP_PASS;
}

SEC("tc")
int tc_count(struct __sk_buff *skb)
{
	hit(SLOT_TC);
	return 0;   /* TC_ACT_OK */
}

SEC("kprobe/do_sys_openat2")
int BPF_KPROBE(kprobe_openat2, int dfd, const char *filename)
{
	if (wanted())
		hit(SLOT_KPROBE);
	return 0;
}

SEC("kretprobe/do_sys_openat2")
int BPF_KRETPROBE(kretprobe_openat2, long ret)
{
	if (!wanted())
		return 0;
	kretprobe_ret = ret;
	hit(SLOT_KRETPROBE);
	return 0;
}

SEC("ksyscall/getpgid")
int BPF_KSYSCALL(ksyscall_getpgid, pid_t pid)
{
	if (!wanted())
		return 0;
	ksyscall_arg = pid;
	hit(SLOT_KSYSCALL);
	return 0;
}

SEC("fentry/do_sys_openat2")
int BPF_PROG(fentry_openat2, int dfd, const char *filename, struct open_how *how)
{
	if (wanted())
		hit(SLOT_FENTRY);
	return 0;
}

SEC("fexit/do_sys_openat2")
int BPF_PROG(fexit_openat2, int dfd, const char *filename, struct open_how *how, long ret)
{
	if (!wanted())
		return 0;
	fexit_ret = ret;
	hit(SLOT_FEXIT);
	return 0;
}
