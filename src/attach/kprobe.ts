// kprobes and kretprobes (SEC("kprobe/<func>[+<off>]"), SEC("kretprobe/<func>")),
// ksyscall/kretsyscall (SEC("ksyscall/<syscall>")). Two ways to create one:
//  - the kprobe PMU (Linux 4.17+): perf_event_open with the PMU's type, the
//    function name's address in config1 and the offset in config2;
//  - legacy tracefs: write "p:kprobes/<event> <func>+<off>" to kprobe_events,
//    open the resulting tracepoint, and remove the event on destroy.
import createDebug from 'debug';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENOENT, EINVAL, SyscallError, addressOf, perfEventOpen, type FD } from '../syscall/index.ts';
import { AttachError } from './errors.ts';
import { LegacyProbeLink, PerfEventLink, type AttachableProgram } from './link.ts';
import { attachToPerfEvent, type PerfAttachOptions } from './perf_attach.ts';
import { PMU_DIR, createLegacyEvent, legacyEventName, probePmu } from './probe_events.ts';
import { kernelSymbolExists } from '../features/index.ts';
import { tracefsPath, type TracefsOptions } from './tracefs.ts';

const log = createDebug('tsbpf:attach');

export interface KprobeOptions extends PerfAttachOptions, TracefsOptions {
  /** Byte offset into the function (kprobes only). */
  offset?: number;
  /** A return probe (kretprobe). */
  retprobe?: boolean;
  /** 'auto' (PMU, else tracefs), 'pmu' or 'legacy' (force one path, e.g. in tests). Default 'auto'. */
  mode?: 'auto' | 'pmu' | 'legacy';
}

const NO_KPROBES =
  'this kernel has no kprobe support: /sys/bus/event_source/devices/kprobe is absent and tracefs has no kprobe_events (CONFIG_KPROBES/CONFIG_KPROBE_EVENTS not set)';

function missingFunctionReason(func: string, detail: string): string {
  const exists = kernelSymbolExists(func);
  if (exists === false) return `kernel function ${func} does not exist (not in /proc/kallsyms)`;
  if (exists === true) return `kernel function ${func} exists but cannot be probed (inlined, notrace or blacklisted): ${detail}`;
  return `kernel function ${func} was not found or cannot be probed: ${detail}`;
}

/** Attach a kprobe (or, with `retprobe`, a kretprobe) program to kernel function `func`. */
export function attachKprobe(prog: AttachableProgram, func: string, opts: KprobeOptions = {}): PerfEventLink {
  const retprobe = opts.retprobe ?? false;
  const offset = opts.offset ?? 0;
  const target = `${retprobe ? 'kretprobe' : 'kprobe'} ${func}${offset ? `+${offset}` : ''}`;
  if (!func || /\s/.test(func)) throw new AttachError(prog.name, target, `"${func}" is not a kernel function name`);
  if (retprobe && offset) throw new AttachError(prog.name, target, 'a kretprobe takes no offset');
  const mode = opts.mode ?? 'auto';
  const pmu = probePmu('kprobe');

  if (mode === 'pmu' || (mode === 'auto' && pmu)) {
    if (!pmu) throw new AttachError(prog.name, target, `the kprobe PMU is absent (no ${PMU_DIR}/kprobe): ${NO_KPROBES}`);
    const nameBuf = Buffer.from(func + '\0');
    let perf: FD;
    try {
      perf = perfEventOpen(
        { type: pmu.type, config: retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n, config1: addressOf(nameBuf), config2: offset },
        -1,
        0,
        `creating ${target} through the kprobe PMU`,
      );
    } catch (e) {
      if (e instanceof SyscallError && (e.errno === ENOENT || e.errno === EINVAL)) throw new AttachError(prog.name, target, missingFunctionReason(func, e.message), { cause: e });
      throw new AttachError(prog.name, target, (e as Error).message, { cause: e });
    } finally {
      void nameBuf; // the kernel read the name during the call
    }
    return attachToPerfEvent(prog, perf, target, opts, (p, l) => new PerfEventLink(prog.name, target, p, l));
  }

  // legacy tracefs path
  let tracefs: string;
  try {
    tracefs = tracefsPath(opts);
  } catch (e) {
    const why = (e as AttachError).reason ?? String(e);
    throw new AttachError(prog.name, target, pmu ? why : `this kernel has no kprobe PMU (${PMU_DIR}/kprobe is absent) and legacy kprobe_events cannot be checked: ${why}`, { cause: e });
  }
  if (!existsSync(join(tracefs, 'kprobe_events'))) throw new AttachError(prog.name, target, NO_KPROBES);
  const ev = legacyEventName(func, offset);
  log('creating %s through %s/kprobe_events as %s', target, tracefs, ev);
  const legacy = createLegacyEvent(tracefs, 'kprobe', retprobe, ev, `${func}+${offset}`, prog.name, target, (err) =>
    err.code === 'ENOENT' || err.code === 'EINVAL' ? missingFunctionReason(func, `writing kprobe_events failed: ${err.code}`) : `writing ${tracefs}/kprobe_events failed: ${err.message}`,
  );
  return attachToPerfEvent(prog, legacy.perf, target, opts, (p, l) => {
    return new LegacyProbeLink(prog.name, target, p, l, legacy.event, legacy.remove);
  });
}

/** attachKprobe with `retprobe: true`. */
export function attachKretprobe(prog: AttachableProgram, func: string, opts: Omit<KprobeOptions, 'retprobe' | 'offset'> = {}): PerfEventLink {
  return attachKprobe(prog, func, { ...opts, retprobe: true });
}

/** The syscall wrapper prefix per architecture, as the kernel's SYSCALL_DEFINE emits it. */
const ARCH_PREFIX: Partial<Record<NodeJS.Architecture, string>> = {
  x64: '__x64_',
  ia32: '__ia32_',
  arm64: '__arm64_',
  s390x: '__s390x_',
  s390: '__s390_',
  riscv64: '__riscv_',
  ppc64: '',
  loong64: '',
};

let syscallPrefix: string | undefined;

/**
 * The kernel function behind syscall `name`: `__x64_sys_<name>` on x86_64
 * kernels with syscall wrappers (4.17+), `sys_<name>` before. Like libbpf,
 * the wrapper is detected once by looking for the arch's `sys_bpf` wrapper
 * (in /proc/kallsyms).
 */
export function syscallFunctionName(name: string): string {
  if (syscallPrefix === undefined) {
    const arch = ARCH_PREFIX[process.arch] ?? '';
    syscallPrefix = arch && kernelSymbolExists(`${arch}sys_bpf`) !== false ? `${arch}sys_` : 'sys_';
    log('syscall function prefix: %s', syscallPrefix);
  }
  return `${syscallPrefix}${name}`;
}

/** Attach a kprobe program to the entry of syscall `name` ("openat", "getpgid"). */
export function attachKsyscall(prog: AttachableProgram, name: string, opts: Omit<KprobeOptions, 'offset'> = {}): PerfEventLink {
  return attachKprobe(prog, syscallFunctionName(name), opts);
}

/** Attach a kretprobe program to the return of syscall `name`. */
export function attachKretsyscall(prog: AttachableProgram, name: string, opts: Omit<KprobeOptions, 'offset' | 'retprobe'> = {}): PerfEventLink {
  return attachKprobe(prog, syscallFunctionName(name), { ...opts, retprobe: true });
}
