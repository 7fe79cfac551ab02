// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * globals.bpf.c - every kind of global data section libbpf turns into a map.
 *
 *   .data            initialised globals            (data_int, data_arr, ...)
 *   .rodata          const volatile                 (rodata_int, rodata_str)
 *   .bss             zero-initialised globals       (bss_int, bss_u64, out_str)
 *   .data.custom     SEC(".data.custom") globals    (custom_data, custom_arr)
 *   .rodata.custom   SEC(".rodata.custom") consts   (custom_rodata)
 *   .rodata.str1.1   string literals passed to helpers (bpf_strncmp,
 *                    bpf_snprintf formats)
 *   (static globals live in .data/.bss too but have no BTF VAR linkage
 *    "global": static_counter)
 *
 * Programs (both runnable through BPF_PROG_TEST_RUN, no attach needed):
 *   read_globals  SEC("syscall")  copies every value into the `results`
 *                 array map (slots below) and formats out_str in .bss.
 *                 ctx_in is required: struct globals_args { int add; }
 *                 (4 bytes; the kernel refuses a run whose ctx_in is shorter
 *                 than what the program reads, with EINVAL).
 *   xdp_globals   SEC("xdp")      increments counters in .data, .bss and
 *                 .data.custom, returns XDP_PASS (2).
 *
 * results slots after one run of read_globals with args.add = A
 * (defaults shown):
 *   0 data_int (42) + A           5 sum of data_arr (1+2+3+4 = 10)
 *   1 rodata_int (7)              6 static_counter after increment (1 first run)
 *   2 bss_int (0 unless set)      7 bpf_strncmp(rodata_str, "hello") == 0 (1)
 *   3 custom_data (100)           8 bss_u64 (0 unless set)
 *   4 custom_rodata (200)         9 custom_arr[0] + custom_arr[1] (3 + 4 = 7)
 *  10 run_count after increment   11 bpf_snprintf return value (bytes incl. NUL)
 * out_str = "<rodata_str>-<data_int>", "hello-42" by default.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define NR_RESULTS 16

struct globals_args {
	int add;
};

/* .data */
int data_int = 42;
long long data_arr[4] = { 1, 2, 3, 4 };
__u64 run_count = 0;              /* zero-initialised: clang puts it in .bss */
static __u64 static_counter = 0;  /* static: libbpf exposes no skeleton name */

/* .rodata: const volatile so clang cannot fold the values away */
const volatile int rodata_int = 7;
const volatile char rodata_str[16] = "hello";

/* .bss */
int bss_int;
__u64 bss_u64;
char out_str[32];
__u32 xdp_runs;

/* custom sections: each becomes its own map named after the section */
int custom_data SEC(".data.custom") = 100;
int custom_arr[2] SEC(".data.custom") = { 3, 4 };
const volatile int custom_rodata SEC(".rodata.custom") = 200;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_RESULTS);
	__type(key, __u32);
	__type(value, __u64);
} results SEC(".maps");

static __always_inline void put(__u32 slot, __u64 v)
{
	bpf_map_update_elem(&results, &slot, &v, BPF_ANY);
}

SEC("syscall")
int read_globals(struct globals_args *args)
{
	char buf[16];
	__u64 fmt_args[2];
	long n;
	int add = args->add, i;

	put(0, data_int + add);
	put(1, rodata_int);
	put(2, bss_int);
	put(3, custom_data);
	put(4, custom_rodata);
	put(5, data_arr[0] + data_arr[1] + data_arr[2] + data_arr[3]);
	static_counter++;
	put(6, static_counter);

	/* the literal "hello" is placed in .rodata.str1.1 (a frozen read-only
	 * map), which is what bpf_strncmp's const-string argument requires */
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = rodata_str[i];
	buf[sizeof(buf) - 1] = 0;
	put(7, bpf_strncmp(buf, sizeof(buf), "hello") == 0);
	put(8, bss_u64);
	put(9, custom_arr[0] + custom_arr[1]);
	run_count++;
	put(10, run_count);

	fmt_args[0] = (__u64)(long)buf;
	fmt_args[1] = data_int;
	n = bpf_snprintf(out_str, sizeof(out_str), "%s-%d", fmt_args, sizeof(fmt_args));
	put(11, n);
	return 0;
}

SEC("xdp")
int xdp_globals(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&xdp_runs, 1);
	__sync_fetch_and_add(&custom_data, 1);
	__sync_fetch_and_add(&data_int, 1);
	return XDP_PASS;
}
