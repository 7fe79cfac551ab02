// uprobes and uretprobes (SEC("uprobe/<path>:<func>[+<off>]"), SEC("uretprobe/...")):
// the target is a file offset in an ELF file. A symbol becomes an offset
// through the file's symbol tables and program headers (elf_symbols.ts); a
// bare library name ("libc.so.6") becomes a path through /etc/ld.so.cache or,
// for a given pid, /proc/<pid>/maps. Then either the uprobe PMU (path address
// in config1, offset in config2, ref_ctr_offset in config's high bits) or
// legacy tracefs uprobe_events.
import createDebug from 'debug';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { SyscallError, addressOf, perfEventOpen, type FD } from '../syscall/index.ts';
import { ElfSymbolError, resolveSymbolOffset } from './elf_symbols.ts';
import { AttachError } from './errors.ts';
import { LegacyProbeLink, PerfEventLink, type AttachableProgram } from './link.ts';
import { attachToPerfEvent, type PerfAttachOptions } from './perf_attach.ts';
import { PMU_DIR, createLegacyEvent, legacyEventName, probePmu } from './probe_events.ts';
import { tracefsPath, type TracefsOptions } from './tracefs.ts';

const log = createDebug('tsbpf:attach');

export interface UprobeOptions extends PerfAttachOptions, TracefsOptions {
  /** Function to probe; its file offset is looked up in the binary. */
  symbol?: string;
  /** Byte offset: added to the symbol's offset, or the file offset itself without a symbol. */
  offset?: number | bigint;
  /** Only this process (default -1: every process that maps the file). */
  pid?: number;
  /** A return probe (uretprobe). */
  retprobe?: boolean;
  /** File offset of a USDT semaphore (reference counter) the kernel increments while probed. */
  refCtrOffset?: number | bigint;
  /** 'auto' (PMU, else tracefs), 'pmu' or 'legacy'. Default 'auto'. */
  mode?: 'auto' | 'pmu' | 'legacy';
}

// ---------------------------------------------------------------- ld.so.cache

const LDSO_CACHE = '/etc/ld.so.cache';
const CACHE_MAGIC_NEW = 'glibc-ld.so.cache1.1';
/** FLAG_ELF_LIBC6 | the arch's FLAG_*_LIB64 (glibc's elf/cache.h). */
const ARCH_FLAGS: Partial<Record<NodeJS.Architecture, number>> = { x64: 0x0303, arm64: 0x0a03, riscv64: 0x1003, ppc64: 0x0503, s390x: 0x0403 };

export interface LdCacheEntry {
  name: string;
  path: string;
  flags: number;
}

/** Parse /etc/ld.so.cache (the "glibc-ld.so.cache1.1" format, standalone or after the old one). */
export function parseLdCache(buf: Buffer): LdCacheEntry[] {
  const base = buf.indexOf(CACHE_MAGIC_NEW, 0, 'latin1');
  if (base < 0) return [];
  const nlibs = buf.readUInt32LE(base + 20);
  const out: LdCacheEntry[] = [];
  const str = (off: number): string => {
    const at = base + off;
    const end = buf.indexOf(0, at);
    return buf.toString('utf8', at, end < 0 ? buf.length : end);
  };
  for (let i = 0; i < nlibs; i++) {
    const o = base + 48 + i * 24;
    if (o + 24 > buf.length) break;
    out.push({ flags: buf.readInt32LE(o), name: str(buf.readUInt32LE(o + 4)), path: str(buf.readUInt32LE(o + 8)) });
  }
  return out;
}

let ldCache: LdCacheEntry[] | undefined;

/** The path ld.so would load for library `name` ("libc.so.6"), per /etc/ld.so.cache, or undefined. */
export function findLibrary(name: string): string | undefined {
  ldCache ??= existsSync(LDSO_CACHE) ? parseLdCache(readFileSync(LDSO_CACHE)) : [];
  const want = ARCH_FLAGS[process.arch];
  const hit = ldCache.find((e) => e.name === name && (want === undefined || e.flags === want)) ?? ldCache.find((e) => e.name === name);
  if (hit) return hit.path;
  for (const dir of ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib']) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The path of a file mapped by process `pid` whose name is `name` or starts with `name` ("libc" -> libc.so.6). */
export function findMappedLibrary(pid: number, name: string): string | undefined {
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of maps.split('\n')) {
    const path = line.split(/\s+/)[5];
    if (!path?.startsWith('/')) continue;
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (base === name || base.startsWith(`${name}.`) || base.startsWith(`${name}-`)) return path;
  }
  return undefined;
}

/**
 * Resolve the binary of a uprobe: a path (relative or absolute) as is; a
 * library name through the pid's maps and ld.so.cache; a program name
 * through $PATH. Throws an AttachError naming what was searched.
 */
export function resolveBinaryPath(binary: string, pid = -1, program = '', target = `uprobe ${binary}`): string {
  if (binary.includes('/')) {
    const p = resolve(binary);
    if (!existsSync(p)) throw new AttachError(program, target, `binary ${p} does not exist`);
    if (!statSync(p).isFile()) throw new AttachError(program, target, `${p} is not a regular file`);
    return p;
  }
  if (binary.includes('.so')) {
    // as ld.so (and libbpf): LD_LIBRARY_PATH before the cache
    const inLdPath = (process.env.LD_LIBRARY_PATH ?? '').split(delimiter).map((dir) => join(dir, binary)).find((p) => p !== binary && existsSync(p));
    const p = (pid > 0 ? findMappedLibrary(pid, binary) : undefined) ?? (inLdPath && resolve(inLdPath)) ?? findLibrary(binary);
    if (!p) throw new AttachError(program, target, `library ${binary} not found (not in ${pid > 0 ? `/proc/${pid}/maps, ` : ''}$LD_LIBRARY_PATH, ${LDSO_CACHE} or the standard library directories)`);
    return p;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, binary);
    if (dir && existsSync(p)) return p;
  }
  throw new AttachError(program, target, `binary ${binary} not found in $PATH`);
}

// ---------------------------------------------------------------- attach

/** Attach a uprobe (or, with `retprobe`, a uretprobe) program to `binary` at `symbol`/`offset`. */
export function attachUprobe(prog: AttachableProgram, binary: string, opts: UprobeOptions = {}): PerfEventLink {
  const retprobe = opts.retprobe ?? false;
  const pid = opts.pid ?? -1;
  const kind = retprobe ? 'uretprobe' : 'uprobe';
  const where = `${opts.symbol ?? ''}${opts.offset ? `${opts.symbol ? '+' : ''}0x${BigInt(opts.offset).toString(16)}` : ''}`;
  let target = `${kind} ${binary}:${where || '0'}`;
  const path = resolveBinaryPath(binary, pid, prog.name, target);
  if (path !== binary) target = `${kind} ${path}:${where || '0'}`;
  let offset = BigInt(opts.offset ?? 0);
  if (opts.symbol) {
    try {
      offset += resolveSymbolOffset(path, opts.symbol);
    } catch (e) {
      throw new AttachError(prog.name, target, e instanceof ElfSymbolError ? e.message : `reading ${path}: ${(e as Error).message}`, { cause: e });
    }
  } else if (opts.offset === undefined) {
    throw new AttachError(prog.name, target, 'a uprobe needs a symbol or an offset');
  }
  const refCtr = BigInt(opts.refCtrOffset ?? 0);
  const mode = opts.mode ?? 'auto';
  const pmu = probePmu('uprobe');
  log('%s: file offset 0x%s', target, offset.toString(16));

  if (mode === 'pmu' || (mode === 'auto' && pmu)) {
    if (!pmu) throw new AttachError(prog.name, target, `the uprobe PMU is absent (no ${PMU_DIR}/uprobe; CONFIG_UPROBE_EVENTS not set?)`);
    if (refCtr && pmu.refCtrShift === undefined) throw new AttachError(prog.name, target, 'this kernel does not support uprobe reference counters (no format/ref_ctr_offset)');
    let config = retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n;
    if (refCtr) config |= refCtr << BigInt(pmu.refCtrShift!);
    const pathBuf = Buffer.from(path + '\0');
    let perf: FD;
    try {
      perf = perfEventOpen({ type: pmu.type, config, config1: addressOf(pathBuf), config2: offset }, pid, pid === -1 ? 0 : -1, `creating ${target} through the uprobe PMU`);
    } catch (e) {
      const hint = e instanceof SyscallError && e.code === 'ESRCH' ? ` (no process ${pid})` : '';
      throw new AttachError(prog.name, target, (e as Error).message + hint, { cause: e });
    } finally {
      void pathBuf; // read by the kernel during the call
    }
    return attachToPerfEvent(prog, perf, target, opts, (p, l) => new PerfEventLink(prog.name, target, p, l));
  }

  let tracefs: string;
  try {
    tracefs = tracefsPath(opts);
  } catch (e) {
    throw new AttachError(prog.name, target, (e as AttachError).reason ?? String(e), { cause: e });
  }
  if (!existsSync(join(tracefs, 'uprobe_events')))
    throw new AttachError(prog.name, target, 'this kernel has no uprobe support: no uprobe PMU and tracefs has no uprobe_events (CONFIG_UPROBE_EVENTS not set)');
  const base = path.slice(path.lastIndexOf('/') + 1);
  const ev = legacyEventName(`${base}_${opts.symbol ?? ''}`, offset);
  const def = `${path}:0x${offset.toString(16)}${refCtr ? `(0x${refCtr.toString(16)})` : ''}`;
  const legacy = createLegacyEvent(tracefs, 'uprobe', retprobe, ev, def, prog.name, target, (err) => `writing ${tracefs}/uprobe_events failed: ${err.message}`, pid);
  return attachToPerfEvent(prog, legacy.perf, target, opts, (p, l) => new LegacyProbeLink(prog.name, target, p, l, legacy.event, legacy.remove));
}

/** attachUprobe with `retprobe: true`. */
export function attachUretprobe(prog: AttachableProgram, binary: string, opts: Omit<UprobeOptions, 'retprobe'> = {}): PerfEventLink {
  return attachUprobe(prog, binary, { ...opts, retprobe: true });
}
