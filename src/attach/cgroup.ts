// cgroup programs (SEC("cgroup_skb/ingress"), SEC("cgroup/connect4"), ...):
// they need a cgroup to attach to, so there is no auto-attach. BPF_LINK_CREATE
// with the cgroup's directory fd (Linux 5.7+), falling back to
// BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI on kernels without cgroup links.
import { constants, openSync } from 'node:fs';
import { EINVAL, FD, SyscallError, lastErrno, libcDup, linkCreate, progAttach, progDetach } from '../syscall/index.ts';
import { BpfAttachType } from '../prog/index.ts';
import { AttachError } from './errors.ts';
import { CgroupLink, ProgAttachLink, type AttachableProgram, type Link } from './link.ts';

import { BPF_F_ALLOW_MULTI, BPF_F_ALLOW_OVERRIDE, BPF_F_REPLACE, F_DUPFD_CLOEXEC } from '../uapi/defines.ts';
export { BPF_F_ALLOW_MULTI, BPF_F_ALLOW_OVERRIDE, BPF_F_REPLACE };

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
  let linkError: unknown;
  try {
    if (!opts.legacy) {
      try {
        const link = linkCreate({ prog_fd: prog.fd, target_fd: fd.value, attach_type: attachType }, context);
        return new CgroupLink(prog.name, target, link, [fd]);
      } catch (e) {
        // EINVAL: a kernel without cgroup BPF links (before 5.7); anything else is a real error.
        if (!(e instanceof SyscallError && e.errno === EINVAL)) throw e;
        linkError = e;
      }
    }
    const flags = opts.legacyFlags ?? BPF_F_ALLOW_MULTI;
    progAttach(fd.value, prog.fd, attachType, flags, context);
    // Detaching needs the program's fd later, even if the caller has closed its
    // Program by then: the link keeps its own duplicate.
    const progFd = new FD(dupOrThrow(prog.fd), `program ${prog.name} (for detach)`);
    const cgFd = fd.value;
    return new ProgAttachLink(prog.name, target, fd, () => progDetach(cgFd, progFd.value, attachType, `detaching program "${prog.name}" from ${target}`), [progFd]);
  } catch (e) {
    fd.close();
    // When the BPF link was refused too, say so: its EINVAL may be the real cause (a wrong program type).
    const reason = linkError ? `BPF_LINK_CREATE failed (${(linkError as Error).message}); the BPF_PROG_ATTACH fallback failed too: ${(e as Error).message}` : (e as Error).message;
    throw new AttachError(prog.name, target, reason, { cause: e });
  }
}

/** F_DUPFD_CLOEXEC: a duplicate fd, closed on exec. */

function dupOrThrow(fd: number): number {
  const copy = libcDup(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw new SyscallError('fcntl(F_DUPFD_CLOEXEC)', lastErrno(), `duplicating fd ${fd}`);
  return copy;
}

function dupFd(fd: number): number {
  // an fd given by the caller stays the caller's: we own a duplicate
  return openSync(`/proc/self/fd/${fd}`, constants.O_RDONLY | constants.O_DIRECTORY);
}
