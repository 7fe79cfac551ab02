// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* tcp_reno.bpf.c - the BPF Reno of tcp_reno.h as a SEC(".struct_ops") map "tsbpf_reno",
 * registered by BPF_MAP_UPDATE_ELEM (Linux 5.6+). */
#define TSBPF_CC_SEC ".struct_ops"
#define TSBPF_CC_VAR tsbpf_reno
#define TSBPF_CC_NAME "tsbpf_reno"
#include "tcp_reno.h"
