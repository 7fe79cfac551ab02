// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* tcp_reno_link.bpf.c - the BPF Reno of tcp_reno.h as a SEC(".struct_ops.link") map
 * "tsbpf_reno_link", registered by a struct_ops BPF link (Linux 6.4+). libbpf
 * 1.2 added the section; libbpf 1.1 cannot load this object. */
#define TSBPF_CC_SEC ".struct_ops.link"
#define TSBPF_CC_VAR tsbpf_reno_link
#define TSBPF_CC_NAME "tsbpf_reno_link"
#include "tcp_reno.h"
