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
//
// The type index on disk. CO-RE's candidate search needs the header pass over
// all of vmlinux's types (parse.ts): ~5 ms of a fresh process (a cold JS loop
// over 126k types), the largest part of a CO-RE load that is ours. vmlinux's
// BTF cannot change before a reboot, so the pass's result (offsets, kinds and
// keys: ~1.1 MB) is kept in the cache directory (src/util/disk_cache.ts, same
// trust rules), named for the boot (/proc/sys/kernel/random/boot_id) and the
// blob's size and header, and handed to the next process's parseBtf, which
// checks a sample of it against the blob before adopting it. The process that
// made the pass writes it once the pass is complete: at exit, or INDEX_WRITE_AFTER_MS
// after the load, whichever comes first. Only vmlinux's (modules come and go
// within a boot). TSBPF_BTF_INDEX_CACHE=0 turns it off; DEBUG=tsbpf:btf narrates.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLog } from '../util/log.ts';
import { cacheDirectory, nameDigest, readCacheFile, trustDirectory, writeCacheFile } from '../util/disk_cache.ts';
import { readFileRaw, type Mapping } from '../syscall/index.ts';
import { mapFileReadOnly } from '../syscall/file.ts';
import { BtfError } from './errors.ts';
import { parseBtf, type Btf, type BtfHeaderIndex } from './parse.ts';

const log = createLog('tsbpf:btf');

export const KERNEL_BTF_DIR = '/sys/kernel/btf';
export const VMLINUX_BTF_PATH = `${KERNEL_BTF_DIR}/vmlinux`;

const cache = new Map<string, Btf>();
/** Every mapping made for kernel BTF, kept (never unmapped: see above). */
const mappings: Mapping[] = [];

const INDEX_MAGIC = 0x58494254; // 'TBIX'
/** Bump when the index's layout or the meaning of its keys changes (parse.ts). */
const INDEX_FORMAT = 1;
const INDEX_WRITE_AFTER_MS = 1000;
/** Indexes of earlier boots are removed when a new one is written, once this old. */
const INDEX_PRUNE_AFTER_DAYS = 1;
/** The vmlinux Btf whose index is to be written (made without one), until it is. */
let indexToWrite: { btf: Btf; dir: string; name: string } | undefined;

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
    const indexed = path === VMLINUX_BTF_PATH ? indexFile(bytes) : undefined;
    const index = indexed && readIndex(indexed.dir, indexed.name);
    btf = parseBtf(bytes, { name: path, lazy: true, index });
    cache.set(path, btf);
    log('kernel BTF %s: %d bytes', path, bytes.length);
    if (indexed && !btf.headerIndex()) scheduleIndexWrite(btf, indexed.dir, indexed.name);
  }
  return btf;
}

/** Where vmlinux's type index lives for this boot and blob, or undefined (turned off, untrusted, no boot id). */
function indexFile(bytes: Uint8Array): { dir: string; name: string } | undefined {
  const where = cacheDirectory('TSBPF_BTF_INDEX_CACHE');
  const refusal = typeof where === 'string' ? trustDirectory(where) : where.refusal;
  if (refusal !== undefined) {
    log('type index not used: %s', refusal);
    return undefined;
  }
  let boot: string;
  try {
    boot = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
  } catch (e) {
    log('type index not used: no boot id (%s)', (e as Error).message);
    return undefined;
  }
  const header = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 24)).toString('hex');
  return { dir: where as string, name: `tsbpf-${nameDigest(`${INDEX_FORMAT}\0${boot}\0${bytes.length}\0${header}\0${process.arch}`)}.btfindex` };
}

/** The index in `dir`/`name`: [magic, count] as u32, then count offsets (u32), keys (u32), kinds (u8). */
function readIndex(dir: string, name: string): BtfHeaderIndex | undefined {
  const got = readCacheFile(join(dir, name));
  if (typeof got === 'string') {
    log('type index %s: %s', name, got);
    return undefined;
  }
  // a fresh (unpooled) Buffer of this size starts at offset 0 of its own memory: aligned for the u32 views
  const n = got.length >= 8 && got.byteOffset % 4 === 0 ? got.readUInt32LE(4) : -1;
  if (n < 0 || got.readUInt32LE(0) !== INDEX_MAGIC || got.length !== 8 + 9 * n) {
    log('type index %s: malformed (%d bytes), ignored', name, got.length);
    return undefined;
  }
  const at = got.byteOffset + 8;
  log('type index %s: read (%d types)', name, n);
  return {
    offsets: new Uint32Array(got.buffer, at, n),
    keys: new Uint32Array(got.buffer, at + 4 * n, n),
    kinds: new Uint8Array(got.buffer, at + 8 * n, n),
  };
}

/** Write `btf`'s index once its header pass is complete: at exit, or INDEX_WRITE_AFTER_MS from now (whichever comes first). */
function scheduleIndexWrite(btf: Btf, dir: string, name: string): void {
  const first = indexToWrite === undefined;
  indexToWrite = { btf, dir, name };
  if (!first) return; // the handlers below are in place already
  const write = (): void => {
    const pending = indexToWrite;
    const index = pending?.btf.headerIndex();
    if (!pending || !index) return; // no complete pass (yet)
    indexToWrite = undefined;
    const n = index.offsets.length;
    const data = new Uint8Array(8 + 9 * n);
    const dv = new DataView(data.buffer);
    dv.setUint32(0, INDEX_MAGIC, true);
    dv.setUint32(4, n, true);
    data.set(new Uint8Array(index.offsets.buffer, index.offsets.byteOffset, 4 * n), 8);
    data.set(new Uint8Array(index.keys.buffer, index.keys.byteOffset, 4 * n), 8 + 4 * n);
    data.set(index.kinds, 8 + 8 * n);
    try {
      writeCacheFile(pending.dir, pending.name, data, INDEX_PRUNE_AFTER_DAYS);
      log('type index %s written (%d types)', pending.name, n);
    } catch (e) {
      log('type index %s not written: %s', pending.name, (e as Error).message);
    }
  };
  process.once('exit', write);
  setTimeout(write, INDEX_WRITE_AFTER_MS).unref();
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
