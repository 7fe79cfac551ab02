// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * autocreate.bpf.c - maps a tool leaves out before load
 * (bpf_map__set_autocreate), with the programs that use them.
 *
 * Maps:
 *   arena      BPF_MAP_TYPE_ARENA, one page, BPF_F_MMAPABLE: kernels before
 *              6.9 lack it and some policies refuse it (EPERM)
 *   probe_map  a plain hash u32 -> u64
 *   counts     array[4] u64
 *   .bss       a_runs, b_runs, probe_hits
 * Programs (all SEC("syscall"), run with BPF_PROG_TEST_RUN):
 *   uses_arena  allocates an arena page (kfunc bpf_arena_alloc_pages) and frees it
 *   uses_probe  probe_map[1] += 1; probe_hits++
 *   plain_a     counts[0] += 1; a_runs++
 *   plain_b     counts[1] += 2; b_runs++
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
} arena SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} probe_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

__u64 a_runs, b_runs, probe_hits;

extern void *bpf_arena_alloc_pages(void *map, void *addr, __u32 page_cnt, int node_id, __u64 flags) __ksym __weak;
extern void bpf_arena_free_pages(void *map, void *ptr, __u32 page_cnt) __ksym __weak;

SEC("syscall")
int uses_arena(void *ctx)
{
	void *page = bpf_arena_alloc_pages(&arena, NULL, 1, -1, 0);

	if (page)
		bpf_arena_free_pages(&arena, page, 1);
	return page ? 1 : 0;
}

SEC("syscall")
int uses_probe(void *ctx)
{
	__u32 key = 1;
	__u64 one = 1, *v = bpf_map_lookup_elem(&probe_map, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&probe_map, &key, &one, BPF_NOEXIST);
	probe_hits++;
	return 0;
}

SEC("syscall")
int plain_a(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&counts, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	a_runs++;
	return 0;
}

SEC("syscall")
int plain_b(void *ctx)
{
	__u32 key = 1;
	__u64 *v = bpf_map_lookup_elem(&counts, &key);

	if (v)
		__sync_fetch_and_add(v, 2);
	b_runs++;
	return 0;
}
