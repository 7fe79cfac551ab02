// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * codec.bpf.c - one struct holding every BTF kind a user struct can hold,
 * for the generated TypeScript codecs (src/codegen/ts_types.ts).
 *
 * struct kitchen has: integers of 1, 2, 4 and 8 bytes, signed and unsigned;
 * bool; bitfields (one straddling a byte boundary, a signed one, one of 40
 * bits); enums of 1, 2, 4 and 8 bytes (the last an ENUM64); a nested struct
 * with padding; an anonymous struct and an anonymous union (read through); a
 * named union holding a struct; arrays of integers, of structs and of 64-bit
 * integers; char arrays, one two-dimensional; a pointer; padding between
 * members and at the end.
 *
 * Programs (BPF_PROG_TEST_RUN, no attach):
 *   fill   writes the known values below into out[0];
 *   check  compares in[0] (written by user space) with the same values and
 *          returns 0 when every field matches, else the number of the first
 *          field that differs; it also copies in[0] to echo[0].
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

enum __attribute__((packed)) e8 { E8_ONE = 1, E8_BIG = 200 };
enum __attribute__((packed)) e16 { E16_ONE = 1, E16_BIG = 0x1234 };
enum e32 { E32_NEG = -5, E32_MAX = 0x7fffffff };
enum e64 { E64_ONE = 1, E64_BIG = 0x123456789abcdefULL };

struct inner {
	__u16 a;
	__s8 b;
	/* 5 bytes of padding */
	__u64 c;
};

struct kitchen {
	__u8 u8v;
	__s8 s8v;
	__u16 u16v;
	__s16 s16v;
	/* 2 bytes of padding */
	__u32 u32v;
	__s32 s32v;
	__u64 u64v;
	__s64 s64v;
	bool flag;
	/* bitfields: 3 + 5 + 12 (straddles bytes) + 1 bits, then a 40-bit one */
	unsigned int bf_a : 3;
	int bf_b : 5;
	unsigned int bf_c : 12;
	int bf_d : 1;
	unsigned long long bf_e : 40;
	enum e8 en8;
	enum e16 en16;
	enum e32 en32;
	enum e64 en64;
	struct inner nested;
	struct {
		__u32 x;
		__s16 y;
	} pair;
	struct {
		__u16 p;
		__u16 q;
	};
	union {
		__u32 as_u32;
		__u8 as_bytes[4];
	};
	union {
		__u64 whole;
		struct {
			__u32 lo;
			__u32 hi;
		} parts;
	} u;
	__u32 arr[3];
	struct inner inners[2];
	char name[12];
	char names[2][8];
	__s64 arr64[2];
	__u64 *ptr;
	__u8 tail;
	/* padding to 8 */
};

/* keeps enum/struct types in BTF even where no code names them */
struct kitchen *unused_kitchen __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kitchen);
} out SEC(".maps"), in SEC(".maps"), echo SEC(".maps");

static __always_inline void fill_known(struct kitchen *k)
{
	k->u8v = 250;
	k->s8v = -100;
	k->u16v = 65000;
	k->s16v = -30000;
	k->u32v = 4000000000u;
	k->s32v = -2000000000;
	k->u64v = 0xfedcba9876543210ULL;
	k->s64v = -0x123456789abcdefLL;
	k->flag = true;
	k->bf_a = 5;
	k->bf_b = -9;
	k->bf_c = 0xabc;
	k->bf_d = -1;
	k->bf_e = 0xfedcba9876ULL;
	k->en8 = E8_BIG;
	k->en16 = E16_BIG;
	k->en32 = E32_NEG;
	k->en64 = E64_BIG;
	k->nested.a = 0x1122;
	k->nested.b = -7;
	k->nested.c = 0x0102030405060708ULL;
	k->pair.x = 77;
	k->pair.y = -77;
	k->p = 0xbeef;
	k->q = 0xcafe;
	k->as_u32 = 0x04030201;
	k->u.parts.lo = 0xdeadbeef;
	k->u.parts.hi = 0x01234567;
	k->arr[0] = 10;
	k->arr[1] = 20;
	k->arr[2] = 30;
	k->inners[0].a = 1;
	k->inners[0].b = 2;
	k->inners[0].c = 3;
	k->inners[1].a = 4;
	k->inners[1].b = -5;
	k->inners[1].c = 6;
	__builtin_memcpy(k->name, "kitchen", 8);
	__builtin_memcpy(k->names[0], "alpha", 6);
	__builtin_memcpy(k->names[1], "beta", 5);
	k->arr64[0] = -1;
	k->arr64[1] = 0x7fffffffffffffffLL;
	k->ptr = (__u64 *)0xffff888012345678ULL;
	k->tail = 0x5a;
}

SEC("syscall")
int fill(void *ctx)
{
	__u32 zero = 0;
	struct kitchen *k = bpf_map_lookup_elem(&out, &zero);

	if (!k)
		return -1;
	fill_known(k);
	return 0;
}

#define CHECK(n, cond) do { if (!(cond)) return n; } while (0)

SEC("syscall")
int check(void *ctx)
{
	__u32 zero = 0;
	struct kitchen *k = bpf_map_lookup_elem(&in, &zero);

	if (!k)
		return -1;
	bpf_map_update_elem(&echo, &zero, k, BPF_ANY);
	CHECK(1, k->u8v == 250);
	CHECK(2, k->s8v == -100);
	CHECK(3, k->u16v == 65000);
	CHECK(4, k->s16v == -30000);
	CHECK(5, k->u32v == 4000000000u);
	CHECK(6, k->s32v == -2000000000);
	CHECK(7, k->u64v == 0xfedcba9876543210ULL);
	CHECK(8, k->s64v == -0x123456789abcdefLL);
	CHECK(9, k->flag == true);
	CHECK(10, k->bf_a == 5);
	CHECK(11, k->bf_b == -9);
	CHECK(12, k->bf_c == 0xabc);
	CHECK(13, k->bf_d == -1);
	CHECK(14, k->bf_e == 0xfedcba9876ULL);
	CHECK(15, k->en8 == E8_BIG && k->en16 == E16_BIG && k->en32 == E32_NEG && k->en64 == E64_BIG);
	CHECK(16, k->nested.a == 0x1122 && k->nested.b == -7 && k->nested.c == 0x0102030405060708ULL);
	CHECK(17, k->pair.x == 77 && k->pair.y == -77);
	CHECK(18, k->p == 0xbeef && k->q == 0xcafe);
	CHECK(19, k->as_u32 == 0x04030201);
	CHECK(20, k->u.parts.lo == 0xdeadbeef && k->u.parts.hi == 0x01234567);
	CHECK(21, k->arr[0] == 10 && k->arr[1] == 20 && k->arr[2] == 30);
	CHECK(22, k->inners[0].a == 1 && k->inners[0].b == 2 && k->inners[0].c == 3);
	CHECK(23, k->inners[1].a == 4 && k->inners[1].b == -5 && k->inners[1].c == 6);
	CHECK(24, k->name[0] == 'k' && k->name[6] == 'n' && k->name[7] == 0);
	CHECK(25, k->names[0][0] == 'a' && k->names[0][4] == 'a' && k->names[0][5] == 0 && k->names[1][3] == 'a' && k->names[1][4] == 0);
	CHECK(26, k->arr64[0] == -1 && k->arr64[1] == 0x7fffffffffffffffLL);
	CHECK(27, k->ptr == (__u64 *)0xffff888012345678ULL);
	CHECK(28, k->tail == 0x5a);
	return 0;
}
