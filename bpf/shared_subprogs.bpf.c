// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * shared_subprogs.bpf.c - one chain of static subprograms shared by several
 * programs, the shape of real XDP/tc tools: each program gets its own copy of
 * the subprograms it reaches, laid out in a different order, so a call
 * rewritten for one program is wrong for the next unless every program is
 * linked from the object's untouched instructions.
 *
 * In .text (all static __noinline, so every call is a bpf-to-bpf call):
 *   leaf(x)         = x * scale + bias        (scale, bias in .rodata.params)
 *   middle(x)       = leaf(x) + leaf(x + 1)   static calling static
 *   top(x)          = middle(x) + 7           a chain of three
 *   sum_cb          bpf_loop callback: acc += leaf(idx), counts into
 *                   .data.stats (a callback that calls a subprogram)
 *   looper(n)       bpf_loop(n, sum_cb) from a subprogram, returns acc
 *
 * With the defaults scale = 3, bias = 1: leaf(x) = 3x + 1,
 * middle(x) = 6x + 5, top(x) = 6x + 12, looper(n) = 3n(n-1)/2 + n.
 *
 * Programs (all runnable with BPF_PROG_TEST_RUN on a 64-byte packet):
 *   xdp_top     SEC("xdp")  out.top    = top(1)              = 18, XDP_PASS
 *   xdp_loop    SEC("xdp")  out.loop   = looper(4)           = 22, XDP_PASS
 *   xdp_middle  SEC("xdp")  out.middle = middle(2)           = 17, XDP_PASS
 *   tc_mixed    SEC("tc")   out.mixed  = looper(3) + top(2)  = 12 + 24 = 36,
 *                           TC_ACT_OK (0)
 * (three programs in one section; the subprograms appear in a different
 * order in each program's instruction stream.)
 *
 * .bss struct `out` (u32 each): top, loop, middle, mixed (offsets 0..12).
 * .data.stats: `loop_calls`, incremented once per bpf_loop callback
 *   invocation (u32).
 * .rodata.params: `scale` = 3, `bias` = 1 (const volatile s32).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile int scale SEC(".rodata.params") = 3;
const volatile int bias SEC(".rodata.params") = 1;
__u32 loop_calls SEC(".data.stats") = 0;

struct {
	__u32 top;
	__u32 loop;
	__u32 middle;
	__u32 mixed;
} out;

static __noinline int leaf(int x)
{
	return x * scale + bias;
}

static __noinline int middle(int x)
{
	return leaf(x) + leaf(x + 1);
}

static __noinline int top(int x)
{
	return middle(x) + 7;
}

struct acc {
	int sum;
};

static int sum_cb(__u32 idx, void *data)
{
	struct acc *a = data;

	a->sum += leaf(idx);
	__sync_fetch_and_add(&loop_calls, 1);
	return 0;
}

static __noinline int looper(int n)
{
	struct acc a = { 0 };

	bpf_loop(n, sum_cb, &a, 0);
	return a.sum;
}

SEC("xdp")
int xdp_top(struct xdp_md *ctx)
{
	out.top = top(1);
	return XDP_PASS;
}

SEC("xdp")
int xdp_loop(struct xdp_md *ctx)
{
	out.loop = looper(4);
	return XDP_PASS;
}

SEC("xdp")
int xdp_middle(struct xdp_md *ctx)
{
	out.middle = middle(2);
	return XDP_PASS;
}

SEC("tc")
int tc_mixed(struct __sk_buff *skb)
{
	out.mixed = looper(3) + top(2);
	return 0;
}
