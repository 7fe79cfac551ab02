// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * module_kfunc.bpf.c - kfuncs and CO-RE types that live in a kernel module:
 * netfilter conntrack's bpf_xdp_ct_lookup / bpf_ct_release and its
 * struct nf_conn. Where nf_conntrack is a module (Debian's 6.1 and 6.12),
 * loading this object needs the module's BTF: the kfunc calls name the
 * module's BTF object through fd_array, and the CO-RE relocations on
 * struct nf_conn find their target in the module's split BTF (vmlinux has
 * none). Where conntrack is built in (the development kernel), vmlinux has
 * both.
 *
 * ct_lookup (xdp), run with BPF_PROG_TEST_RUN, looks up a TCP connection
 * 127.0.0.1:1234 -> 127.0.0.1:5678 that does not exist: lookups counts the
 * runs, last_error gets the kfunc's error (-ENOENT), found the hits; the
 * CO-RE values nf_conn_size and mark_offset are what the kernel's struct
 * nf_conn has (vmlinux has one in Debian's kernels too), opts_size and
 * opts_l4proto_offset what its struct bpf_ct_opts has (only the module has
 * that one in Debian's 6.12: CO-RE finds it in the module's BTF).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* The 12-byte options every kernel since 6.0 takes (later ones also take 16). */
struct bpf_ct_opts___local {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u8 reserved[2];
};

extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *xdp_ctx, struct bpf_sock_tuple *bpf_tuple, __u32 tuple__sz,
					 struct bpf_ct_opts___local *opts, __u32 opts__sz) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;

__u64 lookups;
__u64 found;
__s32 last_error;
__u32 nf_conn_size;
__u32 mark_offset;
__u32 mark;
__u32 opts_size;
__u32 opts_l4proto_offset;

SEC("xdp")
int ct_lookup(struct xdp_md *ctx)
{
	struct bpf_ct_opts___local opts = { .netns_id = -1, .l4proto = 6 /* IPPROTO_TCP */ };
	struct bpf_sock_tuple tup = {};
	struct nf_conn *ct;

	tup.ipv4.saddr = bpf_htonl(0x7f000001);
	tup.ipv4.daddr = bpf_htonl(0x7f000001);
	tup.ipv4.sport = bpf_htons(1234);
	tup.ipv4.dport = bpf_htons(5678);
	nf_conn_size = bpf_core_type_size(struct nf_conn);
	mark_offset = bpf_core_field_offset(struct nf_conn, mark);
	opts_size = bpf_core_type_size(struct bpf_ct_opts);
	opts_l4proto_offset = bpf_core_field_offset(struct bpf_ct_opts, l4proto);
	ct = bpf_xdp_ct_lookup(ctx, &tup, sizeof(tup.ipv4), &opts, sizeof(opts));
	__sync_fetch_and_add(&lookups, 1);
	if (ct) {
		__sync_fetch_and_add(&found, 1);
		mark = ct->mark;
		bpf_ct_release(ct);
	} else {
		last_error = opts.error;
	}
	return XDP_PASS;
}
