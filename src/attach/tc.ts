// tc programs through tcx (SEC("tcx/ingress"), SEC("tcx/egress"), and the
// classic SEC("tc")/SEC("classifier") given a direction): BPF_LINK_CREATE on
// the interface index with BPF_TCX_INGRESS/EGRESS (Linux 6.6+), placed
// relative to another program or link if asked.
import { linkCreate } from '../syscall/index.ts';
import { BpfAttachType } from '../prog/index.ts';
import { AttachError } from './errors.ts';
import { TcxLink, type AttachableProgram } from './link.ts';
import { ifindexOf } from './netdev.ts';
import { BPF_F_AFTER, BPF_F_BEFORE, BPF_F_ID } from '../uapi/defines.ts';
import { BPF_F_LINK } from '../maps/types.ts';

/** BPF_F_BEFORE / BPF_F_AFTER / BPF_F_ID / BPF_F_LINK (mprog placement flags, src/uapi). */
export { BPF_F_AFTER, BPF_F_BEFORE, BPF_F_ID };
/** Same bit as the map flag BPF_F_LINK; re-exported from src/maps. */
export { BPF_F_LINK };

export interface TcxOptions {
  /** Placement: BPF_F_BEFORE/BPF_F_AFTER, optionally with BPF_F_ID/BPF_F_LINK. */
  flags?: number;
  /** The program/link fd (or id with BPF_F_ID) the placement is relative to. */
  relativeFdOrId?: number;
  /** Fail with ESTALE unless the hook's revision is this one. */
  expectedRevision?: bigint;
}

/** Attach a tc program to the ingress or egress tcx hook of `dev`. */
export function attachTcx(prog: AttachableProgram, dev: string | number, direction: 'ingress' | 'egress', opts: TcxOptions = {}): TcxLink {
  const target = `tcx ${direction} on ${typeof dev === 'number' ? `ifindex ${dev}` : dev}`;
  const ifindex = ifindexOf(dev, prog.name, target);
  try {
    const fd = linkCreate(
      {
        prog_fd: prog.fd,
        target_fd: ifindex,
        attach_type: direction === 'ingress' ? BpfAttachType.BPF_TCX_INGRESS : BpfAttachType.BPF_TCX_EGRESS,
        flags: opts.flags ?? 0,
        tcx_relative_fd: opts.relativeFdOrId ?? 0,
        tcx_expected_revision: opts.expectedRevision ?? 0n,
      },
      `attaching program "${prog.name}" to ${target}`,
    );
    return new TcxLink(prog.name, target, fd);
  } catch (e) {
    throw new AttachError(prog.name, target, (e as Error).message, { cause: e });
  }
}
