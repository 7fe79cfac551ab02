// USDT probes (SEC("usdt/<path>:<provider>:<name>"), SEC("usdt") + attachUsdt):
// a uprobe at every call site of provider:name in an executable or shared
// library, as libbpf's usdt.c does, so that BPF code written against libbpf's
// <bpf/usdt.bpf.h> reads its arguments unchanged.
//
// usdt.bpf.h brings two maps into the object: `__bpf_usdt_specs` (array: spec
// id -> struct __bpf_usdt_spec, how to fetch each argument) and
// `__bpf_usdt_ip_to_spec_id` (hash: probe address -> spec id). At a probe the
// BPF side finds its spec id in the uprobe's BPF cookie, or, when the object
// was loaded with LINUX_HAS_BPF_COOKIE = n, by looking up the probe's
// absolute address. So attaching is:
//   1. read the binary's `.note.stapsdt` notes for provider:name (usdt_notes.ts);
//   2. per call site: address (prelink-adjusted through `.stapsdt.base`) ->
//      file offset through the PT_LOAD headers; semaphore address -> file
//      offset (the uprobe's ref_ctr_offset: the kernel counts attachments in it);
//   3. one spec id per distinct argument string of this attachment (ids are
//      recycled across attachments of one object: a UsdtManager per object);
//      write the specs, and without cookies the absolute addresses (for a
//      shared library or a PIE executable those need a pid: /proc/<pid>/maps);
//   4. a uprobe per call site with the spec id as its cookie.
// Destroying the link detaches the uprobes, removes its address entries and
// hands its spec ids back.
import createDebug from 'debug';
import { readFileSync, realpathSync } from 'node:fs';
import { ET_DYN, ET_EXEC } from '../elf/constants.ts';
import { BPF_NOEXIST, MapType, type BpfMap } from '../maps/index.ts';
import type { FD } from '../syscall/index.ts';
import { TsbpfError } from '../errors.ts';
import { HostElf } from './elf_symbols.ts';
import { AttachError } from './errors.ts';
import { Link, PerfEventLink, destroyLinks, type AttachableProgram } from './link.ts';
import type { TracefsOptions } from './tracefs.ts';
import { attachUprobe, resolveBinaryPath } from './uprobe.ts';
import {
  USDT_BASE_SECTION,
  USDT_NOTE_SECTION,
  USDT_SPEC_SIZE,
  UsdtError,
  encodeUsdtSpec,
  parseUsdtArgs,
  parseUsdtNotes,
  resolveRipRelative,
  type UsdtArg,
  type UsdtNote,
} from './usdt_notes.ts';

const log = createDebug('tsbpf:attach');

/** The map names <bpf/usdt.bpf.h> declares. */
export const USDT_SPECS_MAP = '__bpf_usdt_specs';
export const USDT_IP_MAP = '__bpf_usdt_ip_to_spec_id';

const PF_X = 1;

export interface UsdtOptions extends TracefsOptions {
  /** The executable or shared library: a path, a library name ("libc.so.6") or a program on $PATH. */
  path: string;
  provider: string;
  name: string;
  /** Only this process (default -1: every process; 0: this process). */
  pid?: number;
  /** The value bpf_usdt_cookie() returns for this attachment (default 0). */
  cookie?: bigint;
  /** uprobe creation path (default 'auto'). */
  mode?: 'auto' | 'pmu' | 'legacy';
  /** Attach each uprobe with PERF_EVENT_IOC_SET_BPF instead of a BPF link (needs useCookie false). */
  forceIoctl?: boolean;
}

/** One call site of a probe, placed in its file. */
export interface UsdtSite {
  note: UsdtNote;
  /** Link-time address of the nop, prelink-adjusted. */
  address: bigint;
  /** Where the uprobe goes: the file offset of the nop. */
  fileOffset: bigint;
  /** File offset of the semaphore (ref_ctr_offset), 0 without one. */
  semaphoreOffset: bigint;
  /** The arguments, symbol-relative operands resolved. */
  args: UsdtArg[];
}

export interface UsdtProbes {
  path: string;
  /** ET_EXEC or ET_DYN (shared library or PIE executable). */
  elfType: number;
  sites: UsdtSite[];
}

/**
 * Every call site of `provider:name` in the ELF file `path` (all probes when
 * both are omitted). Throws UsdtError naming the file, probe and reason.
 */
export function findUsdtProbes(path: string, provider?: string, name?: string): UsdtProbes {
  const elf = new HostElf(path);
  try {
    if (elf.type !== ET_EXEC && elf.type !== ET_DYN) throw new UsdtError(`${path}: ELF type ${elf.type} is neither an executable nor a shared library`);
    const data = elf.readSection(USDT_NOTE_SECTION);
    if (!data) throw new UsdtError(`${path} has no ${USDT_NOTE_SECTION} section: it defines no USDT probes`);
    const notes = parseUsdtNotes(data, `${path} ${USDT_NOTE_SECTION}`);
    const base = elf.section(USDT_BASE_SECTION)?.addr ?? 0n;
    const segment = (addr: bigint) => elf.segments.find((s) => addr >= s.vaddr && addr < s.vaddr + s.memsz);
    const sites: UsdtSite[] = [];
    for (const note of notes) {
      if ((provider !== undefined && note.provider !== provider) || (name !== undefined && note.name !== name)) continue;
      const probe = `${note.provider}:${note.name}`;
      // prelink moves sections but not the (unallocated) notes: .stapsdt.base tells by how much
      const shift = base && note.base ? base - note.base : 0n;
      const address = note.location + shift;
      const seg = segment(address);
      if (!seg) throw new UsdtError(`${path}: probe ${probe} at 0x${address.toString(16)} lies in no PT_LOAD segment`);
      if (!(seg.flags & PF_X)) throw new UsdtError(`${path}: probe ${probe} at 0x${address.toString(16)} lies in a segment that is not executable`);
      let semaphoreOffset = 0n;
      if (note.semaphore) {
        const sema = note.semaphore + shift;
        const sseg = segment(sema);
        if (!sseg || sseg.flags & PF_X) throw new UsdtError(`${path}: the semaphore of ${probe} at 0x${sema.toString(16)} lies in no writable PT_LOAD segment`);
        semaphoreOffset = sema - sseg.vaddr + sseg.offset;
      }
      let args: UsdtArg[];
      try {
        args = parseUsdtArgs(note.args).map((a) => {
          if (a.symbol === undefined) return a;
          const sym = elf.findSymbol(a.symbol);
          if (!sym) throw new UsdtError(`argument "${a.text}": symbol ${a.symbol} is not in the symbol tables`);
          return resolveRipRelative(a, sym.value + shift, address);
        });
      } catch (e) {
        throw e instanceof UsdtError ? new UsdtError(`${path}: probe ${probe} at 0x${address.toString(16)}: ${e.message}`) : e;
      }
      sites.push({ note, address, fileOffset: address - seg.vaddr + seg.offset, semaphoreOffset, args });
    }
    return { path, elfType: elf.type, sites };
  } finally {
    elf.close();
  }
}

/** The names of every probe in `path` ("provider:name"), for messages. */
function probeNames(path: string): string[] {
  try {
    return [...new Set(findUsdtProbes(path).sites.map((s) => `${s.note.provider}:${s.note.name}`))];
  } catch {
    return [];
  }
}

/**
 * Executable mappings of `path` in process `pid` (from /proc/<pid>/maps):
 * [start, end) at file offset `offset`. libbpf's parse_vma_segs.
 */
export function executableMappings(pid: number, path: string): { start: bigint; end: bigint; offset: bigint }[] {
  // A binary reached through the process's root (/proc/<pid>/root/usr/bin/x,
  // a container's) appears in its maps by its path inside that root.
  const inRoot = `/proc/${pid}/root/`;
  let real = path.startsWith(inRoot) ? path.slice(inRoot.length - 1) : path;
  if (real === path) {
    try {
      real = realpathSync(path);
    } catch {
      // compare the path as given
    }
  }
  const out: { start: bigint; end: bigint; offset: bigint }[] = [];
  for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    // "7f5c6f5d8000-7f5c6f5d9000 r-xp 00000000 103:01 362990598   /usr/lib/libfoo.so"
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+\s+(.*)$/.exec(line);
    if (!m || m[3]![2] !== 'x' || m[5] !== real) continue;
    out.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), offset: BigInt(`0x${m[4]}`) });
  }
  return out;
}

// ---------------------------------------------------------------- manager

export interface UsdtManagerOptions {
  /** The object's `__bpf_usdt_specs` map. */
  specs: BpfMap;
  /** The object's `__bpf_usdt_ip_to_spec_id` map. */
  ipToSpecId: BpfMap;
  /**
   * Spec ids travel in BPF cookies (the object's LINUX_HAS_BPF_COOKIE is y);
   * false: in the address map, keyed by each probe's absolute address.
   */
  useCookie: boolean;
}

/**
 * The USDT state of one loaded object: its two maps and which spec ids are
 * in use. One per object (BpfObject keeps it), like libbpf's usdt_manager.
 */
export class UsdtManager {
  readonly specs: BpfMap;
  readonly ipToSpecId: BpfMap;
  readonly useCookie: boolean;
  readonly #free: number[] = [];
  #next = 0;

  constructor(opts: UsdtManagerOptions) {
    const check = (m: BpfMap, type: MapType, key: number, value: number) => {
      if (m.type !== type || m.keySize !== key || m.valueSize !== value)
        throw new UsdtError(`map "${m.name}" is not the map <bpf/usdt.bpf.h> declares (want ${MapType[type]}, key ${key} bytes, value ${value} bytes; have ${MapType[m.type] ?? m.type}, ${m.keySize}, ${m.valueSize})`);
    };
    check(opts.specs, MapType.BPF_MAP_TYPE_ARRAY, 4, USDT_SPEC_SIZE);
    check(opts.ipToSpecId, MapType.BPF_MAP_TYPE_HASH, 8, 4);
    this.specs = opts.specs;
    this.ipToSpecId = opts.ipToSpecId;
    this.useCookie = opts.useCookie;
  }

  /** Spec ids in use (for tests and messages). */
  get idsInUse(): number {
    return this.#next - this.#free.length;
  }

  #allocate(): number | undefined {
    if (this.#free.length) return this.#free.pop();
    if (this.#next >= this.specs.maxEntries) return undefined;
    return this.#next++;
  }

  /** @internal Spec ids back into the pool (UsdtLink.destroy). */
  release(ids: readonly number[]): void {
    this.#free.push(...ids);
  }

  /** Attach `prog` at every call site of opts.provider:opts.name in opts.path. */
  attach(prog: AttachableProgram, opts: UsdtOptions): UsdtLink {
    const pid = opts.pid === undefined || opts.pid < 0 ? -1 : opts.pid === 0 ? process.pid : opts.pid;
    let target = `usdt ${opts.path}:${opts.provider}:${opts.name}${pid > 0 ? ` (pid ${pid})` : ''}`;
    const path = resolveBinaryPath(opts.path, pid, prog.name, target);
    if (path !== opts.path) target = `usdt ${path}:${opts.provider}:${opts.name}${pid > 0 ? ` (pid ${pid})` : ''}`;
    let probes: UsdtProbes;
    try {
      probes = findUsdtProbes(path, opts.provider, opts.name);
    } catch (e) {
      throw new AttachError(prog.name, target, (e as Error).message, { cause: e });
    }
    if (probes.sites.length === 0) {
      const have = probeNames(path);
      throw new AttachError(prog.name, target, `${path} has no USDT probe ${opts.provider}:${opts.name} (it has: ${have.join(', ') || 'none'})`);
    }
    if (this.useCookie && opts.forceIoctl) {
      throw new AttachError(prog.name, target, 'the object reads spec ids from BPF cookies (LINUX_HAS_BPF_COOKIE), which PERF_EVENT_IOC_SET_BPF cannot set');
    }

    // Absolute addresses, for the address map (no cookies).
    let mappings: { start: bigint; end: bigint; offset: bigint }[] | undefined;
    const absolute = (site: UsdtSite): bigint => {
      if (probes.elfType === ET_EXEC) return site.address;
      if (pid < 0)
        throw new AttachError(prog.name, target, `${path} is position-independent: without BPF cookies (LINUX_HAS_BPF_COOKIE = n) its probe addresses are only known in a given process; pass a pid`);
      try {
        mappings ??= executableMappings(pid, path);
      } catch (e) {
        throw new AttachError(prog.name, target, `cannot read /proc/${pid}/maps: ${(e as Error).message}`, { cause: e });
      }
      const m = mappings.find((v) => site.fileOffset >= v.offset && site.fileOffset < v.offset + (v.end - v.start));
      if (!m) throw new AttachError(prog.name, target, `process ${pid} has no executable mapping of ${path} covering file offset 0x${site.fileOffset.toString(16)}`);
      return m.start - m.offset + site.fileOffset;
    };

    const link = new UsdtLink(prog.name, target, this);
    // Sites with identical specs share an id. (libbpf keys on the argument
    // string; a symbol-relative operand reads differently at each site, so
    // the key here is the encoded spec itself.)
    const idBySpec = new Map<string, number>();
    try {
      for (const site of probes.sites) {
        const spec = encodeUsdtSpec(site.args, opts.cookie ?? 0n);
        const key = Buffer.from(spec).toString('hex');
        let id = idBySpec.get(key);
        if (id === undefined) {
          id = this.#allocate();
          if (id === undefined)
            throw new AttachError(prog.name, target, `all ${this.specs.maxEntries} USDT spec ids of map "${USDT_SPECS_MAP}" are in use (raise BPF_USDT_MAX_SPEC_CNT, or its max_entries before load)`);
          link.specIds.push(id);
          idBySpec.set(key, id);
          this.specs.update(id, spec);
        }
        if (!this.useCookie) {
          const ip = absolute(site);
          try {
            this.ipToSpecId.update(ip, id, BPF_NOEXIST);
          } catch (e) {
            const taken = e instanceof TsbpfError && e.code === 'EEXIST';
            throw new AttachError(prog.name, target, taken ? `address 0x${ip.toString(16)} is already attached by another USDT link of this object` : (e as Error).message, { cause: e });
          }
          link.addresses.push(ip);
        }
        log('%s: site 0x%s (file offset 0x%s, semaphore 0x%s), spec %d "%s"', target, site.address.toString(16), site.fileOffset.toString(16), site.semaphoreOffset.toString(16), id, site.note.args);
        link.uprobes.push(
          attachUprobe(prog, path, {
            offset: site.fileOffset,
            pid,
            refCtrOffset: site.semaphoreOffset,
            cookie: this.useCookie ? BigInt(id) : undefined,
            mode: opts.mode,
            forceIoctl: opts.forceIoctl,
            mount: opts.mount,
            paths: opts.paths,
          }),
        );
      }
    } catch (e) {
      link.destroy();
      throw e instanceof AttachError ? e : new AttachError(prog.name, target, (e as Error).message, { cause: e });
    }
    log('attached "%s" to %s: %d sites, %d specs', prog.name, target, link.uprobes.length, link.specIds.length);
    return link;
  }
}

// ---------------------------------------------------------------- link

/**
 * One USDT attachment: a uprobe link per call site, the spec ids it holds
 * and, without cookies, the addresses it entered in the address map.
 */
export class UsdtLink extends Link {
  readonly #manager: UsdtManager;
  /** @internal */
  readonly uprobes: PerfEventLink[] = [];
  /** @internal */
  readonly specIds: number[] = [];
  /** @internal */
  readonly addresses: bigint[] = [];

  constructor(program: string, target: string, manager: UsdtManager) {
    super(program, target);
    this.#manager = manager;
  }

  /** Number of call sites attached. */
  get sites(): number {
    return this.uprobes.length;
  }

  /** The first call site's link fd (a USDT link is many uprobes; see `links`). */
  get fd(): number {
    const first = this.uprobes[0];
    if (!first) throw new AttachError(this.program, this.target, 'the USDT link has no uprobes');
    return first.fd;
  }

  /** The per-site uprobe links. */
  get links(): readonly PerfEventLink[] {
    return this.uprobes;
  }

  protected closeOrder(): FD[] {
    return [];
  }

  // The uprobes go first (no probe fires with a spec that is gone), then
  // the map entries and ids. Maps closed by an earlier destroy of the object
  // have nothing left to clean.
  protected override cleanup(): void {
    let first: unknown;
    for (const l of this.uprobes) {
      try {
        l.destroy();
      } catch (e) {
        first ??= e;
      }
    }
    if (!this.#manager.ipToSpecId.closed) for (const ip of this.addresses) this.#manager.ipToSpecId.delete(ip);
    this.#manager.release(this.specIds.splice(0));
    if (first !== undefined) throw first;
  }

  /** Closes the uprobes concurrently (each close waits for RCU), then releases the rest. */
  override async destroyAsync(): Promise<void> {
    if (this.destroyed) return;
    await destroyLinks(this.uprobes);
    this.destroy();
  }
}

/** Attach through `manager` (the object's: BpfObject.attachUsdt() passes its own). */
export function attachUsdt(prog: AttachableProgram, opts: UsdtOptions & { manager: UsdtManager }): UsdtLink {
  return opts.manager.attach(prog, opts);
}
