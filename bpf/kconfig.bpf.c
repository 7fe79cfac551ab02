// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * kconfig.bpf.c - `extern ... __kconfig` variables.
 *
 * libbpf fills a read-only ".kconfig" map from the kernel's config
 * (/boot/config-$(uname -r) or /proc/config.gz) and a few virtual values:
 *   LINUX_KERNEL_VERSION   KERNEL_VERSION(a,b,c) from uname's release
 *   CONFIG_HZ              int       (250 on the dev machine)
 *   CONFIG_BPF_SYSCALL     bool      (y -> true)
 *   CONFIG_BPF_JIT         tristate  (y -> TRI_YES = 1)
 *   CONFIG_MODULES         tristate, weak (not set here -> TRI_NO = 0;
 *                                          y on Debian's 6.1)
 *   CONFIG_LOCALVERSION    char[16]  ("-fc-v669" here)
 *   CONFIG_TSBPF_MISSING   bool, weak, absent everywhere -> false
 *   CONFIG_TSBPF_MISSING_INT  u64, weak, absent -> 0
 * Non-weak externs that are missing make the load fail.
 *
 * Program: read_kconfig SEC("syscall"), runnable with BPF_PROG_TEST_RUN,
 * copies every value into the .bss struct `kc` (layout below) and returns 0.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig;
extern enum libbpf_tristate CONFIG_MODULES __kconfig __weak;
extern char CONFIG_LOCALVERSION[16] __kconfig;
extern bool CONFIG_TSBPF_MISSING __kconfig __weak;
extern unsigned long long CONFIG_TSBPF_MISSING_INT __kconfig __weak;

/* .bss result; offsets: 0 version, 4 hz, 8 bpf_syscall, 12 bpf_jit,
 * 16 modules, 20 missing_bool, 24 missing_int, 32 localversion[16]; size 48 */
struct kconfig_result {
	__u32 kernel_version;
	__s32 hz;
	__u32 bpf_syscall;
	__u32 bpf_jit;
	__u32 modules;
	__u32 missing_bool;
	__u64 missing_int;
	char localversion[16];
} kc;

SEC("syscall")
int read_kconfig(void *ctx)
{
	int i;

	kc.kernel_version = LINUX_KERNEL_VERSION;
	kc.hz = CONFIG_HZ;
	kc.bpf_syscall = CONFIG_BPF_SYSCALL;
	kc.bpf_jit = CONFIG_BPF_JIT;
	kc.modules = CONFIG_MODULES;
	kc.missing_bool = CONFIG_TSBPF_MISSING;
	kc.missing_int = CONFIG_TSBPF_MISSING_INT;
	for (i = 0; i < sizeof(kc.localversion); i++)
		kc.localversion[i] = CONFIG_LOCALVERSION[i];
	return 0;
}
