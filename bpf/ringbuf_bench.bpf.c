// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * ringbuf_bench.bpf.c - producers and a consumer for ring buffer, perf
 * buffer and user ring buffer tests and benchmarks.
 *
 * All kernel-side producers run on getpgid(2) entry from target_pid
 * (const volatile; 0 = any process), so one getpgid() call from the test
 * produces one burst. Records are 16 bytes (ringbuf_bench.h).
 *
 * Knobs (globals writable at any time through the .data/.bss maps or their
 * mmap; nr_records is in .data, the others are zero so they are in .bss):
 *   nr_records   records per trigger (default 1), written with bpf_loop
 *                (at most 1 << 23)
 *   discard_every  0 (default): submit all; k > 0: every record whose
 *                seq % k == k - 1 is reserved and then discarded
 *   submit_flags  flags for bpf_ringbuf_submit/discard/output: 0 (default,
 *                adaptive wakeup), BPF_RB_NO_WAKEUP (1), BPF_RB_FORCE_WAKEUP (2)
 *   rec_size     bytes per rb_produce record: 16 (default), 256, or 0 for
 *                mixed sizes (16, 40, 256, 104 by bpf_loop index % 4); the
 *                first 16 bytes are always struct rec (in .data)
 * Counters (.bss):
 *   next_seq     next sequence number (continues across triggers)
 *   submitted    records submitted to rb (or written to pb)
 *   discarded    records discarded
 *   dropped      reservations that failed (ring full) / perf output errors
 *   ts_submitted records written by rb_produce_ts
 *   urb_*        user ring buffer consumer results (below)
 *
 * Programs:
 *   rb_produce     tp/syscalls/sys_enter_getpgid: nr_records struct rec into
 *                  `rb` with reserve + submit/discard
 *   rb_produce_ts  tp/syscalls/sys_enter_getpgid: one struct ts_rec
 *                  {seq, bpf_ktime_get_ns()} into `rb_ts` per trigger
 *   pb_produce     tp/syscalls/sys_enter_getpgid: nr_records struct rec with
 *                  bpf_perf_event_output into `pb` on the current CPU
 *   urb_drain      syscall: BPF_PROG_TEST_RUN drains `urb` (user ring
 *                  buffer) with bpf_user_ringbuf_drain; each sample must be a
 *                  16-byte struct rec. Returns the number of samples drained
 *                  (or a negative errno). Updates urb_drained, urb_sum (sum of
 *                  seq), urb_bad (samples whose size or check is wrong),
 *                  urb_last_seq.
 * Maps:
 *   rb     RINGBUF          256 KiB (set max_entries before load to resize;
 *                           must be a power-of-2 multiple of the page size)
 *   rb_ts  RINGBUF          64 KiB
 *   pb     PERF_EVENT_ARRAY one slot per possible CPU
 *   urb    USER_RINGBUF     256 KiB
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ringbuf_bench.h"

char LICENSE[] SEC("license") = "GPL";

const volatile int target_pid = 0;

/* knobs: nr_records lands in .data, the zero ones in .bss */
__u32 nr_records = 1;
__u32 rec_size = 16;
__u32 discard_every = 0;
__u64 submit_flags = 0;

/* .bss counters */
__u64 next_seq;
__u64 submitted;
__u64 discarded;
__u64 dropped;
__u64 ts_submitted;
__u64 urb_drained;
__u64 urb_sum;
__u64 urb_bad;
__u64 urb_last_seq;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} rb_ts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} pb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 256 * 1024);
} urb SEC(".maps");

static __always_inline bool wanted(void)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	return !target_pid || pid == target_pid;
}

/* bpf_ringbuf_reserve wants a constant size: one call per size */
static __always_inline struct rec *reserve_rec(__u32 idx)
{
	switch (rec_size ? rec_size : (idx & 3) + 1000) {
	case 256:
	case 1002:
		return bpf_ringbuf_reserve(&rb, 256, 0);
	case 1001:
		return bpf_ringbuf_reserve(&rb, 40, 0);
	case 1003:
		return bpf_ringbuf_reserve(&rb, 104, 0);
	default:
		return bpf_ringbuf_reserve(&rb, sizeof(struct rec), 0);
	}
}

static int rb_cb(__u32 idx, void *data)
{
	struct rec *r;
	__u64 seq;

	r = reserve_rec(idx);
	if (!r) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	seq = __sync_fetch_and_add(&next_seq, 1);
	r->seq = seq;
	r->check = rec_check(seq);
	if (discard_every && seq % discard_every == discard_every - 1) {
		bpf_ringbuf_discard(r, submit_flags);
		__sync_fetch_and_add(&discarded, 1);
	} else {
		bpf_ringbuf_submit(r, submit_flags);
		__sync_fetch_and_add(&submitted, 1);
	}
	return 0;
}

SEC("tp/syscalls/sys_enter_getpgid")
int rb_produce(void *ctx)
{
	if (!wanted())
		return 0;
	bpf_loop(nr_records, rb_cb, NULL, 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_getpgid")
int rb_produce_ts(void *ctx)
{
	struct ts_rec *r;

	if (!wanted())
		return 0;
	r = bpf_ringbuf_reserve(&rb_ts, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	r->seq = __sync_fetch_and_add(&ts_submitted, 1);
	r->ts = bpf_ktime_get_ns();
	bpf_ringbuf_submit(r, submit_flags);
	return 0;
}

struct pb_ctx {
	void *ctx;   /* the tracepoint context, needed by bpf_perf_event_output */
};

static int pb_cb(__u32 idx, struct pb_ctx *pc)
{
	struct rec r;
	long err;

	r.seq = __sync_fetch_and_add(&next_seq, 1);
	r.check = rec_check(r.seq);
	err = bpf_perf_event_output(pc->ctx, &pb, BPF_F_CURRENT_CPU, &r, sizeof(r));
	if (err)
		__sync_fetch_and_add(&dropped, 1);
	else
		__sync_fetch_and_add(&submitted, 1);
	return 0;
}

SEC("tp/syscalls/sys_enter_getpgid")
int pb_produce(void *ctx)
{
	struct pb_ctx pc = { .ctx = ctx };

	if (!wanted())
		return 0;
	bpf_loop(nr_records, pb_cb, &pc, 0);
	return 0;
}

static long urb_cb(struct bpf_dynptr *dynptr, void *data)
{
	struct rec r;

	if (bpf_dynptr_read(&r, sizeof(r), dynptr, 0, 0)) {
		__sync_fetch_and_add(&urb_bad, 1);
		return 0;
	}
	if (r.check != rec_check(r.seq))
		__sync_fetch_and_add(&urb_bad, 1);
	__sync_fetch_and_add(&urb_drained, 1);
	__sync_fetch_and_add(&urb_sum, r.seq);
	urb_last_seq = r.seq;
	return 0;   /* 0: continue, 1: stop */
}

SEC("syscall")
int urb_drain(void *ctx)
{
	return bpf_user_ringbuf_drain(&urb, urb_cb, NULL, 0);
}
