// BPF link kinds: can the kernel make a link of this kind? The probes ask
// BPF_LINK_CREATE with a target that cannot exist, so nothing is attached:
// the errno tells whether the kernel knows the kind (it checks the kind
// before the target). Kinds without such a probe are answered from the
// running kernel's own BTF (is the enumerator in its enum bpf_link_type?).
import { BTF_KIND_ENUM, loadKernelBtf, type BtfEnum } from '../btf/index.ts';
import { TsbpfError, UsageError } from '../errors.ts';
import { BpfAttachType, BpfProgType, Program, asm, encodeInsns, type ProgramSpec } from '../prog/index.ts';
import { EBADF, EINVAL, ENODEV, ENOENT, EOPNOTSUPP, ESRCH, addressOf, linkCreate } from '../syscall/index.ts';
import { BpfLinkType } from '../uapi/kernel.ts';
import { cached, errnoOf } from './cache.ts';

const RETURN_0 = encodeInsns([asm.mov64Imm(0, 0), asm.exit()]);

/** Load `spec` (returning 0), run `attempt` with its fd, close it; false when the program type is refused as unknown. */
function withProgram(spec: Omit<ProgramSpec, 'insns' | 'license' | 'name'>, attempt: (fd: number) => boolean): boolean {
  let prog: Program;
  try {
    prog = Program.load({ name: 'probe_link', license: 'GPL', insns: RETURN_0, ...spec }, { logLevel: 0 });
  } catch (e) {
    if (errnoOf(e) === EINVAL) return false; // the expected attach type is unknown: so is the link kind
    throw e;
  }
  try {
    return attempt(prog.fd);
  } finally {
    prog.close();
  }
}

/** BPF_LINK_CREATE expected to fail; `yes` are the errnos that mean "the kind is known". */
function linkErrno(values: Parameters<typeof linkCreate>[0], yes: number[], what: string): boolean {
  try {
    linkCreate(values, `probing ${what}`).close();
    return true;
  } catch (e) {
    const errno = errnoOf(e);
    if (errno !== undefined && yes.includes(errno)) return true;
    if (errno === EINVAL || errno === EOPNOTSUPP) return false;
    throw e;
  }
}

const PROBES: Partial<Record<BpfLinkType, () => boolean>> = {
  // libbpf's probe: a bad perf event fd is EBADF once BPF_PERF_EVENT links exist (5.15), EINVAL before
  [BpfLinkType.BPF_LINK_TYPE_PERF_EVENT]: () =>
    withProgram({ type: BpfProgType.BPF_PROG_TYPE_TRACEPOINT }, (fd) =>
      linkErrno({ prog_fd: fd, target_fd: -1 >>> 0, attach_type: BpfAttachType.BPF_PERF_EVENT }, [EBADF], 'BPF perf links')),
  // a symbol that does not exist: ESRCH (ENOENT before 6.0) once the kind is known, EOPNOTSUPP without CONFIG_FPROBE
  [BpfLinkType.BPF_LINK_TYPE_KPROBE_MULTI]: () =>
    withProgram({ type: BpfProgType.BPF_PROG_TYPE_KPROBE, expectedAttachType: BpfAttachType.BPF_TRACE_KPROBE_MULTI }, (fd) => {
      const name = Buffer.from('tsbpf_no_such_symbol\0');
      const syms = new BigUint64Array([addressOf(name)]);
      return linkErrno({ prog_fd: fd, attach_type: BpfAttachType.BPF_TRACE_KPROBE_MULTI, kprobe_multi_cnt: 1, kprobe_multi_syms: syms }, [ENOENT, ESRCH], 'kprobe.multi links');
    }),
  // path "/" is not a regular file: EBADF once uprobe.multi links exist (6.6)
  [BpfLinkType.BPF_LINK_TYPE_UPROBE_MULTI]: () =>
    withProgram({ type: BpfProgType.BPF_PROG_TYPE_KPROBE, expectedAttachType: BpfAttachType.BPF_TRACE_UPROBE_MULTI }, (fd) =>
      linkErrno(
        { prog_fd: fd, attach_type: BpfAttachType.BPF_TRACE_UPROBE_MULTI, uprobe_multi_path: Buffer.from('/\0'), uprobe_multi_offsets: new BigUint64Array(1), uprobe_multi_cnt: 1 },
        [EBADF],
        'uprobe.multi links',
      )),
  // interface index 0 does not exist: ENODEV once the kind is known
  [BpfLinkType.BPF_LINK_TYPE_TCX]: () =>
    withProgram({ type: BpfProgType.BPF_PROG_TYPE_SCHED_CLS }, (fd) =>
      linkErrno({ prog_fd: fd, target_fd: 0, attach_type: BpfAttachType.BPF_TCX_INGRESS }, [ENODEV], 'tcx links')),
  [BpfLinkType.BPF_LINK_TYPE_NETKIT]: () =>
    withProgram({ type: BpfProgType.BPF_PROG_TYPE_SCHED_CLS }, (fd) =>
      linkErrno({ prog_fd: fd, target_fd: 0, attach_type: BpfAttachType.BPF_NETKIT_PRIMARY }, [ENODEV], 'netkit links')),
};

/** Is `name` an enumerator of the running kernel's enum bpf_link_type? */
function kernelKnowsLinkType(name: string): boolean {
  let btf;
  try {
    btf = loadKernelBtf();
  } catch (e) {
    throw new TsbpfError(`cannot tell whether the kernel has ${name}: no probe for it, and no kernel BTF to look it up in`, { cause: e });
  }
  const id = btf.findByNameKind('bpf_link_type', BTF_KIND_ENUM);
  return id > 0 && (btf.type(id) as BtfEnum).values.some((v) => v.name === name);
}

/**
 * Can the kernel make BPF links of `kind` (BPF_LINK_TYPE_*)? true or false;
 * a refusal that says nothing about support (EPERM) is thrown.
 */
export function haveLinkKind(kind: number): boolean {
  const name = BpfLinkType[kind];
  if (name === undefined || kind === BpfLinkType.BPF_LINK_TYPE_UNSPEC) throw new UsageError(`haveLinkKind: ${kind} is not a BPF_LINK_TYPE_*`);
  return cached(`link:${name}`, PROBES[kind as BpfLinkType] ?? (() => kernelKnowsLinkType(name)));
}

/** Does the kernel have BPF perf links (attach through BPF_LINK_CREATE rather than PERF_EVENT_IOC_SET_BPF)? */
export function hasPerfLink(): boolean {
  return haveLinkKind(BpfLinkType.BPF_LINK_TYPE_PERF_EVENT);
}
