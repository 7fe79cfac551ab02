/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ringbuf_bench.h - records produced/consumed by ringbuf_bench.bpf.c.
 */
#ifndef __RINGBUF_BENCH_H
#define __RINGBUF_BENCH_H

/* 16 bytes. check == rec_check(seq) lets a consumer detect torn records. */
struct rec {
	unsigned long long seq;
	unsigned long long check;
};

/* ts variant: 16 bytes; ts is bpf_ktime_get_ns() (CLOCK_MONOTONIC) taken
 * just before submit, for latency measurements. */
struct ts_rec {
	unsigned long long seq;
	unsigned long long ts;
};

#define REC_CHECK_MUL 0x9E3779B97F4A7C15ULL
#define REC_CHECK_XOR 0x5bd1e9955bd1e995ULL

/* Computable in JS with BigInt: ((seq * MUL) mod 2^64) ^ XOR */
static inline unsigned long long rec_check(unsigned long long seq)
{
	return (seq * REC_CHECK_MUL) ^ REC_CHECK_XOR;
}

#endif /* __RINGBUF_BENCH_H */
