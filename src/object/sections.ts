// The ELF section name of a program decides its program type, its expected
// attach type and how it auto-attaches — libbpf's `section_defs` table. A
// name matches an entry exactly, or by prefix when the entry ends with '+'
// ("tp+" matches "tp/sched/sched_switch"; the part after '/' is the target).
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
