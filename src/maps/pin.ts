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
 * `root` is where bpffs is expected (a parameter so tests can name a
 * directory that is not bpffs without unmounting the real one).
 */
export function bpffsProblem(path: string, root: string = DEFAULT_BPFFS): string | undefined {
  const dir = dirname(path);
  if (isOnBpffs(dir)) return undefined;
  if (!isOnBpffs(root) && (path === root || path.startsWith(root + '/'))) return `bpffs is not mounted at ${root}: mount -t bpf bpf ${root}`;
  return `${dir} is not on a bpffs mount (or does not exist): BPF objects can only be pinned on bpffs, e.g. under ${root}`;
}
