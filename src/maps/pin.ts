// Pinning puts a BPF object at a path on bpffs, the BPF filesystem, so it
// outlives the process. Pinning anywhere else fails with EPERM, and on a
// fresh machine bpffs is often not mounted at all: say so, with the command
// that fixes it.
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';

/** BPF_FS_MAGIC, the f_type statfs() reports for bpffs. */
export const BPF_FS_MAGIC = 0xcafe4a11;
/** Where bpffs is conventionally mounted. */
export const DEFAULT_BPFFS = '/sys/fs/bpf';

/** True when `dir` exists and lies on a bpffs mount. */
export function isOnBpffs(dir: string): boolean {
  try {
    return statfsSync(dir).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Why pinning at `path` cannot work, or undefined when its directory is on
 * bpffs. The text names the missing mount and the command that mounts it.
 */
export function bpffsProblem(path: string): string | undefined {
  const dir = dirname(path);
  if (isOnBpffs(dir)) return undefined;
  if (!isOnBpffs(DEFAULT_BPFFS) && (path === DEFAULT_BPFFS || path.startsWith(DEFAULT_BPFFS + '/')))
    return `bpffs is not mounted at ${DEFAULT_BPFFS}: mount -t bpf bpf ${DEFAULT_BPFFS}`;
  return `${dir} is not on a bpffs mount (or does not exist): BPF objects can only be pinned on bpffs, e.g. under ${DEFAULT_BPFFS}`;
}
