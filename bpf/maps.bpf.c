// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * maps.bpf.c - BTF-defined maps of (nearly) every type, with programs that
 * use them. Pinning lives in pinned.bpf.c, legacy "maps" in legacy_maps.bpf.c.
 *
 * Maps (name: type, key -> value, max_entries, flags / extras):
 *   hash_map        HASH            u32 -> u64    1024
 *   array_map       ARRAY           u32 -> u64    16
 *   pcpu_hash       PERCPU_HASH     u32 -> u64    128
 *   pcpu_array      PERCPU_ARRAY    u32 -> u64    4
 *   lru_map         LRU_HASH        u32 -> u64    64
 *   lru_pcpu_map    LRU_PERCPU_HASH u32 -> u64    64
 *   lpm_map         LPM_TRIE        struct lpm_key{u32 prefixlen; u8 addr[4]}
 *                                   -> u32        256, BPF_F_NO_PREALLOC
 *   queue_map       QUEUE           (none) -> u32 32
 *   stack_map       STACK           (none) -> u32 32
 *   bloom_map       BLOOM_FILTER    (none) -> u32 128, map_extra = 3 hashes
 *   inner_a/inner_b ARRAY           u32 -> u32    4 (inner maps)
 *   outer_arr       ARRAY_OF_MAPS   u32 -> map    2, initial {0: inner_b, 1: inner_a}
 *   outer_hash      HASH_OF_MAPS    u32 -> map    8, initial {3: inner_a, 7: inner_b}
 *   jmp_table       PROG_ARRAY      u32 -> prog   4, initial {0: tail_0, 2: tail_2}
 *   perf_map        PERF_EVENT_ARRAY u32 -> u32   max_entries 0: libbpf sets
 *                                                 it to the number of possible CPUs
 *   ring_map        RINGBUF                       16 KiB
 *   stack_traces    STACK_TRACE     u32 -> u64[127]  128
 *   mmap_array      ARRAY           u32 -> u64    64, BPF_F_MMAPABLE
 *
 * Programs:
 *   maps_xdp     SEC("xdp")  runnable with BPF_PROG_TEST_RUN. Reads
 *                `op_key` (.bss, default 0) as K and the first 4 packet bytes
 *                as an IPv4 address A, then:
 *                  hash_map[K] += 1, array_map[K % 16] += 1,
 *                  pcpu_hash[K] += 1 (this CPU), pcpu_array[K % 4] += 1,
 *                  lru_map[K] += 1, lru_pcpu_map[K] += 1,
 *                  lpm_result = lpm_map[A/32] value or 0xffffffff if no match,
 *                  push K to queue_map and stack_map (fails silently when
 *                  full), push K to bloom_map,
 *                  bloom_hit = (peek of K+1000 in bloom_map == 0),
 *                  ring_map gets an 8-byte record K,
 *                  perf_map gets an 8-byte record K on the current CPU,
 *                  mmap_array[K % 64] += 1,
 *                  inner map behind outer_arr[0] gets [K % 4] += 1,
 *                  inner map behind outer_hash[3] gets [K % 4] += 10.
 *                Returns XDP_PASS (2).
 *   xdp_dispatch SEC("xdp")  tail-calls jmp_table[tail_idx] (.bss); returns
 *                XDP_ABORTED (0) when the slot is empty.
 *   tail_0       SEC("xdp")  sets tail_hit = 100, returns XDP_DROP (1)
 *   tail_2       SEC("xdp")  sets tail_hit = 102, returns XDP_TX (3)
 *   maps_stack   SEC("tp/syscalls/sys_enter_getpgid") records
 *                bpf_get_stackid(kernel stack) into last_stack_id for
 *                target_pid (0: any).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define PERF_MAX_STACK_DEPTH 127

const volatile int target_pid = 0;

/* .bss knobs and results */
__u32 op_key;
__u32 tail_idx;
__u32 tail_hit;
__u32 lpm_result;
__u32 bloom_hit;
__s64 last_stack_id = -1;   /* .data: non-zero initial value */
__u32 ops_done;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} hash_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} array_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} lru_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} lru_pcpu_map SEC(".maps");

struct lpm_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u32);
} lpm_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 32);
	__type(value, __u32);
} queue_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 32);
	__type(value, __u32);
} stack_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 128);
	__uint(map_extra, 3);   /* number of hash functions */
	__type(value, __u32);
} bloom_map SEC(".maps");

/* Inner maps: both must match the inner definition of the outer maps. */
struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer_arr SEC(".maps") = {
	.values = { [0] = &inner_b, [1] = &inner_a },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer_hash SEC(".maps") = {
	.values = { [3] = &inner_a, [7] = &inner_b },
};

/* Tail-call targets are forward-declared so the table can point at them. */
int tail_0(struct xdp_md *ctx);
int tail_2(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	/* key_size, not __type(key): a BTF key without a BTF value type is
	 * refused by the kernel (libbpf would retry without BTF) */
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} jmp_table SEC(".maps") = {
	.values = { [0] = (void *)&tail_0, [2] = (void *)&tail_2 },
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024);
} ring_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 128);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, PERF_MAX_STACK_DEPTH * sizeof(__u64));
} stack_traces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} mmap_array SEC(".maps");

/* lookup-or-insert, then add */
static __always_inline void bump(void *map, __u32 key, __u64 by)
{
	__u64 *v = bpf_map_lookup_elem(map, &key);

	if (v)
		__sync_fetch_and_add(v, by);
	else
		bpf_map_update_elem(map, &key, &by, BPF_NOEXIST);
}

static __always_inline void bump_inner(void *outer, __u32 okey, __u32 ikey, __u32 by)
{
	void *inner = bpf_map_lookup_elem(outer, &okey);
	__u32 *v;

	if (!inner)
		return;
	v = bpf_map_lookup_elem(inner, &ikey);
	if (v)
		__sync_fetch_and_add(v, by);
}

SEC("xdp")
int maps_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 k = op_key, probe;
	__u64 rec = k;
	__u32 *lpm_val;
	struct lpm_key lk = { .prefixlen = 32 };

	bump(&hash_map, k, 1);
	bump(&array_map, k % 16, 1);
	bump(&pcpu_hash, k, 1);
	bump(&pcpu_array, k % 4, 1);
	bump(&lru_map, k, 1);
	bump(&lru_pcpu_map, k, 1);
	bump(&mmap_array, k % 64, 1);

	if (data + 4 <= data_end) {
		__builtin_memcpy(lk.addr, data, 4);
		lpm_val = bpf_map_lookup_elem(&lpm_map, &lk);
		lpm_result = lpm_val ? *lpm_val : 0xffffffff;
	}

	bpf_map_push_elem(&queue_map, &k, BPF_ANY);
	bpf_map_push_elem(&stack_map, &k, BPF_ANY);
	bpf_map_push_elem(&bloom_map, &k, BPF_ANY);
	probe = k + 1000;
	bloom_hit = bpf_map_peek_elem(&bloom_map, &probe) == 0;

	bpf_ringbuf_output(&ring_map, &rec, sizeof(rec), 0);
	bpf_perf_event_output(ctx, &perf_map, BPF_F_CURRENT_CPU, &rec, sizeof(rec));

	bump_inner(&outer_arr, 0, k % 4, 1);
	bump_inner(&outer_hash, 3, k % 4, 10);

	__sync_fetch_and_add(&ops_done, 1);
	return XDP_PASS;
}

SEC("xdp")
int xdp_dispatch(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jmp_table, tail_idx);
	return XDP_ABORTED;   /* reached only when the slot is empty */
}

SEC("xdp")
int tail_0(struct xdp_md *ctx)
{
	tail_hit = 100;
	return XDP_DROP;
}

SEC("xdp")
int tail_2(struct xdp_md *ctx)
{
	tail_hit = 102;
	return XDP_TX;
}

SEC("tp/syscalls/sys_enter_getpgid")
int maps_stack(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (target_pid && pid != target_pid)
		return 0;
	last_stack_id = bpf_get_stackid(ctx, &stack_traces, 0);
	return 0;
}
