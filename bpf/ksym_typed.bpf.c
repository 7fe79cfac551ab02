// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * ksym_typed.bpf.c - typed `__ksym` kernel variables.
 *
 *   runqueues        per-CPU `struct rq`, used with bpf_per_cpu_ptr
 *   bpf_prog_active  per-CPU int, used with bpf_this_cpu_ptr
 *
 * libbpf finds each one by name as a BTF_KIND_VAR in vmlinux BTF and emits
 * ld_imm64 with src_reg BPF_PSEUDO_BTF_ID (imm = BTF id, next imm = BTF fd
 * or 0 for vmlinux). The kernel then looks the address up with kallsyms.
 *
 * Loads only on kernels with CONFIG_KALLSYMS_ALL (Debian's 6.1 guest). On the
 * dev machine the verifier refuses it with ENOENT:
 *   "ldimm64 failed to find the address for kernel symbol 'runqueues'."
 *
 * Program: read_percpu SEC("syscall"), runnable with BPF_PROG_TEST_RUN.
 * .bss struct `pc` (offsets 0 cpu0, 4 cpu1, 8 nr_cpus_seen, 12 prog_active):
 *   cpu0, cpu1    rq->cpu via bpf_per_cpu_ptr(&runqueues, 0 / 1)
 *                 (0 and 1; 0xffffffff when that CPU does not exist)
 *   nr_cpus_seen  CPUs among the first 8 whose rq pointer is non-NULL
 *   prog_active   *bpf_this_cpu_ptr(&bpf_prog_active)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern const struct rq runqueues __ksym;
extern const int bpf_prog_active __ksym;

struct percpu_result {
	__u32 cpu0;
	__u32 cpu1;
	__u32 nr_cpus_seen;
	__s32 prog_active;
} pc;

SEC("syscall")
int read_percpu(void *ctx)
{
	const struct rq *rq;
	const int *active;
	int i;

	rq = bpf_per_cpu_ptr(&runqueues, 0);
	pc.cpu0 = rq ? rq->cpu : 0xffffffff;
	rq = bpf_per_cpu_ptr(&runqueues, 1);
	pc.cpu1 = rq ? rq->cpu : 0xffffffff;
	pc.nr_cpus_seen = 0;
	for (i = 0; i < 8; i++) {
		if (bpf_per_cpu_ptr(&runqueues, i))
			pc.nr_cpus_seen++;
	}

	active = bpf_this_cpu_ptr(&bpf_prog_active);
	pc.prog_active = *active;
	return 0;
}
