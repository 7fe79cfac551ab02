// The running kernel's BTF: /sys/kernel/btf/vmlinux, plus kernel modules' split
// BTF in /sys/kernel/btf/<module>.
//
// Cache: each file is read and parsed at most once per process; the Btf objects
// (lazy, read-only) are kept in a Map keyed by path until clearKernelBtfCache().
// This is one of the project's documented caches: the kernel's BTF does not change
// while we run, and parsing it costs milliseconds and 5+ MB.
//
// The bytes: files under /sys/kernel/btf are first mmapped read-only (Linux
// 6.16+ maps vmlinux's BTF pages straight into the process: one syscall, no copy;
// libbpf 1.6 does the same), else read with readFileRaw (sysfs serves them one
// page per read(); see src/syscall/file.ts). They are parsed lazily: the kernel
// validated its BTF when it loaded it, and most users need a few types out of
// ~126k (see parse.ts).
//
// A mapping is never unmapped: the Btf and every view it hands out (its words,
// strings, and whatever a caller kept) read straight from it, and reading
// unmapped memory kills the process (src/syscall/mem.ts). So a mapping lives as
// long as the process, also after clearKernelBtfCache() forgets its Btf; it
// costs address space only (the pages are the kernel's own), and a fresh
// mapping is made if the file is loaded again. Other paths (a blob copied from
// another kernel, for tests) are read, never mapped: a regular file truncated
// while mapped would turn reads into SIGBUS.
import { existsSync, readdirSync } from 'node:fs';
import { createLog } from '../util/log.ts';
import { readFileRaw, type Mapping } from '../syscall/index.ts';
import { mapFileReadOnly } from '../syscall/file.ts';
import { BtfError } from './errors.ts';
import { parseBtf, type Btf } from './parse.ts';

const log = createLog('tsbpf:btf');

export const KERNEL_BTF_DIR = '/sys/kernel/btf';
export const VMLINUX_BTF_PATH = `${KERNEL_BTF_DIR}/vmlinux`;

const cache = new Map<string, Btf>();
/** Every mapping made for kernel BTF, kept (never unmapped: see above). */
const mappings: Mapping[] = [];

/** The file's bytes: a read-only mapping when the kernel offers one (sysfs files only), else a copy. */
function kernelBtfBytes(path: string): Buffer {
  if (path.startsWith(`${KERNEL_BTF_DIR}/`)) {
    const m = mapFileReadOnly(path);
    if (m) {
      mappings.push(m);
      log('%s: mapped read-only (%d bytes)', path, m.length);
      return Buffer.from(m.buffer);
    }
  }
  return readFileRaw(path);
}

/** The kernel's BTF (cached). `path` points at another vmlinux BTF blob (e.g. a 6.1 kernel's, for tests). */
export function loadKernelBtf(opts: { path?: string } = {}): Btf {
  const path = opts.path ?? VMLINUX_BTF_PATH;
  let btf = cache.get(path);
  if (!btf) {
    let bytes: Buffer;
    try {
      bytes = kernelBtfBytes(path);
    } catch (e) {
      throw new BtfError(`cannot read kernel BTF ${path}: ${(e as Error).message}${path === VMLINUX_BTF_PATH ? ' (is CONFIG_DEBUG_INFO_BTF enabled?)' : ''}`);
    }
    btf = parseBtf(bytes, { name: path, lazy: true });
    cache.set(path, btf);
    log('kernel BTF %s: %d bytes', path, bytes.length);
  }
  return btf;
}

/** Names of kernel modules that expose BTF (empty without CONFIG_MODULES / module BTF). */
export function kernelModuleBtfNames(): string[] {
  if (!existsSync(KERNEL_BTF_DIR)) return [];
  return readdirSync(KERNEL_BTF_DIR).filter((n) => n !== 'vmlinux').sort();
}

/** A module's BTF, split on top of vmlinux's (cached). Returns undefined if the module has no BTF here. */
export function loadModuleBtf(module: string, opts: { base?: Btf; dir?: string } = {}): Btf | undefined {
  const path = `${opts.dir ?? KERNEL_BTF_DIR}/${module}`;
  const cached = cache.get(path);
  if (cached) return cached;
  if (!existsSync(path)) return undefined;
  const base = opts.base ?? loadKernelBtf();
  const btf = parseBtf(kernelBtfBytes(path), { base, name: path, lazy: true });
  cache.set(path, btf);
  log('module BTF %s: ids from %d', path, btf.startId);
  return btf;
}

/** Forget every cached kernel BTF (tests, or after pointing at other files). */
export function clearKernelBtfCache(): void {
  cache.clear();
}
