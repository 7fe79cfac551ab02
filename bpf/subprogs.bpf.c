// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * subprogs.bpf.c - BPF-to-BPF calls, callbacks and several programs per
 * section.
 *
 * In .text (subprograms, never programs themselves):
 *   static_add      static __noinline: BPF_PSEUDO_CALL, verified with its
 *                   caller (BTF FUNC linkage "static")
 *   global_mul      global __noinline: verified on its own (linkage
 *                   "global"); called from xdp_a, xdp_b and tc_c
 *   hidden_sub      global but __hidden: libbpf turns its BTF linkage into
 *                   static so the verifier treats it like a static function
 *   nested_outer    static, calls static_add and touches a map and a global
 *                   (map and data relocations inside a subprogram)
 *   loop_cb         bpf_loop callback, referenced by ld_imm64
 *                   BPF_PSEUDO_FUNC (not a call)
 *   sum_elem_cb     bpf_for_each_map_elem callback (BPF_PSEUDO_FUNC)
 * (libbpf refuses static functions inside a program section, so a
 *  program section holds only programs.)
 *
 * Programs, all runnable with BPF_PROG_TEST_RUN:
 *   xdp_a  SEC("xdp")  res.a_add   = static_add(3, 4)        = 7
 *                      res.a_mul   = global_mul(6, 7)        = 42
 *                      res.a_loop  = sum of 0..9 via bpf_loop = 45
 *                      res.a_iters = bpf_loop's return        = 10
 *                      returns XDP_PASS (2)
 *   xdp_b  SEC("xdp")  same section as xdp_a:
 *                      res.b_mul    = global_mul(5, 5)       = 25
 *                      res.b_hidden = hidden_sub(10)         = 31 (3*10+1)
 *                      res.b_nested = nested_outer(1)        = 102 on the
 *                        first run: nested_outer(x) increments vals[7] and
 *                        nested_calls, then returns static_add(x, 100) +
 *                        nested_calls
 *                      res.b_foreach_keys = sum over vals of (key+1) = 36
 *                      res.b_foreach_vals = sum of vals values (1 on a
 *                        fresh load: vals[7] was just incremented)
 *                      res.b_foreach_n    = bpf_for_each_map_elem's return = 8
 *                      returns XDP_TX (3)
 *   tc_c   SEC("tc")   res.c_mul = global_mul(2, 21) = 42; returns 0 (TC_ACT_OK)
 *
 * .bss struct `res` layout (all u32/s32, 4 bytes each, in order):
 *   a_add a_mul a_loop a_iters b_mul b_hidden b_nested b_foreach_keys
 *   b_foreach_vals b_foreach_n c_mul   (offsets 0, 4, ..., 40; size 44),
 *   then nested_calls at offset 44.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct results {
	__u32 a_add;
	__u32 a_mul;
	__u32 a_loop;
	__s32 a_iters;
	__u32 b_mul;
	__u32 b_hidden;
	__u32 b_nested;
	__u32 b_foreach_keys;
	__u32 b_foreach_vals;
	__s32 b_foreach_n;
	__u32 c_mul;
} res;

__u32 nested_calls;   /* .bss, touched from a subprogram */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} vals SEC(".maps");

static __noinline int static_add(int a, int b)
{
	return a + b;
}

__noinline int global_mul(int a, int b)
{
	/* global functions are verified without knowledge of their callers:
	 * they may only see scalars and must return a scalar */
	return a * b;
}

__hidden __noinline int hidden_sub(int x)
{
	return 3 * x + 1;
}

static __noinline int nested_outer(int x)
{
	__u32 key = 7;
	__u64 *v = bpf_map_lookup_elem(&vals, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	nested_calls++;
	return static_add(x, 100) + nested_calls;
}

struct loop_ctx {
	__u32 sum;
};

static int loop_cb(__u32 idx, void *data)
{
	struct loop_ctx *lc = data;

	lc->sum += idx;
	return 0;   /* 0: continue, 1: stop */
}

struct foreach_ctx {
	__u32 keys;
	__u32 vals;
};

static long sum_elem_cb(struct bpf_map *map, __u32 *key, __u64 *val, void *data)
{
	struct foreach_ctx *fc = data;

	fc->keys += *key + 1;
	fc->vals += *val;
	return 0;   /* 0: continue */
}

SEC("xdp")
int xdp_a(struct xdp_md *ctx)
{
	struct loop_ctx lc = { .sum = 0 };

	res.a_add = static_add(3, 4);
	res.a_mul = global_mul(6, 7);
	res.a_iters = bpf_loop(10, loop_cb, &lc, 0);
	res.a_loop = lc.sum;
	return XDP_PASS;
}

SEC("xdp")
int xdp_b(struct xdp_md *ctx)
{
	struct foreach_ctx fc = { 0, 0 };

	res.b_mul = global_mul(5, 5);
	res.b_hidden = hidden_sub(10);
	res.b_nested = nested_outer(1);
	res.b_foreach_n = bpf_for_each_map_elem(&vals, sum_elem_cb, &fc, 0);
	res.b_foreach_keys = fc.keys;
	res.b_foreach_vals = fc.vals;
	return XDP_TX;
}

SEC("tc")
int tc_c(struct __sk_buff *skb)
{
	res.c_mul = global_mul(2, 21);
	return 0;   /* TC_ACT_OK */
}
