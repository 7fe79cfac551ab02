// Auto-attach: from a program's ELF section name (libbpf's SEC() convention)
// to the right attach constructor. Sections whose target is in the name
// (tp/syscalls/sys_enter_openat, kprobe/do_sys_openat2, uprobe/libc.so.6:malloc,
// iter/task, fentry/... resolved at load) attach by themselves; those that
// need a target the name cannot carry (cgroup, xdp, tc, sk_lookup) attach
// when the options give it, and otherwise fail with an AttachError that says
// what is missing. Sections with no attach step at all (socket, perf_event,
// struct_ops, syscall, ...) fail the same way.
import { BpfAttachType as A } from '../prog/index.ts';
import { attachCgroup } from './cgroup.ts';
import { AttachError } from './errors.ts';
import { attachIter, type IterOptions } from './iter.ts';
import { attachKprobe, attachKsyscall } from './kprobe.ts';
import { attachKprobeMulti } from './kprobe_multi.ts';
import type { AttachableProgram, Link } from './link.ts';
import { attachNetns } from './netns.ts';
import { attachRawTracepoint } from './raw_tracepoint.ts';
import { attachTcx } from './tc.ts';
import { attachTracepoint } from './tracepoint.ts';
import { attachTracing } from './tracing.ts';
import type { TracefsOptions } from './tracefs.ts';
import { attachUprobe } from './uprobe.ts';
import { attachUprobeMulti } from './uprobe_multi.ts';
import { attachXdp, type XdpOptions } from './xdp.ts';

export interface AutoAttachOptions extends TracefsOptions {
  /** bpf_get_attach_cookie() value where the attach kind supports one. */
  cookie?: bigint;
  /** kprobe/uprobe creation path (default 'auto'). */
  probeMode?: 'auto' | 'pmu' | 'legacy';
  /** Attach tracepoints/kprobes/uprobes with PERF_EVENT_IOC_SET_BPF instead of a BPF link. */
  forceIoctl?: boolean;
  /** uprobes: only this process. */
  pid?: number;
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

/** cgroup section -> attach type (libbpf's section_defs). */
const CGROUP_SECTIONS: Record<string, A> = {
  'cgroup_skb/ingress': A.BPF_CGROUP_INET_INGRESS,
  'cgroup_skb/egress': A.BPF_CGROUP_INET_EGRESS,
  'cgroup/sock_create': A.BPF_CGROUP_INET_SOCK_CREATE,
  'cgroup/sock': A.BPF_CGROUP_INET_SOCK_CREATE,
  'cgroup/sock_release': A.BPF_CGROUP_INET_SOCK_RELEASE,
  'cgroup/post_bind4': A.BPF_CGROUP_INET4_POST_BIND,
  'cgroup/post_bind6': A.BPF_CGROUP_INET6_POST_BIND,
  'cgroup/dev': A.BPF_CGROUP_DEVICE,
  sockops: A.BPF_CGROUP_SOCK_OPS,
  'cgroup/bind4': A.BPF_CGROUP_INET4_BIND,
  'cgroup/bind6': A.BPF_CGROUP_INET6_BIND,
  'cgroup/connect4': A.BPF_CGROUP_INET4_CONNECT,
  'cgroup/connect6': A.BPF_CGROUP_INET6_CONNECT,
  'cgroup/connect_unix': A.BPF_CGROUP_UNIX_CONNECT,
  'cgroup/sendmsg4': A.BPF_CGROUP_UDP4_SENDMSG,
  'cgroup/sendmsg6': A.BPF_CGROUP_UDP6_SENDMSG,
  'cgroup/sendmsg_unix': A.BPF_CGROUP_UNIX_SENDMSG,
  'cgroup/recvmsg4': A.BPF_CGROUP_UDP4_RECVMSG,
  'cgroup/recvmsg6': A.BPF_CGROUP_UDP6_RECVMSG,
  'cgroup/recvmsg_unix': A.BPF_CGROUP_UNIX_RECVMSG,
  'cgroup/getpeername4': A.BPF_CGROUP_INET4_GETPEERNAME,
  'cgroup/getpeername6': A.BPF_CGROUP_INET6_GETPEERNAME,
  'cgroup/getpeername_unix': A.BPF_CGROUP_UNIX_GETPEERNAME,
  'cgroup/getsockname4': A.BPF_CGROUP_INET4_GETSOCKNAME,
  'cgroup/getsockname6': A.BPF_CGROUP_INET6_GETSOCKNAME,
  'cgroup/getsockname_unix': A.BPF_CGROUP_UNIX_GETSOCKNAME,
  'cgroup/sysctl': A.BPF_CGROUP_SYSCTL,
  'cgroup/getsockopt': A.BPF_CGROUP_GETSOCKOPT,
  'cgroup/setsockopt': A.BPF_CGROUP_SETSOCKOPT,
};

/** Sections that load but have no attach step libbpf could take on its own. */
const NOT_ATTACHABLE = /^(socket|sk_reuseport|sk_skb|sk_msg|lirc_mode2|lwt_\w+|struct_ops|syscall|perf_event|kprobe\.session|uprobe\.session|usdt|netfilter|action|classifier|tc$|cgroup\/skb$|lsm_cgroup|freplace)/;

/** Split "func+off" (off decimal or 0x hex). */
function splitOffset(spec: string): { name: string; offset: number } {
  const m = /^(.*?)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(spec)!;
  return { name: m[1]!, offset: m[2] ? Number(m[2]) : 0 };
}

/**
 * Attach `program` as its section name says. Returns the link, or throws an
 * AttachError naming the program, the section and what is missing.
 */
export function autoAttach(program: AttachableProgram, sectionName: string, opts: AutoAttachOptions = {}): Link {
  const slash = sectionName.indexOf('/');
  const prefix = slash < 0 ? sectionName : sectionName.slice(0, slash);
  const arg = slash < 0 ? '' : sectionName.slice(slash + 1);
  const fail = (reason: string): never => {
    throw new AttachError(program.name, `section "${sectionName}"`, reason);
  };
  const needArg = (what: string): string => arg || fail(`SEC("${prefix}") names no ${what} to attach to; write SEC("${prefix}/<${what}>") or attach explicitly`);
  const perf = { cookie: opts.cookie, forceIoctl: opts.forceIoctl, mount: opts.mount, paths: opts.paths };

  switch (prefix) {
    case 'tp':
    case 'tracepoint': {
      const t = needArg('category>/<name');
      const i = t.indexOf('/');
      if (i <= 0) fail(`"${t}" is not <category>/<name>`);
      return attachTracepoint(program, t.slice(0, i), t.slice(i + 1), perf);
    }
    case 'raw_tp':
    case 'raw_tracepoint':
    case 'raw_tp.w':
    case 'raw_tracepoint.w':
      return attachRawTracepoint(program, needArg('tracepoint'), { cookie: opts.cookie });
    case 'tp_btf':
      return attachTracing(program, { targetName: needArg('tracepoint'), cookie: opts.cookie, attachType: opts.cookie !== undefined ? A.BPF_TRACE_RAW_TP : undefined });
    case 'fentry':
    case 'fentry.s':
    case 'fexit':
    case 'fexit.s':
    case 'fmod_ret':
    case 'fmod_ret.s':
    case 'lsm':
    case 'lsm.s': {
      const base = prefix.replace(/\.s$/, '');
      const type = { fentry: A.BPF_TRACE_FENTRY, fexit: A.BPF_TRACE_FEXIT, fmod_ret: A.BPF_MODIFY_RETURN, lsm: A.BPF_LSM_MAC }[base]!;
      return attachTracing(program, { targetName: `${needArg('function')}`, cookie: opts.cookie, attachType: opts.cookie !== undefined ? type : undefined });
    }
    case 'kprobe':
    case 'kretprobe': {
      const { name, offset } = splitOffset(needArg('function'));
      return attachKprobe(program, name, { ...perf, offset, retprobe: prefix === 'kretprobe', mode: opts.probeMode });
    }
    case 'ksyscall':
    case 'kretsyscall':
      return attachKsyscall(program, needArg('syscall'), { ...perf, retprobe: prefix === 'kretsyscall', mode: opts.probeMode });
    case 'uprobe':
    case 'uprobe.s':
    case 'uretprobe':
    case 'uretprobe.s': {
      const t = needArg('path>:<function');
      // the binary path may itself contain ':'? libbpf splits at the last ':'
      const colon = t.lastIndexOf(':');
      if (colon <= 0) fail(`"${t}" is not <path>:<function>[+<offset>]`);
      const binary = t.slice(0, colon);
      const { name, offset } = splitOffset(t.slice(colon + 1));
      const sym = /^(0x[0-9a-fA-F]+|\d+)$/.test(name) ? undefined : name;
      return attachUprobe(program, binary, {
        ...perf,
        symbol: sym,
        offset: sym ? offset : Number(name) + offset,
        retprobe: prefix.startsWith('uretprobe'),
        pid: opts.pid,
        mode: opts.probeMode,
      });
    }
    case 'kprobe.multi':
    case 'kretprobe.multi':
      return attachKprobeMulti(program, { pattern: needArg('pattern'), retprobe: prefix === 'kretprobe.multi', mount: opts.mount, paths: opts.paths });
    case 'uprobe.multi':
    case 'uprobe.multi.s':
    case 'uretprobe.multi':
    case 'uretprobe.multi.s': {
      const t = needArg('path>:<pattern');
      const colon = t.lastIndexOf(':');
      if (colon <= 0 || colon === t.length - 1) fail(`"${t}" is not <path>:<function pattern>`);
      return attachUprobeMulti(program, t.slice(0, colon), { pattern: t.slice(colon + 1), retprobe: prefix.startsWith('uretprobe'), pid: opts.pid });
    }
    case 'iter':
    case 'iter.s':
      return attachIter(program, { ...opts.iter, targetName: needArg('target') });
    case 'xdp':
    case 'xdp.frags':
      if (arg) fail(`SEC("${sectionName}") is for ${arg} maps (bpf_redirect_map), not an interface`);
      if (opts.ifname === undefined) fail('an XDP program needs an interface: pass {ifname} or call attachXdp()');
      return attachXdp(program, opts.ifname!, { mode: opts.xdpMode });
    case 'tcx':
    case 'tc': {
      if (arg !== 'ingress' && arg !== 'egress') fail(`SEC("${sectionName}") has no direction; use tcx/ingress or tcx/egress, or call attachTcx()`);
      if (opts.ifname === undefined) fail('a tc program needs an interface: pass {ifname} or call attachTcx()');
      return attachTcx(program, opts.ifname!, arg as 'ingress' | 'egress');
    }
    case 'sk_lookup':
      return attachNetns(program, A.BPF_SK_LOOKUP, opts.netns ?? fail('an sk_lookup program needs a network namespace: pass {netns: "/proc/self/ns/net"} or call attachNetns()'));
    case 'flow_dissector':
      return attachNetns(program, A.BPF_FLOW_DISSECTOR, opts.netns ?? fail('a flow_dissector program needs a network namespace: pass {netns} or call attachNetns()'));
  }
  const cgroupType = CGROUP_SECTIONS[sectionName];
  if (cgroupType !== undefined) {
    if (!opts.cgroup) fail(`a cgroup program needs a cgroup: pass {cgroup: "/sys/fs/cgroup/<path>"} or call attachCgroup()`);
    return attachCgroup(program, opts.cgroup!, cgroupType);
  }
  if (NOT_ATTACHABLE.test(sectionName)) fail(`SEC("${sectionName}") has no auto-attach target; attach it explicitly (see src/attach)`);
  return fail(`unknown section name "${sectionName}": cannot tell how to attach it`);
}
