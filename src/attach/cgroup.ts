// cgroup programs (SEC("cgroup_skb/ingress"), SEC("cgroup/connect4"), ...):
// they need a cgroup to attach to, so there is no auto-attach. BPF_LINK_CREATE
// with the cgroup's directory fd (Linux 5.7+), falling back to
// BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI on kernels without cgroup links.
import { constants, openSync } from 'node:fs';
import { EINVAL, FD, SyscallError, linkCreate, progAttach, progDetach } from '../syscall/index.ts';
import { BpfAttachType } from '../prog/index.ts';
import { AttachError } from './errors.ts';
import { CgroupLink, ProgAttachLink, type AttachableProgram, type Link } from './link.ts';

export const BPF_F_ALLOW_OVERRIDE = 1 << 0;
export const BPF_F_ALLOW_MULTI = 1 << 1;
export const BPF_F_REPLACE = 1 << 2;

export interface CgroupOptions {
  /** Use BPF_PROG_ATTACH even when cgroup links exist. */
  legacy?: boolean;
  /** BPF_PROG_ATTACH flags (default BPF_F_ALLOW_MULTI). */
  legacyFlags?: number;
}

/** Attach a cgroup program to cgroup `cgroup` (a cgroup v2 directory path, or an open fd we do not take). */
export function attachCgroup(prog: AttachableProgram, cgroup: string | number, attachType: BpfAttachType, opts: CgroupOptions = {}): Link {
  const target = `cgroup ${cgroup} (${BpfAttachType[attachType] ?? attachType})`;
  let fd: FD;
  try {
    fd = new FD(typeof cgroup === 'number' ? dupFd(cgroup) : openSync(cgroup, constants.O_RDONLY | constants.O_DIRECTORY), `cgroup ${cgroup}`);
  } catch (e) {
    throw new AttachError(prog.name, target, `cannot open cgroup ${cgroup}: ${(e as Error).message}`, { cause: e });
  }
  const context = `attaching program "${prog.name}" to ${target}`;
  try {
    if (!opts.legacy) {
      try {
        const link = linkCreate({ prog_fd: prog.fd, target_fd: fd.value, attach_type: attachType }, context);
        return new CgroupLink(prog.name, target, link, [fd]);
      } catch (e) {
        // EINVAL: a kernel without cgroup BPF links (before 5.7); anything else is a real error.
        if (!(e instanceof SyscallError && e.errno === EINVAL)) throw e;
      }
    }
    const flags = opts.legacyFlags ?? BPF_F_ALLOW_MULTI;
    progAttach(fd.value, prog.fd, attachType, flags, context);
    const cgFd = fd.value;
    return new ProgAttachLink(prog.name, target, fd, () => progDetach(cgFd, prog.fd, attachType, `detaching program "${prog.name}" from ${target}`));
  } catch (e) {
    fd.close();
    throw new AttachError(prog.name, target, (e as Error).message, { cause: e });
  }
}

function dupFd(fd: number): number {
  // an fd given by the caller stays the caller's: we own a duplicate
  return openSync(`/proc/self/fd/${fd}`, constants.O_RDONLY | constants.O_DIRECTORY);
}
