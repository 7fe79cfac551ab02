// tracefs: where tracepoint ids live (events/<category>/<name>/id) and where
// legacy kprobes/uprobes are created (kprobe_events, uprobe_events). It is
// often not mounted (this project's CI machine boots without it); we find it,
// mount it when the caller allows, or say exactly what is missing.
import { createLog } from '../util/log.ts';
import { existsSync, mkdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { SyscallError, lastErrno, libcMount } from '../syscall/index.ts';
import { AttachError } from './errors.ts';
import { BPF_FS_MAGIC } from '../maps/pin.ts';

const log = createLog('tsbpf:attach');

/** statfs f_type of tracefs and debugfs (include/uapi/linux/magic.h). */
const TRACEFS_MAGIC = 0x74726163;
const DEBUGFS_MAGIC = 0x64626720;

/** Where tracefs is looked for, in order (the second is debugfs's automount). */
export const TRACEFS_PATHS: readonly string[] = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];
/** Where bpffs is conventionally mounted. */
export const BPFFS_PATH = '/sys/fs/bpf';

export interface TracefsOptions {
  /**
   * Mount tracefs at /sys/kernel/tracing when it is not mounted (needs
   * CAP_SYS_ADMIN). Default: true when the environment has TSBPF_MOUNT=1
   * (or TSBPF_MOUNT_TRACEFS=1), else false.
   */
  mount?: boolean;
  /** Override the places searched (tests). The first one is where a mount goes. */
  paths?: readonly string[];
}

function fsType(path: string): number | undefined {
  try {
    return Number(statfsSync(path).type);
  } catch {
    return undefined;
  }
}

function mountAllowedByEnv(): boolean {
  const v = process.env.TSBPF_MOUNT_TRACEFS ?? process.env.TSBPF_MOUNT;
  return v === '1' || v === 'true';
}

// Memoized: the path of a tracefs we found (tracefs does not unmount itself).
let cached: string | undefined;

/** Mount a pseudo filesystem with mount(2), as `mount -t <fstype> <source> <target>`. */
export function mountFs(fstype: string, source: string, target: string): void {
  if (!existsSync(target)) mkdirSync(target, { recursive: true });
  if (libcMount(source, target, fstype, 0, null) !== 0) {
    const e = lastErrno();
    throw new SyscallError('mount', e, `mounting ${fstype} on ${target}`);
  }
  log('mounted %s on %s', fstype, target);
}

/**
 * The tracefs mount point. Throws an AttachError naming what is missing and
 * the command that would fix it when tracefs is not mounted and mounting was
 * not allowed (or failed).
 */
export function tracefsPath(opts: TracefsOptions = {}): string {
  const paths = opts.paths ?? TRACEFS_PATHS;
  if (!opts.paths && cached !== undefined) return cached;
  for (const p of paths) {
    const t = fsType(p);
    // A tracefs mount, or (old kernels) tracing files directly inside debugfs.
    if (t === TRACEFS_MAGIC || (t === DEBUGFS_MAGIC && existsSync(join(p, 'events')))) {
      log('tracefs found at %s', p);
      if (!opts.paths) cached = p;
      return p;
    }
  }
  const target = paths[0]!;
  const fix = `mount -t tracefs nodev ${target}`;
  if (opts.mount ?? mountAllowedByEnv()) {
    try {
      mountFs('tracefs', 'nodev', target);
    } catch (e) {
      throw new AttachError('', 'tracefs', `tracefs is not mounted and mounting it failed (${(e as Error).message}): ${fix}`, { cause: e });
    }
    if (!opts.paths) cached = target;
    return target;
  }
  throw new AttachError('', 'tracefs', `tracefs is not mounted: ${fix} (or pass {mount: true} / set TSBPF_MOUNT=1)`);
}

/** The bpffs mount point for pins; mounts it when allowed, like tracefsPath. */
export function bpffsPath(opts: { mount?: boolean; path?: string } = {}): string {
  const p = opts.path ?? BPFFS_PATH;
  if (fsType(p) === BPF_FS_MAGIC) return p;
  if (opts.mount ?? mountAllowedByEnv()) {
    mountFs('bpf', 'bpf', p);
    return p;
  }
  throw new AttachError('', 'bpffs', `bpffs is not mounted: mount -t bpf bpf ${p} (or pass {mount: true} / set TSBPF_MOUNT=1)`);
}

