// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * hidden_func.bpf.c - non-static functions whose visibility decides how the
 * verifier checks them.
 *
 * In .text:
 *   pair_sum        __weak __hidden, pointer arguments, no NULL check: the
 *                   way libbpf's usdt.bpf.h declares bpf_usdt_arg(). libbpf
 *                   marks a hidden (STV_HIDDEN/STV_INTERNAL) function static
 *                   in the BTF it loads, so the verifier checks it in its
 *                   caller's context, where the pointers are known to point
 *                   at the caller's stack. Verified as a global function it
 *                   is refused: a global function's pointer argument may be
 *                   NULL ("invalid mem access 'mem_or_null'").
 *   pair_diff       __hidden (not weak), pointer arguments, no NULL check.
 *   pair_scale      global, pointer argument: verified on its own, so it
 *                   checks for NULL itself (the kernel passes mem_or_null).
 *
 * Programs (runnable with BPF_PROG_TEST_RUN):
 *   hidden_xdp      SEC("xdp")      res.sum  = pair_sum({7, 35})      = 42
 *                                   res.diff = pair_diff({7, 35})     = 28
 *                                   returns XDP_PASS (2)
 *   global_syscall  SEC("syscall")  res.scaled = sum of pair_scale({2, 3}, 10)
 *                                   = 20 + 30 = 50, and pair_sum of that
 *                                   pair (the same sum); returns 0
 *
 * .bss struct `res` (u64 each): sum, diff, scaled (offsets 0, 8, 16).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct pair {
	__u64 a;
	__u64 b;
};

struct {
	__u64 sum;
	__u64 diff;
	__u64 scaled;
} res;

__weak __hidden int pair_sum(const struct pair *p, __u64 *out)
{
	*out = p->a + p->b;
	return 0;
}

__hidden __noinline int pair_diff(const struct pair *p, __u64 *out)
{
	*out = p->b - p->a;
	return 0;
}

__noinline int pair_scale(struct pair *p, __u64 k)
{
	if (!p)
		return -1;
	p->a *= k;
	p->b *= k;
	return 0;
}

SEC("xdp")
int hidden_xdp(struct xdp_md *ctx)
{
	struct pair p = { 7, 35 };
	__u64 v = 0;

	pair_sum(&p, &v);
	res.sum = v;
	pair_diff(&p, &v);
	res.diff = v;
	return XDP_PASS;
}

SEC("syscall")
int global_syscall(void *ctx)
{
	struct pair p = { 2, 3 };
	__u64 v = 0;

	if (pair_scale(&p, 10))
		return 1;
	pair_sum(&p, &v);
	res.scaled = v;
	return 0;
}
