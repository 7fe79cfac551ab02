// What a kernel test needs, and why it skips when it is missing.
import { existsSync, readdirSync } from 'node:fs';

export const isRoot = process.getuid?.() === 0;

/** Reason to skip a test that needs root and bpf(), or undefined when we have them. */
export const needsRoot = isRoot ? undefined : 'needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN) to call bpf()';

export const hasKernelBtf = existsSync('/sys/kernel/btf/vmlinux');

/** Number of open fds of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}
