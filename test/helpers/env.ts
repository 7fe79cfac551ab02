// What a kernel test needs, and why it skips when it is missing.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

export const isRoot = process.getuid?.() === 0;

/** Reason to skip a test that needs root and bpf(), or undefined when we have them. */
export const needsRoot = isRoot ? undefined : 'needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN) to call bpf()';

export const hasKernelBtf = existsSync('/sys/kernel/btf/vmlinux');

/** Number of open fds of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Does `cmd args...` run (exit 0)? For tests that need a host tool such as `ip` or `bpftool`. */
export function hasCommand(cmd: string, args: string[] = ['--version']): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const REFUSALS = new Set(['EPERM', 'EACCES', 'EINVAL', 'ENOTSUPP', 'EOPNOTSUPP', 'E2BIG']);

/**
 * The errno name when `err` (or an error in its `cause` chain) is the kernel
 * refusing a feature: missing, or forbidden by the machine's policy even to
 * root. Tests turn such a refusal into a skip that names it.
 */
export function kernelRefusal(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && REFUSALS.has(e.code)) return e.code;
  }
  return undefined;
}
