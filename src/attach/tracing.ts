// BTF-typed tracing programs: tp_btf/, fentry/, fexit/, fmod_ret/, lsm/.
// Their target is fixed at load time (attach_btf_id, resolved by the object
// loader, e.g. with resolveAttachBtfId below); attaching only needs the
// program: BPF_RAW_TRACEPOINT_OPEN with a null name (every kernel since 5.5),
// or BPF_LINK_CREATE with the program's attach type when a cookie is wanted.
import { BtfKind } from '../btf/types.ts';
import { EPERM, SyscallError, linkCreate, rawTracepointOpen } from '../syscall/index.ts';
import { BpfAttachType, BpfProgType } from '../prog/index.ts';
import { AttachError } from './errors.ts';
import { Link, RawTracepointLink, TracingLink, type AttachableProgram } from './link.ts';

/** What resolveAttachBtfId needs of a BTF (src/btf's Btf has it). */
export interface BtfByName {
  findByNameKind(name: string, kind: number): number;
}

export interface TracingOptions {
  /**
   * The program's expected attach type (BPF_TRACE_FENTRY, BPF_TRACE_FEXIT,
   * BPF_MODIFY_RETURN, BPF_LSM_MAC, BPF_TRACE_RAW_TP). With it (and always
   * with a cookie) the link is made by BPF_LINK_CREATE.
   */
  attachType?: BpfAttachType;
  /** bpf_get_attach_cookie() value (BPF_LINK_CREATE, Linux 5.19+ for fentry/fexit). */
  cookie?: bigint;
  /** For messages: the target function/tracepoint ("do_sys_openat2"). */
  targetName?: string;
}

const KIND_NAMES: Partial<Record<BpfAttachType, string>> = {
  [BpfAttachType.BPF_TRACE_RAW_TP]: 'tp_btf',
  [BpfAttachType.BPF_TRACE_FENTRY]: 'fentry',
  [BpfAttachType.BPF_TRACE_FEXIT]: 'fexit',
  [BpfAttachType.BPF_MODIFY_RETURN]: 'fmod_ret',
  [BpfAttachType.BPF_LSM_MAC]: 'lsm',
  [BpfAttachType.BPF_LSM_CGROUP]: 'lsm_cgroup',
  [BpfAttachType.BPF_TRACE_ITER]: 'iter',
};

/** Attach a tp_btf/fentry/fexit/fmod_ret/lsm program to the target it was loaded for. */
export function attachTracing(prog: AttachableProgram, opts: TracingOptions = {}): Link {
  const kind = opts.attachType !== undefined ? (KIND_NAMES[opts.attachType] ?? BpfAttachType[opts.attachType]) : 'tracing';
  const target = `${kind} ${opts.targetName ?? '(load-time target)'}`;
  try {
    if (opts.cookie !== undefined || opts.attachType !== undefined) {
      if (opts.attachType === undefined) throw new AttachError(prog.name, target, 'a cookie needs BPF_LINK_CREATE, which needs the attach type: pass attachType');
      const fd = linkCreate(
        { prog_fd: prog.fd, target_fd: 0, attach_type: opts.attachType, tracing_cookie: opts.cookie ?? 0n },
        `attaching program "${prog.name}" to ${target}`,
      );
      return new TracingLink(prog.name, target, fd);
    }
    return new RawTracepointLink(prog.name, target, rawTracepointOpen(null, prog.fd, `attaching program "${prog.name}" to ${target}`));
  } catch (e) {
    if (e instanceof AttachError) throw e;
    const hint = e instanceof SyscallError && e.errno === EPERM ? ' (refused by the kernel: lockdown, an LSM or the local policy forbids BTF tracing attachments)' : '';
    throw new AttachError(prog.name, target, (e as Error).message + hint, { cause: e });
  }
}

/**
 * The kernel BTF id a BTF-typed program of `attachType` named after `name`
 * attaches to, as libbpf resolves it:
 *  - tp_btf (BPF_TRACE_RAW_TP): the typedef `btf_trace_<name>`;
 *  - lsm (BPF_LSM_MAC, BPF_LSM_CGROUP): the function `bpf_lsm_<name>`;
 *  - iter (BPF_TRACE_ITER): the function `bpf_iter_<name>`;
 *  - fentry/fexit/fmod_ret: the function `<name>` itself.
 */
export function resolveAttachBtfId(kernelBtf: BtfByName, progType: BpfProgType, attachType: BpfAttachType, name: string): number {
  let typeName = name;
  let kind: number = BtfKind.FUNC;
  let what = 'kernel function';
  if (attachType === BpfAttachType.BPF_TRACE_RAW_TP) {
    typeName = `btf_trace_${name}`;
    kind = BtfKind.TYPEDEF;
    what = 'BTF tracepoint';
  } else if (attachType === BpfAttachType.BPF_LSM_MAC || attachType === BpfAttachType.BPF_LSM_CGROUP || progType === BpfProgType.BPF_PROG_TYPE_LSM) {
    typeName = `bpf_lsm_${name}`;
    what = 'LSM hook';
  } else if (attachType === BpfAttachType.BPF_TRACE_ITER) {
    typeName = `bpf_iter_${name}`;
    what = 'BPF iterator';
  }
  const id = kernelBtf.findByNameKind(typeName, kind);
  if (id > 0) return id;
  const kindName = KIND_NAMES[attachType] ?? BpfAttachType[attachType];
  throw new AttachError('', `${kindName} ${name}`, `${what} ${name} does not exist in kernel BTF (no ${kind === BtfKind.TYPEDEF ? 'typedef' : 'function'} ${typeName})`);
}
