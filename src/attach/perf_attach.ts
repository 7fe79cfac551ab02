// Attaching a program to an open perf event: the one step tracepoints,
// kprobes, uprobes and perf_event programs share. Kernels since 5.15 have BPF
// perf links (BPF_LINK_CREATE, attach type BPF_PERF_EVENT, with an optional
// bpf_cookie since 5.15 too); older ones take PERF_EVENT_IOC_SET_BPF and
// PERF_EVENT_IOC_ENABLE on the perf fd.
import createDebug from 'debug';
import { FD, PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_SET_BPF, ioctl, linkCreate } from '../syscall/index.ts';
import { BpfAttachType } from '../prog/index.ts';
import { hasPerfLink } from '../features/index.ts';
import { AttachError } from './errors.ts';
import { PerfEventLink, type AttachableProgram } from './link.ts';

const log = createDebug('tsbpf:attach');

export interface PerfAttachOptions {
  /** bpf_get_attach_cookie() value (BPF perf links only). */
  cookie?: bigint;
  /** Attach with PERF_EVENT_IOC_SET_BPF even when BPF perf links exist. */
  forceIoctl?: boolean;
}

/**
 * Attach `prog` to the perf event `perf` (taking ownership of it: closed on
 * failure). `make` builds the link object (so legacy probes can add cleanup).
 */
export function attachToPerfEvent<L extends PerfEventLink>(
  prog: AttachableProgram,
  perf: FD,
  target: string,
  opts: PerfAttachOptions,
  make: (perf: FD, link: FD | undefined) => L,
): L {
  try {
    if (!opts.forceIoctl && hasPerfLink()) {
      const link = linkCreate(
        { prog_fd: prog.fd, target_fd: perf.value, attach_type: BpfAttachType.BPF_PERF_EVENT, perf_event_bpf_cookie: opts.cookie ?? 0n },
        `attaching program "${prog.name}" to ${target}`,
      );
      log('attached "%s" to %s with a BPF perf link', prog.name, target);
      return make(perf, link);
    }
    if (opts.cookie !== undefined && opts.cookie !== 0n)
      throw new AttachError(prog.name, target, 'a bpf_cookie needs BPF perf links (Linux 5.15+); this attachment uses PERF_EVENT_IOC_SET_BPF');
    ioctl(perf.value, PERF_EVENT_IOC_SET_BPF, prog.fd, `attaching program "${prog.name}" to ${target} (PERF_EVENT_IOC_SET_BPF)`);
    ioctl(perf.value, PERF_EVENT_IOC_ENABLE, 0, `enabling ${target}`);
    log('attached "%s" to %s with PERF_EVENT_IOC_SET_BPF', prog.name, target);
    return make(perf, undefined);
  } catch (e) {
    perf.close();
    if (e instanceof AttachError) throw e;
    throw new AttachError(prog.name, target, (e as Error).message, { cause: e });
  }
}
