// uprobe.multi and uretprobe.multi (SEC("uprobe.multi/<path>:<pattern>"),
// SEC("uretprobe.multi/<path>:<pattern>")): one BPF link
// (BPF_LINK_TYPE_UPROBE_MULTI, Linux 6.6+) attaches one program to many
// places in one ELF file, each with its own bpf_get_attach_cookie() value
// and optional USDT semaphore (ref_ctr_offset). Places are given as function
// names, as a glob pattern over the file's function symbols (.symtab and
// .dynsym, as libbpf), or as file offsets.
import { createLog } from '../util/log.ts';
import { release } from 'node:os';
import { NotSupportedError, UsageError } from '../errors.ts';
import { BpfAttachType } from '../prog/index.ts';
import { EINVAL, EOPNOTSUPP, SyscallError, addressOf, linkCreate, type FD } from '../syscall/index.ts';
import { ElfSymbolError, HostElf } from './elf_symbols.ts';
import { AttachError } from './errors.ts';
import { globMatch } from './kprobe_multi.ts';
import { BpfLink, type AttachableProgram } from './link.ts';
import { resolveBinaryPath } from './uprobe.ts';
import { BPF_F_UPROBE_MULTI_RETURN } from '../uapi/kernel.ts';

const log = createLog('tsbpf:attach');

/** BPF_F_UPROBE_MULTI_RETURN: the link's probes are return probes. */
export { BPF_F_UPROBE_MULTI_RETURN };

export interface UprobeMultiOptions {
  /** Function names in the binary. */
  syms?: readonly string[];
  /** A glob ('*', '?') over the binary's function symbols. */
  pattern?: string;
  /** File offsets in the binary. */
  offsets?: readonly (bigint | number)[];
  /** One USDT semaphore file offset per place (0 = none). */
  refCtrOffsets?: readonly (bigint | number)[];
  /** One bpf_get_attach_cookie() value per place (not with a pattern). */
  cookies?: readonly bigint[];
  /** Only this process (default: every process that maps the file). */
  pid?: number;
  /** Return probes (uretprobe.multi). */
  retprobe?: boolean;
}

/** An uprobe.multi link: one fd, closing it removes every probe. */
export class UprobeMultiLink extends BpfLink {
  /** The resolved binary path. */
  readonly binary: string;
  /** The probed file offsets, in the order given. */
  readonly offsets: readonly bigint[];
  constructor(program: string, target: string, fd: FD, binary: string, offsets: bigint[]) {
    super(program, target, fd);
    this.binary = binary;
    this.offsets = offsets;
  }
}

/** Function name without its symbol version ("malloc@@GLIBC_2.2.5" -> "malloc"). */
const unversioned = (name: string): string => (name.includes('@') ? name.slice(0, name.indexOf('@')) : name);

/**
 * File offsets of the functions of ELF `path` matching glob `pattern`, one per
 * distinct name and per distinct offset (an alias or a versioned duplicate
 * of a function already taken adds nothing), in symbol table order.
 */
export function resolveUprobePattern(path: string, pattern: string): { name: string; offset: bigint }[] {
  const elf = new HostElf(path);
  try {
    const out: { name: string; offset: bigint }[] = [];
    const names = new Set<string>();
    const offsets = new Set<bigint>();
    for (const s of elf.functions()) {
      const name = unversioned(s.name);
      if (names.has(name) || !globMatch(pattern, name)) continue;
      const off = elf.vaddrToOffset(s.value);
      if (off === undefined || offsets.has(off)) continue;
      names.add(name);
      offsets.add(off);
      out.push({ name, offset: off });
    }
    return out;
  } finally {
    elf.close();
  }
}

/** File offsets of named functions of ELF `path`; throws ElfSymbolError naming the missing ones. */
export function resolveUprobeSyms(path: string, syms: readonly string[]): bigint[] {
  const elf = new HostElf(path);
  try {
    const missing: string[] = [];
    const out = syms.map((name) => {
      const s = elf.findFunction(name);
      const off = s && elf.vaddrToOffset(s.value);
      if (off === undefined) missing.push(name);
      return off ?? 0n;
    });
    if (missing.length) throw new ElfSymbolError(`function${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found in ${path} (.symtab, .dynsym)`);
    return out;
  } finally {
    elf.close();
  }
}

/** Attach an uprobe.multi (or, with `retprobe`, uretprobe.multi) program to many places in `binary`. */
export function attachUprobeMulti(prog: AttachableProgram, binary: string, opts: UprobeMultiOptions): UprobeMultiLink {
  const retprobe = opts.retprobe ?? false;
  const kind = retprobe ? 'uretprobe.multi' : 'uprobe.multi';
  const given = [opts.syms && 'syms', opts.offsets && 'offsets', opts.pattern !== undefined && 'pattern'].filter(Boolean);
  if (given.length !== 1) throw new UsageError(`program "${prog.name}": ${kind} needs exactly one of syms, offsets or pattern (got ${given.join(', ') || 'none'})`);
  let what = opts.pattern ?? (opts.syms ? opts.syms.join(',') : `${opts.offsets!.length} offsets`);
  if (what.length > 100) what = `${what.slice(0, 97)}...`;
  const target = `${kind} ${binary}:${what}`;
  if (opts.pattern !== undefined && opts.cookies) throw new UsageError(`program "${prog.name}": ${target}: cookies need syms or offsets (a pattern's order is the symbol table's)`);
  const pid = opts.pid ?? 0;
  if (!Number.isInteger(pid) || pid < 0) throw new UsageError(`program "${prog.name}": ${target}: pid ${pid} is not a process id`);

  const path = resolveBinaryPath(binary, pid > 0 ? pid : -1, prog.name, target);
  let offsets: bigint[];
  try {
    if (opts.pattern !== undefined) {
      if (!opts.pattern) throw new UsageError(`program "${prog.name}": ${kind} pattern is empty`);
      const found = resolveUprobePattern(path, opts.pattern);
      if (found.length === 0) throw new AttachError(prog.name, target, `pattern "${opts.pattern}" matches no function in ${path}`);
      log('%s: pattern %s matched %d functions in %s', prog.name, opts.pattern, found.length, path);
      offsets = found.map((f) => f.offset);
    } else if (opts.syms) offsets = resolveUprobeSyms(path, opts.syms);
    else offsets = opts.offsets!.map((o) => BigInt(o));
  } catch (e) {
    if (e instanceof ElfSymbolError) throw new AttachError(prog.name, target, e.message, { cause: e });
    throw e;
  }
  const cnt = offsets.length;
  if (cnt === 0) throw new UsageError(`program "${prog.name}": ${target}: the list of places is empty`);
  for (const [name, arr] of [
    ['cookies', opts.cookies],
    ['refCtrOffsets', opts.refCtrOffsets],
  ] as const) {
    if (arr && arr.length !== cnt) throw new UsageError(`program "${prog.name}": ${target}: ${arr.length} ${name} for ${cnt} places (one per place)`);
  }

  const pathBuf = Buffer.from(`${path}\0`, 'utf8');
  const offArr = BigUint64Array.from(offsets);
  const refArr = opts.refCtrOffsets ? BigUint64Array.from(opts.refCtrOffsets, (x) => BigInt(x)) : undefined;
  const cookieArr = opts.cookies ? BigUint64Array.from(opts.cookies) : undefined;
  try {
    const fd = linkCreate(
      {
        prog_fd: prog.fd,
        target_fd: 0,
        attach_type: BpfAttachType.BPF_TRACE_UPROBE_MULTI,
        uprobe_multi_path: addressOf(pathBuf),
        uprobe_multi_offsets: addressOf(offArr),
        uprobe_multi_ref_ctr_offsets: refArr ? addressOf(refArr) : 0n,
        uprobe_multi_cookies: cookieArr ? addressOf(cookieArr) : 0n,
        uprobe_multi_cnt: cnt,
        uprobe_multi_flags: retprobe ? BPF_F_UPROBE_MULTI_RETURN : 0,
        uprobe_multi_pid: pid,
      },
      `attaching program "${prog.name}" to ${target}`,
    );
    return new UprobeMultiLink(prog.name, target, fd, path, offsets);
  } catch (e) {
    throw uprobeMultiError(e, prog.name, target);
  }
}

function uprobeMultiError(e: unknown, program: string, target: string): Error {
  if (!(e instanceof SyscallError)) return e as Error;
  const m = /^(\d+)\.(\d+)/.exec(release());
  const old = m ? Number(m[1]) < 6 || (Number(m[1]) === 6 && Number(m[2]) < 6) : false;
  // Before 6.6 the attach type is unknown (EINVAL); without CONFIG_UPROBES the kernel answers EOPNOTSUPP.
  if ((e.errno === EINVAL && old) || e.errno === EOPNOTSUPP) {
    const why = old ? `uprobe.multi links need Linux 6.6+, this is ${release()}` : `this kernel (${release()}) was built without CONFIG_UPROBES`;
    return new NotSupportedError('uprobe.multi links', `program "${program}": cannot attach to ${target}: ${why} (BPF_LINK_CREATE said ${e.code})`, { cause: e });
  }
  return new AttachError(program, target, e.message, { cause: e });
}
