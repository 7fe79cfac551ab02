// Auto-attach: from a program's ELF section name (libbpf's SEC() convention),
// parsed once into a typed AttachTarget by ./sections.ts, to the right attach
// constructor. Sections whose target is in the name
// (tp/syscalls/sys_enter_openat, kprobe/do_sys_openat2, uprobe/libc.so.6:malloc,
// iter/task, fentry/... resolved at load) attach by themselves; those that
// need a target the name cannot carry (cgroup, xdp, tc, sk_lookup) attach
// when the options give it, and otherwise fail with an AttachError that says
// what is missing. Sections with no attach step at all (socket, perf_event,
// struct_ops, syscall, ...) fail the same way.
import { NotSupportedError } from '../errors.ts';
import { BpfAttachType as A } from '../prog/index.ts';
import { attachCgroup } from './cgroup.ts';
import { AttachError } from './errors.ts';
import { attachIter, type IterOptions } from './iter.ts';
import { attachKprobe, attachKsyscall } from './kprobe.ts';
import { attachKprobeMulti } from './kprobe_multi.ts';
import type { AttachableProgram, Link } from './link.ts';
import { attachNetns } from './netns.ts';
import { attachRawTracepoint } from './raw_tracepoint.ts';
import { parseSection, unknownSectionMessage, type AttachTarget } from './sections.ts';
import { attachTcx } from './tc.ts';
import { attachTracepoint } from './tracepoint.ts';
import { attachTracing } from './tracing.ts';
import type { TracefsOptions } from './tracefs.ts';
import { attachUprobe } from './uprobe.ts';
import type { UsdtManager } from './usdt.ts';
import { attachUprobeMulti } from './uprobe_multi.ts';
import { attachXdp, type XdpOptions } from './xdp.ts';
import { step } from '../util/pipeline.ts';

export interface AutoAttachOptions extends TracefsOptions {
  /** bpf_get_attach_cookie() value where the attach kind supports one. */
  cookie?: bigint;
  /** kprobe/uprobe creation path (default 'auto'). */
  probeMode?: 'auto' | 'pmu' | 'legacy';
  /** Attach tracepoints/kprobes/uprobes with PERF_EVENT_IOC_SET_BPF instead of a BPF link. */
  forceIoctl?: boolean;
  /** uprobes, USDT: only this process. */
  pid?: number;
  /** USDT: the object's USDT state (its usdt.bpf.h maps); BpfObject.attach() passes its own. */
  usdtManager?: () => UsdtManager;
  /** xdp, tc, tcx: the interface (name or ifindex). */
  ifname?: string | number;
  /** xdp: the mode. */
  xdpMode?: XdpOptions['mode'];
  /** cgroup programs: the cgroup v2 directory. */
  cgroup?: string;
  /** sk_lookup / flow_dissector: the network namespace (a path like /proc/self/ns/net). */
  netns?: string;
  /** iter: map/task/cgroup narrowing. */
  iter?: Omit<IterOptions, 'targetName'>;
}

/**
 * Attach `program` as its section name says. Returns the link, or throws an
 * AttachError naming the program, the section and what is missing.
 */
export function autoAttach(program: AttachableProgram, sectionName: string, opts: AutoAttachOptions = {}): Link {
  const section = parseSection(sectionName);
  if (!section) throw new AttachError(program.name, `section "${sectionName}"`, unknownSectionMessage(sectionName));
  return attachTarget(program, section.target, opts, `section "${sectionName}"`);
}

/**
 * True when a target attaches with nothing but the default options (what
 * attachAll and a libbpf skeleton's __attach() take on): the name says where.
 */
export function attachesByName(target: AttachTarget): boolean {
  switch (target.kind) {
    case 'tracepoint':
    case 'raw_tracepoint':
    case 'tracing':
    case 'kprobe':
    case 'ksyscall':
    case 'uprobe':
    case 'usdt':
    case 'iter':
      return true;
    case 'kprobe_multi':
    case 'uprobe_multi':
      return !target.session;
    case 'xdp':
    case 'tcx':
    case 'cgroup':
    case 'netns':
    case 'none':
      return false;
    // PENDING kinds: true once their attach step lands below.
    case 'struct_ops':
      return false;
  }
}

/**
 * Attach `program` to a parsed section target. `where` names the section in
 * messages ('section "tp/syscalls/sys_enter_getpgid"').
 */
export function attachTarget(program: AttachableProgram, target: AttachTarget, opts: AutoAttachOptions = {}, where = `a ${target.kind} target`): Link {
  const link = attachTargetOnce(program, target, opts, where);
  step('attach', 'program "%s" -> %s (%s)', program.name, link.target, link.constructor.name);
  return link;
}

function attachTargetOnce(program: AttachableProgram, target: AttachTarget, opts: AutoAttachOptions, where: string): Link {
  const fail = (reason: string): never => {
    throw new AttachError(program.name, where, reason);
  };
  const perf = { cookie: opts.cookie, forceIoctl: opts.forceIoctl, mount: opts.mount, paths: opts.paths };
  switch (target.kind) {
    case 'tracepoint':
      return attachTracepoint(program, target.category, target.name, perf);
    case 'raw_tracepoint':
      return attachRawTracepoint(program, target.name, { cookie: opts.cookie });
    case 'tracing':
      return attachTracing(program, { targetName: target.func, cookie: opts.cookie, attachType: opts.cookie !== undefined ? target.attachType : undefined });
    case 'kprobe':
      return attachKprobe(program, target.func, { ...perf, offset: target.offset, retprobe: target.retprobe, mode: opts.probeMode });
    case 'ksyscall':
      return attachKsyscall(program, target.syscall, { ...perf, retprobe: target.retprobe, mode: opts.probeMode });
    case 'uprobe':
      return attachUprobe(program, target.binary, { ...perf, symbol: target.func, offset: target.offset, retprobe: target.retprobe, pid: opts.pid, mode: opts.probeMode });
    case 'usdt':
      if (!opts.usdtManager) return fail("a USDT program reads its arguments through its object's usdt.bpf.h maps: attach it through BpfObject.attach() or BpfObject.attachUsdt()");
      return opts.usdtManager().attach(program, { path: target.binary, provider: target.provider, name: target.name, pid: opts.pid, mode: opts.probeMode, forceIoctl: opts.forceIoctl, mount: opts.mount, paths: opts.paths });
    case 'iter':
      return attachIter(program, { ...opts.iter, targetName: target.target });
    case 'xdp':
      if (opts.ifname === undefined) return fail('an XDP program needs an interface: pass {ifname} or call attachXdp()');
      return attachXdp(program, opts.ifname, { mode: opts.xdpMode });
    case 'tcx':
      if (opts.ifname === undefined) return fail('a tc program needs an interface: pass {ifname} or call attachTcx()');
      return attachTcx(program, opts.ifname, target.direction);
    case 'cgroup':
      if (!opts.cgroup) return fail('a cgroup program needs a cgroup: pass {cgroup: "/sys/fs/cgroup/<path>"} or call attachCgroup()');
      return attachCgroup(program, opts.cgroup, target.attachType);
    case 'netns': {
      const what = target.attachType === A.BPF_SK_LOOKUP ? 'an sk_lookup' : 'a flow_dissector';
      if (!opts.netns) return fail(`${what} program needs a network namespace: pass {netns: "/proc/self/ns/net"} or call attachNetns()`);
      return attachNetns(program, target.attachType, opts.netns);
    }
    case 'kprobe_multi':
      if (target.session) throw new NotSupportedError('kprobe.session', `program "${program.name}": cannot attach to ${where}: kprobe.session links are not implemented`);
      return attachKprobeMulti(program, { pattern: target.pattern, retprobe: target.retprobe, mount: opts.mount, paths: opts.paths });
    case 'uprobe_multi':
      if (target.session) throw new NotSupportedError('uprobe.session', `program "${program.name}": cannot attach to ${where}: uprobe.session links are not implemented`);
      return attachUprobeMulti(program, target.binary, { pattern: target.pattern, retprobe: target.retprobe, pid: opts.pid });
    // PENDING kinds: replace the throw with the attach call when it lands.
    case 'struct_ops':
      throw new NotSupportedError(target.kind, `program "${program.name}": cannot attach to ${where}: ${target.kind} auto-attach is not implemented yet`);
    case 'none':
      return fail(target.reason);
  }
}
