// The ELF section name of a program decides its program type, its expected
// attach type and how it auto-attaches — libbpf's `section_defs` table. A
// name matches an entry exactly, or by prefix when the entry ends with '+'
// ("tp+" matches "tp/sched/sched_switch"; the part after '/' is the target).
// parseSection() turns the name into a typed AttachTarget once, at open;
// auto-attach (./auto.ts) switches on target.kind and never re-reads the name.
// Adding a kind: a table entry below, a case in parseAttachTarget(), a case
// in auto.ts's attachTarget(), and its form in ARG_FORMS.
import { BpfAttachType as A, BpfProgType as P, BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS } from '../prog/types.ts';

/** How a program of this section attaches (drives src/attach's auto-attach). */
export type AttachKind =
  | 'tracepoint'
  | 'raw_tracepoint'
  | 'tracing' // tp_btf, fentry, fexit, fmod_ret, lsm, freplace
  | 'kprobe'
  | 'kprobe_multi'
  | 'ksyscall'
  | 'uprobe'
  | 'uprobe_multi'
  | 'usdt'
  | 'iter'
  | 'perf_event'
  | 'xdp'
  | 'tcx'
  | 'tc'
  | 'netkit'
  | 'cgroup'
  | 'sockmap'
  | 'netns'
  | 'struct_ops'
  | 'syscall'
  | 'none';

export interface SectionDef {
  /** libbpf's spelling: exact name, or a prefix followed by '+'. */
  readonly sec: string;
  readonly progType: P;
  readonly expectedAttachType: A | 0;
  /** BPF_PROG_LOAD prog_flags implied by the section (sleepable, xdp frags). */
  readonly progFlags: number;
  readonly attach: AttachKind;
  /** Retprobe flavour (kretprobe, uretprobe, kretsyscall). */
  readonly retprobe?: boolean;
  /** Needs the attach target's BTF id at load time (tp_btf, fentry, fexit, fmod_ret, lsm, iter). */
  readonly needsAttachBtfId?: boolean;
}

const S = BPF_F_SLEEPABLE;
const F = BPF_F_XDP_HAS_FRAGS;

function d(sec: string, progType: P, expectedAttachType: A | 0, attach: AttachKind, extra: Partial<SectionDef> = {}): SectionDef {
  return { sec, progType, expectedAttachType, progFlags: 0, attach, ...extra };
}

/** The table, in libbpf's order: the first match wins, so longer names come before their prefixes. */
export const SECTION_DEFS: readonly SectionDef[] = [
  d('socket', P.BPF_PROG_TYPE_SOCKET_FILTER, 0, 'none'),
  d('sk_reuseport/migrate', P.BPF_PROG_TYPE_SK_REUSEPORT, A.BPF_SK_REUSEPORT_SELECT_OR_MIGRATE, 'none'),
  d('sk_reuseport', P.BPF_PROG_TYPE_SK_REUSEPORT, A.BPF_SK_REUSEPORT_SELECT, 'none'),
  d('kprobe+', P.BPF_PROG_TYPE_KPROBE, 0, 'kprobe'),
  d('uprobe+', P.BPF_PROG_TYPE_KPROBE, 0, 'uprobe'),
  d('uprobe.s+', P.BPF_PROG_TYPE_KPROBE, 0, 'uprobe', { progFlags: S }),
  d('kretprobe+', P.BPF_PROG_TYPE_KPROBE, 0, 'kprobe', { retprobe: true }),
  d('uretprobe+', P.BPF_PROG_TYPE_KPROBE, 0, 'uprobe', { retprobe: true }),
  d('uretprobe.s+', P.BPF_PROG_TYPE_KPROBE, 0, 'uprobe', { retprobe: true, progFlags: S }),
  d('kprobe.multi+', P.BPF_PROG_TYPE_KPROBE, A.BPF_TRACE_KPROBE_MULTI, 'kprobe_multi'),
  d('kretprobe.multi+', P.BPF_PROG_TYPE_KPROBE, A.BPF_TRACE_KPROBE_MULTI, 'kprobe_multi', { retprobe: true }),
  d('kprobe.session+', P.BPF_PROG_TYPE_KPROBE, A.BPF_TRACE_KPROBE_SESSION, 'kprobe_multi'),
  d('uprobe.multi+', P.BPF_PROG_TYPE_KPROBE, A.BPF_TRACE_UPROBE_MULTI, 'uprobe_multi'),
  d('uretprobe.multi+', P.BPF_PROG_TYPE_KPROBE, A.BPF_TRACE_UPROBE_MULTI, 'uprobe_multi', { retprobe: true }),
  d('uprobe.session+', P.BPF_PROG_TYPE_KPROBE, A.BPF_TRACE_UPROBE_SESSION, 'uprobe_multi'),
  d('uprobe.multi.s+', P.BPF_PROG_TYPE_KPROBE, A.BPF_TRACE_UPROBE_MULTI, 'uprobe_multi', { progFlags: S }),
  d('uretprobe.multi.s+', P.BPF_PROG_TYPE_KPROBE, A.BPF_TRACE_UPROBE_MULTI, 'uprobe_multi', { retprobe: true, progFlags: S }),
  d('uprobe.session.s+', P.BPF_PROG_TYPE_KPROBE, A.BPF_TRACE_UPROBE_SESSION, 'uprobe_multi', { progFlags: S }),
  d('ksyscall+', P.BPF_PROG_TYPE_KPROBE, 0, 'ksyscall'),
  d('kretsyscall+', P.BPF_PROG_TYPE_KPROBE, 0, 'ksyscall', { retprobe: true }),
  d('usdt+', P.BPF_PROG_TYPE_KPROBE, 0, 'usdt'),
  d('usdt.s+', P.BPF_PROG_TYPE_KPROBE, 0, 'usdt', { progFlags: S }),
  d('tc/ingress', P.BPF_PROG_TYPE_SCHED_CLS, A.BPF_TCX_INGRESS, 'tcx'),
  d('tc/egress', P.BPF_PROG_TYPE_SCHED_CLS, A.BPF_TCX_EGRESS, 'tcx'),
  d('tcx/ingress', P.BPF_PROG_TYPE_SCHED_CLS, A.BPF_TCX_INGRESS, 'tcx'),
  d('tcx/egress', P.BPF_PROG_TYPE_SCHED_CLS, A.BPF_TCX_EGRESS, 'tcx'),
  d('tc', P.BPF_PROG_TYPE_SCHED_CLS, 0, 'tc'),
  d('classifier', P.BPF_PROG_TYPE_SCHED_CLS, 0, 'tc'),
  d('action', P.BPF_PROG_TYPE_SCHED_ACT, 0, 'tc'),
  d('netkit/primary', P.BPF_PROG_TYPE_SCHED_CLS, A.BPF_NETKIT_PRIMARY, 'netkit'),
  d('netkit/peer', P.BPF_PROG_TYPE_SCHED_CLS, A.BPF_NETKIT_PEER, 'netkit'),
  d('tracepoint+', P.BPF_PROG_TYPE_TRACEPOINT, 0, 'tracepoint'),
  d('tp+', P.BPF_PROG_TYPE_TRACEPOINT, 0, 'tracepoint'),
  d('raw_tracepoint+', P.BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 'raw_tracepoint'),
  d('raw_tp+', P.BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 'raw_tracepoint'),
  d('raw_tracepoint.w+', P.BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0, 'raw_tracepoint'),
  d('raw_tp.w+', P.BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0, 'raw_tracepoint'),
  d('tp_btf+', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_RAW_TP, 'tracing', { needsAttachBtfId: true }),
  d('fentry+', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_FENTRY, 'tracing', { needsAttachBtfId: true }),
  d('fmod_ret+', P.BPF_PROG_TYPE_TRACING, A.BPF_MODIFY_RETURN, 'tracing', { needsAttachBtfId: true }),
  d('fexit+', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_FEXIT, 'tracing', { needsAttachBtfId: true }),
  d('fentry.s+', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_FENTRY, 'tracing', { needsAttachBtfId: true, progFlags: S }),
  d('fmod_ret.s+', P.BPF_PROG_TYPE_TRACING, A.BPF_MODIFY_RETURN, 'tracing', { needsAttachBtfId: true, progFlags: S }),
  d('fexit.s+', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_FEXIT, 'tracing', { needsAttachBtfId: true, progFlags: S }),
  d('freplace+', P.BPF_PROG_TYPE_EXT, 0, 'tracing'),
  d('lsm+', P.BPF_PROG_TYPE_LSM, A.BPF_LSM_MAC, 'tracing', { needsAttachBtfId: true }),
  d('lsm.s+', P.BPF_PROG_TYPE_LSM, A.BPF_LSM_MAC, 'tracing', { needsAttachBtfId: true, progFlags: S }),
  d('lsm_cgroup+', P.BPF_PROG_TYPE_LSM, A.BPF_LSM_CGROUP, 'cgroup', { needsAttachBtfId: true }),
  d('iter+', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_ITER, 'iter', { needsAttachBtfId: true }),
  d('iter.s+', P.BPF_PROG_TYPE_TRACING, A.BPF_TRACE_ITER, 'iter', { needsAttachBtfId: true, progFlags: S }),
  d('syscall', P.BPF_PROG_TYPE_SYSCALL, 0, 'syscall', { progFlags: S }),
  d('xdp.frags/devmap', P.BPF_PROG_TYPE_XDP, A.BPF_XDP_DEVMAP, 'none', { progFlags: F }),
  d('xdp/devmap', P.BPF_PROG_TYPE_XDP, A.BPF_XDP_DEVMAP, 'none'),
  d('xdp.frags/cpumap', P.BPF_PROG_TYPE_XDP, A.BPF_XDP_CPUMAP, 'none', { progFlags: F }),
  d('xdp/cpumap', P.BPF_PROG_TYPE_XDP, A.BPF_XDP_CPUMAP, 'none'),
  d('xdp.frags', P.BPF_PROG_TYPE_XDP, A.BPF_XDP, 'xdp', { progFlags: F }),
  d('xdp', P.BPF_PROG_TYPE_XDP, A.BPF_XDP, 'xdp'),
  d('perf_event', P.BPF_PROG_TYPE_PERF_EVENT, 0, 'perf_event'),
  d('lwt_in', P.BPF_PROG_TYPE_LWT_IN, 0, 'none'),
  d('lwt_out', P.BPF_PROG_TYPE_LWT_OUT, 0, 'none'),
  d('lwt_xmit', P.BPF_PROG_TYPE_LWT_XMIT, 0, 'none'),
  d('lwt_seg6local', P.BPF_PROG_TYPE_LWT_SEG6LOCAL, 0, 'none'),
  d('sockops', P.BPF_PROG_TYPE_SOCK_OPS, A.BPF_CGROUP_SOCK_OPS, 'cgroup'),
  d('sk_skb/stream_parser', P.BPF_PROG_TYPE_SK_SKB, A.BPF_SK_SKB_STREAM_PARSER, 'sockmap'),
  d('sk_skb/stream_verdict', P.BPF_PROG_TYPE_SK_SKB, A.BPF_SK_SKB_STREAM_VERDICT, 'sockmap'),
  d('sk_skb/verdict', P.BPF_PROG_TYPE_SK_SKB, A.BPF_SK_SKB_VERDICT, 'sockmap'),
  d('sk_skb', P.BPF_PROG_TYPE_SK_SKB, 0, 'sockmap'),
  d('sk_msg', P.BPF_PROG_TYPE_SK_MSG, A.BPF_SK_MSG_VERDICT, 'sockmap'),
  d('lirc_mode2', P.BPF_PROG_TYPE_LIRC_MODE2, A.BPF_LIRC_MODE2, 'none'),
  d('flow_dissector', P.BPF_PROG_TYPE_FLOW_DISSECTOR, A.BPF_FLOW_DISSECTOR, 'netns'),
  d('cgroup_skb/ingress', P.BPF_PROG_TYPE_CGROUP_SKB, A.BPF_CGROUP_INET_INGRESS, 'cgroup'),
  d('cgroup_skb/egress', P.BPF_PROG_TYPE_CGROUP_SKB, A.BPF_CGROUP_INET_EGRESS, 'cgroup'),
  d('cgroup/skb', P.BPF_PROG_TYPE_CGROUP_SKB, 0, 'cgroup'),
  d('cgroup/sock_create', P.BPF_PROG_TYPE_CGROUP_SOCK, A.BPF_CGROUP_INET_SOCK_CREATE, 'cgroup'),
  d('cgroup/sock_release', P.BPF_PROG_TYPE_CGROUP_SOCK, A.BPF_CGROUP_INET_SOCK_RELEASE, 'cgroup'),
  d('cgroup/sock', P.BPF_PROG_TYPE_CGROUP_SOCK, A.BPF_CGROUP_INET_SOCK_CREATE, 'cgroup'),
  d('cgroup/post_bind4', P.BPF_PROG_TYPE_CGROUP_SOCK, A.BPF_CGROUP_INET4_POST_BIND, 'cgroup'),
  d('cgroup/post_bind6', P.BPF_PROG_TYPE_CGROUP_SOCK, A.BPF_CGROUP_INET6_POST_BIND, 'cgroup'),
  d('cgroup/bind4', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET4_BIND, 'cgroup'),
  d('cgroup/bind6', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET6_BIND, 'cgroup'),
  d('cgroup/connect4', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET4_CONNECT, 'cgroup'),
  d('cgroup/connect6', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET6_CONNECT, 'cgroup'),
  d('cgroup/connect_unix', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_UNIX_CONNECT, 'cgroup'),
  d('cgroup/sendmsg4', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_UDP4_SENDMSG, 'cgroup'),
  d('cgroup/sendmsg6', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_UDP6_SENDMSG, 'cgroup'),
  d('cgroup/sendmsg_unix', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_UNIX_SENDMSG, 'cgroup'),
  d('cgroup/recvmsg4', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_UDP4_RECVMSG, 'cgroup'),
  d('cgroup/recvmsg6', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_UDP6_RECVMSG, 'cgroup'),
  d('cgroup/recvmsg_unix', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_UNIX_RECVMSG, 'cgroup'),
  d('cgroup/getpeername4', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET4_GETPEERNAME, 'cgroup'),
  d('cgroup/getpeername6', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET6_GETPEERNAME, 'cgroup'),
  d('cgroup/getpeername_unix', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_UNIX_GETPEERNAME, 'cgroup'),
  d('cgroup/getsockname4', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET4_GETSOCKNAME, 'cgroup'),
  d('cgroup/getsockname6', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET6_GETSOCKNAME, 'cgroup'),
  d('cgroup/getsockname_unix', P.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, A.BPF_CGROUP_UNIX_GETSOCKNAME, 'cgroup'),
  d('cgroup/sysctl', P.BPF_PROG_TYPE_CGROUP_SYSCTL, A.BPF_CGROUP_SYSCTL, 'cgroup'),
  d('cgroup/getsockopt', P.BPF_PROG_TYPE_CGROUP_SOCKOPT, A.BPF_CGROUP_GETSOCKOPT, 'cgroup'),
  d('cgroup/setsockopt', P.BPF_PROG_TYPE_CGROUP_SOCKOPT, A.BPF_CGROUP_SETSOCKOPT, 'cgroup'),
  d('cgroup/dev', P.BPF_PROG_TYPE_CGROUP_DEVICE, A.BPF_CGROUP_DEVICE, 'cgroup'),
  d('struct_ops+', P.BPF_PROG_TYPE_STRUCT_OPS, 0, 'struct_ops'),
  d('struct_ops.s+', P.BPF_PROG_TYPE_STRUCT_OPS, 0, 'struct_ops', { progFlags: S }),
  d('sk_lookup', P.BPF_PROG_TYPE_SK_LOOKUP, A.BPF_SK_LOOKUP, 'netns'),
  d('netfilter', P.BPF_PROG_TYPE_NETFILTER, A.BPF_NETFILTER, 'none'),
];

export interface SectionMatch {
  def: SectionDef;
  /** What follows the matched prefix and its '/' separator: "syscalls/sys_enter_write" for "tp/syscalls/sys_enter_write". */
  target: string;
}

/**
 * Find the definition for a section name. A '+' entry matches the name
 * itself or the name followed by '/' (libbpf also accepts a bare prefix
 * match for a few legacy spellings, e.g. "kprobe/" — which is the same rule).
 */
export function matchSection(name: string): SectionMatch | undefined {
  for (const def of SECTION_DEFS) {
    if (def.sec.endsWith('+')) {
      const prefix = def.sec.slice(0, -1);
      if (name === prefix) return { def, target: '' };
      if (name.startsWith(prefix + '/')) return { def, target: name.slice(prefix.length + 1) };
    } else if (name === def.sec) {
      return { def, target: '' };
    } else if (name.startsWith(def.sec + '/') && !def.sec.includes('/')) {
      // e.g. "xdp/foo" or "socket/bar": libbpf tolerates a suffix after exact-name sections.
      return { def, target: name.slice(def.sec.length + 1) };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- typed attach targets

/** What a section name says to attach to, parsed once (see parseSection). */
export type AttachTarget =
  | { readonly kind: 'tracepoint'; readonly category: string; readonly name: string }
  | { readonly kind: 'raw_tracepoint'; readonly name: string }
  /** tp_btf, fentry, fexit, fmod_ret, lsm: the target was fixed at load (attach_btf_id). */
  | { readonly kind: 'tracing'; readonly func: string; readonly attachType: A }
  | { readonly kind: 'kprobe'; readonly func: string; readonly offset: number; readonly retprobe: boolean }
  | { readonly kind: 'ksyscall'; readonly syscall: string; readonly retprobe: boolean }
  /** `func` undefined: `offset` is a file offset in `binary`. */
  | { readonly kind: 'uprobe'; readonly binary: string; readonly func: string | undefined; readonly offset: number; readonly retprobe: boolean }
  | { readonly kind: 'iter'; readonly target: string }
  /** Needs an interface from the attach options. */
  | { readonly kind: 'xdp' }
  | { readonly kind: 'tcx'; readonly direction: 'ingress' | 'egress' }
  /** Needs a cgroup from the attach options. */
  | { readonly kind: 'cgroup'; readonly attachType: A }
  /** Needs a network namespace from the attach options. */
  | { readonly kind: 'netns'; readonly attachType: A.BPF_SK_LOOKUP | A.BPF_FLOW_DISSECTOR }
  /** A USDT probe; attached through the object's usdt.bpf.h maps (./usdt.ts). */
  | { readonly kind: 'usdt'; readonly binary: string; readonly provider: string; readonly name: string }
  // PENDING kinds: parsed here; their attach step is being added (auto.ts
  // throws NotSupportedError for them until then; attachAll skips them).
  | { readonly kind: 'kprobe_multi'; readonly pattern: string; readonly retprobe: boolean; readonly session: boolean }
  | { readonly kind: 'uprobe_multi'; readonly binary: string; readonly pattern: string; readonly retprobe: boolean; readonly session: boolean }
  | { readonly kind: 'struct_ops'; readonly member: string }
  /** The name alone cannot drive an attach (no target in it, or no attach step at all); `reason` says why. */
  | { readonly kind: 'none'; readonly reason: string };

/** The kinds of AttachTarget. */
export type AttachTargetKind = AttachTarget['kind'];

/** A section name, matched against the table and parsed. */
export interface ParsedSection {
  readonly name: string;
  readonly def: SectionDef;
  /** The text after the matched prefix and its '/' ("syscalls/sys_enter_write" for "tp/syscalls/sys_enter_write"). */
  readonly arg: string;
  readonly target: AttachTarget;
}

/** How each '+' family spells its argument (for messages and the list of known forms). */
const ARG_FORMS: Partial<Record<AttachKind, string>> = {
  tracepoint: '<category>/<name>',
  raw_tracepoint: '<tracepoint>',
  tracing: '<function>',
  kprobe: '<function>[+<offset>]',
  ksyscall: '<syscall>',
  uprobe: '<path>:<function>[+<offset>]',
  uprobe_multi: '<path>:<pattern>',
  kprobe_multi: '<pattern>',
  usdt: '<path>:<provider>:<name>',
  iter: '<target>',
  cgroup: '<function>',
  struct_ops: '<member>',
};

/** Every section spelling the table accepts, e.g. "tp/<category>/<name>", "xdp". */
export function knownSectionForms(): string[] {
  return SECTION_DEFS.map((d) => (d.sec.endsWith('+') ? `${d.sec.slice(0, -1)}/${ARG_FORMS[d.attach] ?? '<target>'}` : d.sec));
}

/** The message for a section name the table does not know. */
export function unknownSectionMessage(name: string): string {
  return `unknown section name "${name}"; known forms: ${knownSectionForms().join(', ')}`;
}

/** Match and parse a section name; undefined when the table does not know it. */
export function parseSection(name: string): ParsedSection | undefined {
  const m = matchSection(name);
  if (!m) return undefined;
  return { name, def: m.def, arg: m.target, target: parseAttachTarget(m.def, m.target) };
}

/** Split "func+off" (off decimal or 0x hex). */
function splitOffset(spec: string): { name: string; offset: number } {
  const m = /^(.*?)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(spec)!;
  return { name: m[1]!, offset: m[2] ? Number(m[2]) : 0 };
}

/**
 * The typed target of a section `def` whose argument is `arg` (the part after
 * "prefix/"; a program's attach target, possibly changed before attach).
 */
export function parseAttachTarget(def: SectionDef, arg: string): AttachTarget {
  const prefix = def.sec.replace(/\+$/, '');
  const spelled = arg ? `${prefix}/${arg}` : prefix;
  const none = (reason: string): AttachTarget => ({ kind: 'none', reason });
  const noArg = (): AttachTarget => none(`SEC("${prefix}") names no ${ARG_FORMS[def.attach]?.replace(/^<|>$/g, '') ?? 'target'} to attach to; write SEC("${prefix}/${ARG_FORMS[def.attach] ?? '<target>'}") or attach explicitly`);
  const retprobe = def.retprobe === true;
  switch (def.attach) {
    case 'tracepoint': {
      if (!arg) return noArg();
      const i = arg.indexOf('/');
      if (i <= 0 || i === arg.length - 1) return none(`"${arg}" is not <category>/<name>`);
      return { kind: 'tracepoint', category: arg.slice(0, i), name: arg.slice(i + 1) };
    }
    case 'raw_tracepoint':
      return arg ? { kind: 'raw_tracepoint', name: arg } : noArg();
    case 'tracing':
      if (def.progType === P.BPF_PROG_TYPE_EXT) return none(`SEC("${spelled}") replaces a function of another program; attach it explicitly with that program's fd`);
      return arg ? { kind: 'tracing', func: arg, attachType: def.expectedAttachType as A } : noArg();
    case 'kprobe': {
      if (!arg) return noArg();
      const { name, offset } = splitOffset(arg);
      return { kind: 'kprobe', func: name, offset, retprobe };
    }
    case 'ksyscall':
      return arg ? { kind: 'ksyscall', syscall: arg, retprobe } : noArg();
    case 'uprobe': {
      if (!arg) return noArg();
      // libbpf splits at the last ':' (the path may hold one; a function name may not)
      const colon = arg.lastIndexOf(':');
      if (colon <= 0) return none(`"${arg}" is not <path>:<function>[+<offset>]`);
      const { name, offset } = splitOffset(arg.slice(colon + 1));
      const isAddress = /^(0x[0-9a-fA-F]+|\d+)$/.test(name);
      return { kind: 'uprobe', binary: arg.slice(0, colon), func: isAddress ? undefined : name, offset: isAddress ? Number(name) + offset : offset, retprobe };
    }
    case 'iter':
      return arg ? { kind: 'iter', target: arg } : noArg();
    case 'xdp':
      // "xdp/<anything>" that is not devmap/cpumap: libbpf tolerates the suffix
      return { kind: 'xdp' };
    case 'tcx':
      return { kind: 'tcx', direction: def.expectedAttachType === A.BPF_TCX_EGRESS ? 'egress' : 'ingress' };
    case 'tc':
      return none(`SEC("${spelled}") has no direction; use tcx/ingress or tcx/egress, or call attachTcx()`);
    case 'cgroup':
      // BPF_CGROUP_INET_INGRESS is 0, so the table entry, not the type, marks the one without a direction
      if (def.sec === 'cgroup/skb') return none(`SEC("${spelled}") names no attach point; use cgroup_skb/ingress or cgroup_skb/egress, or call attachCgroup()`);
      if (def.expectedAttachType === A.BPF_LSM_CGROUP) return none(`SEC("${spelled}") has no auto-attach target; attach it explicitly with attachCgroup()`);
      return { kind: 'cgroup', attachType: def.expectedAttachType };
    case 'netns':
      return { kind: 'netns', attachType: def.expectedAttachType === A.BPF_SK_LOOKUP ? A.BPF_SK_LOOKUP : A.BPF_FLOW_DISSECTOR };
    case 'usdt': {
      // libbpf: exactly three ':'-separated fields, so the path has no ':'
      if (!arg) return noArg();
      const parts = arg.split(':');
      if (parts.length !== 3 || parts.some((p) => !p)) return none(`"${arg}" is not <path>:<provider>:<name>`);
      return { kind: 'usdt', binary: parts[0]!, provider: parts[1]!, name: parts[2]! };
    }
    // PENDING kinds (see AttachTarget)
    case 'kprobe_multi':
      return arg ? { kind: 'kprobe_multi', pattern: arg, retprobe, session: def.sec.startsWith('kprobe.session') } : noArg();
    case 'uprobe_multi': {
      if (!arg) return noArg();
      const colon = arg.lastIndexOf(':');
      if (colon <= 0) return none(`"${arg}" is not <path>:<pattern>`);
      return { kind: 'uprobe_multi', binary: arg.slice(0, colon), pattern: arg.slice(colon + 1), retprobe, session: def.sec.startsWith('uprobe.session') };
    }
    case 'struct_ops':
      return { kind: 'struct_ops', member: arg };
    case 'netkit':
    case 'sockmap':
    case 'perf_event':
    case 'syscall':
    case 'none':
      return none(`SEC("${spelled}") has no auto-attach target; attach it explicitly (see src/attach)`);
  }
}
