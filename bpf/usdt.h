/* Shared between bpf/usdt.bpf.c and its tests: one record per USDT hit. */
#ifndef TSBPF_USDT_H
#define TSBPF_USDT_H

#define USDT_MAX_ARGS 12

/* struct usdt_event: 160 bytes.
 *   0  u64 cookie      bpf_usdt_cookie(ctx) (the attach's usdt cookie)
 *   8  u32 pid         tgid of the process that hit the probe
 *  12  s32 arg_cnt     bpf_usdt_arg_cnt(ctx)
 *  16  s64 args[12]    bpf_usdt_arg(ctx, i, &args[i]) (0 where it failed)
 * 112  s32 rets[12]    its return value (0, or -ENOENT past arg_cnt)
 */
struct usdt_event {
	unsigned long long cookie;
	unsigned int pid;
	int arg_cnt;
	long long args[USDT_MAX_ARGS];
	int rets[USDT_MAX_ARGS];
};

#endif
