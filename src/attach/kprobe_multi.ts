// kprobe.multi and kretprobe.multi (SEC("kprobe.multi/<pattern>"),
// SEC("kretprobe.multi/<pattern>")): one BPF link (BPF_LINK_TYPE_KPROBE_MULTI,
// Linux 5.18+ built with CONFIG_FPROBE) attaches one program to many kernel
// functions at once, each with its own bpf_get_attach_cookie() value. The
// functions are given as names, as addresses, or as a glob pattern that is
// resolved here the way libbpf does: against tracefs's
// available_filter_functions_addrs (6.5+, every instance of a name with its
// address) or available_filter_functions (names only), the functions ftrace
// can actually trace.
import createDebug from 'debug';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { NotSupportedError, UsageError } from '../errors.ts';
import { BpfAttachType } from '../prog/index.ts';
import { EINVAL, ENOENT, EOPNOTSUPP, ESRCH, SyscallError, addressOf, linkCreate, type FD } from '../syscall/index.ts';
import { AttachError } from './errors.ts';
import { kernelSymbolExists } from '../features/index.ts';
import { BpfLink, type AttachableProgram } from './link.ts';
import { tracefsPath, type TracefsOptions } from './tracefs.ts';

const log = createDebug('tsbpf:attach');

/** BPF_F_KPROBE_MULTI_RETURN: the link's probes are return probes. */
export const BPF_F_KPROBE_MULTI_RETURN = 1;

export interface KprobeMultiOptions extends TracefsOptions {
  /** Kernel function names. */
  syms?: readonly string[];
  /** Kernel function addresses (as /proc/kallsyms gives them). */
  addrs?: readonly bigint[];
  /** A glob ('*' any run, '?' one character) over the traceable functions. */
  pattern?: string;
  /** One bpf_get_attach_cookie() value per symbol or address (not with a pattern). */
  cookies?: readonly bigint[];
  /** Return probes (kretprobe.multi). */
  retprobe?: boolean;
}

/** A kprobe.multi link: one fd, closing it detaches every probe. */
export class KprobeMultiLink extends BpfLink {
  /** How many functions the link probes. */
  readonly count: number;
  constructor(program: string, target: string, fd: FD, count: number) {
    super(program, target, fd);
    this.count = count;
  }
}

/** Does `name` match glob `pattern` ('*' any run of characters, '?' exactly one)? */
export function globMatch(pattern: string, name: string): boolean {
  // iterative matcher with one backtrack point (the last '*')
  let p = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++mark;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

function readTracefsFile(file: string, pattern: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new AttachError('', `kprobe.multi ${pattern}`, `cannot read ${file} to resolve the pattern (${code}${code === 'EPERM' ? ': refused by the kernel\'s policy' : ''})`, { cause: e });
  }
}

/** What a pattern resolved to: addresses (every instance) or names. */
export type KprobeTargets = { addrs: bigint[]; syms?: undefined } | { syms: string[]; addrs?: undefined };

/**
 * The traceable kernel functions matching `pattern`, as libbpf finds them:
 * addresses from available_filter_functions_addrs when the kernel has it,
 * else names from available_filter_functions (each once). Lines look like
 * "name", "name [module]" or "ffffffff81001000 name [module]".
 */
export function resolveKprobePattern(pattern: string, opts: TracefsOptions = {}): KprobeTargets {
  const root = tracefsPath(opts);
  // ftrace's placeholder for records of functions that went away
  const skip = (name: string) => name.startsWith('__ftrace_invalid_address__');
  const withAddrs = join(root, 'available_filter_functions_addrs');
  if (existsSync(withAddrs)) {
    const addrs: bigint[] = [];
    for (const line of readTracefsFile(withAddrs, pattern).split('\n')) {
      const [addr, name] = line.split(/\s+/);
      if (addr && name && !skip(name) && globMatch(pattern, name)) addrs.push(BigInt(`0x${addr}`));
    }
    return { addrs };
  }
  const file = join(root, 'available_filter_functions');
  if (!existsSync(file)) throw new AttachError('', `kprobe.multi ${pattern}`, `${file} does not exist: this kernel has no function tracer (CONFIG_FUNCTION_TRACER)`);
  const syms = new Set<string>();
  for (const line of readTracefsFile(file, pattern).split('\n')) {
    const name = line.split(/\s+/)[0];
    if (name && !skip(name) && globMatch(pattern, name)) syms.add(name);
  }
  return { syms: [...syms] };
}

/** Linux major.minor from a release string ("6.1.0-50-amd64" -> [6, 1]). */
function kernelVersion(rel = release()): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/** Attach a kprobe.multi (or, with `retprobe`, kretprobe.multi) program to many kernel functions. */
export function attachKprobeMulti(prog: AttachableProgram, opts: KprobeMultiOptions): KprobeMultiLink {
  const retprobe = opts.retprobe ?? false;
  const kind = retprobe ? 'kretprobe.multi' : 'kprobe.multi';
  const given = [opts.syms && 'syms', opts.addrs && 'addrs', opts.pattern !== undefined && 'pattern'].filter(Boolean);
  if (given.length !== 1) throw new UsageError(`program "${prog.name}": ${kind} needs exactly one of syms, addrs or pattern (got ${given.join(', ') || 'none'})`);
  let target = `${kind} ${opts.pattern ?? (opts.syms ? opts.syms.join(',') : `${opts.addrs!.length} addresses`)}`;
  if (target.length > 120) target = `${target.slice(0, 117)}...`;
  if (opts.pattern !== undefined && opts.cookies) throw new UsageError(`program "${prog.name}": ${target}: cookies need syms or addrs (a pattern's order is the kernel's)`);

  let syms = opts.syms ? [...opts.syms] : undefined;
  let addrs = opts.addrs ? [...opts.addrs] : undefined;
  if (opts.pattern !== undefined) {
    if (!opts.pattern) throw new UsageError(`program "${prog.name}": ${kind} pattern is empty`);
    // Resolving a pattern reads ~50k tracefs lines: first make sure the kernel has the link at all.
    const unsupported = kprobeMultiUnsupported(prog, target);
    if (unsupported) throw unsupported;
    let found: KprobeTargets;
    try {
      found = resolveKprobePattern(opts.pattern, opts);
    } catch (e) {
      if (e instanceof AttachError && !e.program) throw new AttachError(prog.name, target, e.reason, { cause: e.cause });
      throw e;
    }
    ({ syms, addrs } = found);
    const n = (syms ?? addrs)!.length;
    if (n === 0) throw new AttachError(prog.name, target, `pattern "${opts.pattern}" matches no traceable kernel function (tracefs available_filter_functions)`);
    log('%s: pattern %s matched %d functions', prog.name, opts.pattern, n);
  }
  const cnt = (syms ?? addrs)!.length;
  if (cnt === 0) throw new UsageError(`program "${prog.name}": ${target}: the list of functions is empty`);
  if (opts.cookies && opts.cookies.length !== cnt)
    throw new UsageError(`program "${prog.name}": ${target}: ${opts.cookies.length} cookies for ${cnt} functions (one per function)`);
  for (const s of syms ?? []) if (!s || /\s/.test(s)) throw new UsageError(`program "${prog.name}": ${target}: "${s}" is not a kernel function name`);

  // The kernel reads arrays of u64: addresses, cookies, and pointers to the
  // names (one buffer of NUL-terminated strings). All stay referenced until
  // the call returns.
  let names: Buffer | undefined;
  let symPtrs: BigUint64Array | undefined;
  if (syms) {
    names = Buffer.from(syms.map((s) => `${s}\0`).join(''), 'utf8');
    const base = addressOf(names);
    symPtrs = new BigUint64Array(cnt);
    let off = 0;
    syms.forEach((s, i) => {
      symPtrs![i] = base + BigInt(off);
      off += Buffer.byteLength(s) + 1;
    });
  }
  const addrArr = addrs ? BigUint64Array.from(addrs) : undefined;
  const cookieArr = opts.cookies ? BigUint64Array.from(opts.cookies) : undefined;
  try {
    const fd = linkCreate(
      {
        prog_fd: prog.fd,
        target_fd: 0,
        attach_type: BpfAttachType.BPF_TRACE_KPROBE_MULTI,
        kprobe_multi_flags: retprobe ? BPF_F_KPROBE_MULTI_RETURN : 0,
        kprobe_multi_cnt: cnt,
        kprobe_multi_syms: symPtrs ? addressOf(symPtrs) : 0n,
        kprobe_multi_addrs: addrArr ? addressOf(addrArr) : 0n,
        kprobe_multi_cookies: cookieArr ? addressOf(cookieArr) : 0n,
      },
      `attaching program "${prog.name}" to ${target}`,
    );
    void names;
    return new KprobeMultiLink(prog.name, target, fd, cnt);
  } catch (e) {
    throw kprobeMultiError(e, prog.name, target, syms);
  }
}

/**
 * A NotSupportedError when this kernel has no kprobe.multi links, else
 * undefined. Probed with the program itself and no functions: the kernel
 * rejects the empty list with EINVAL when it has the link kind, and answers
 * EOPNOTSUPP first when it was built without CONFIG_FPROBE.
 */
export function kprobeMultiUnsupported(prog: AttachableProgram, target = 'kprobe.multi'): NotSupportedError | undefined {
  try {
    linkCreate({ prog_fd: prog.fd, target_fd: 0, attach_type: BpfAttachType.BPF_TRACE_KPROBE_MULTI, kprobe_multi_cnt: 0 }, `probing kprobe.multi links with program "${prog.name}"`).close();
  } catch (e) {
    const err = kprobeMultiError(e, prog.name, target, undefined);
    if (err instanceof NotSupportedError) return err;
  }
  return undefined;
}

/** Turn a failed BPF_LINK_CREATE into NotSupportedError (no kprobe.multi here) or an AttachError saying why. */
function kprobeMultiError(e: unknown, program: string, target: string, syms: string[] | undefined): Error {
  if (!(e instanceof SyscallError)) return e as Error;
  const [major, minor] = kernelVersion();
  const old = major < 5 || (major === 5 && minor < 18);
  // Without CONFIG_FPROBE the kernel answers EOPNOTSUPP; before 5.18 the attach type is unknown (EINVAL).
  if (e.errno === EOPNOTSUPP || (e.errno === EINVAL && old)) {
    const why = old
      ? `kprobe.multi links need Linux 5.18+, this is ${release()}`
      : `this kernel (${release()}) was built without CONFIG_FPROBE, which kprobe.multi links need`;
    return new NotSupportedError('kprobe.multi links', `program "${program}": cannot attach to ${target}: ${why} (BPF_LINK_CREATE said ${e.code})`, { cause: e });
  }
  if ((e.errno === ESRCH || e.errno === ENOENT) && syms) {
    const missing = syms.filter((s) => kernelSymbolExists(s) === false);
    const detail = missing.length
      ? `kernel function${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''} not in /proc/kallsyms`
      : 'a function is not traceable (not in available_filter_functions: inlined, notrace, or listed twice)';
    return new AttachError(program, target, `${detail} (${e.message})`, { cause: e });
  }
  return new AttachError(program, target, e.message, { cause: e });
}
