// Raw tracepoints (SEC("raw_tp/<name>"), SEC("raw_tracepoint/<name>")):
// BPF_RAW_TRACEPOINT_OPEN names the kernel tracepoint directly; no tracefs,
// no perf event. The fd it returns is a BPF link (type RAW_TRACEPOINT).
import { ENOENT, rawTracepointOpen, SyscallError } from '../syscall/index.ts';
import { AttachError } from './errors.ts';
import { RawTracepointLink, type AttachableProgram } from './link.ts';

export interface RawTracepointOptions {
  /** bpf_get_attach_cookie() value (Linux 6.10+). */
  cookie?: bigint;
}

/** Attach a raw tracepoint program to the kernel tracepoint `name` ("sys_enter", "sched_switch"). */
export function attachRawTracepoint(prog: AttachableProgram, name: string, opts: RawTracepointOptions = {}): RawTracepointLink {
  const target = `raw tracepoint ${name}`;
  try {
    const fd = rawTracepointOpen(name, prog.fd, `attaching program "${prog.name}" to ${target}`, opts.cookie);
    return new RawTracepointLink(prog.name, target, fd);
  } catch (e) {
    if (e instanceof SyscallError && e.errno === ENOENT)
      throw new AttachError(prog.name, target, `raw tracepoint ${name} does not exist in this kernel (BPF_RAW_TRACEPOINT_OPEN: ENOENT)`, { cause: e });
    throw new AttachError(prog.name, target, (e as Error).message, { cause: e });
  }
}
