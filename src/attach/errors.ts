// The one error type of src/attach: it names the program, the attach target
// and the reason, e.g.
//   program "count_getpgid": cannot attach to tracepoint syscalls/sys_enter_nope:
//   tracepoint syscalls/sys_enter_nope does not exist (no /sys/kernel/tracing/events/syscalls/sys_enter_nope)
import { TsbpfError } from '../errors.ts';
import { SyscallError } from '../syscall/index.ts';

export class AttachError extends TsbpfError {
  /** The program's name ('' when the error is not about one program). */
  readonly program: string;
  /** What was being attached to, human readable ("tracepoint syscalls/sys_enter_getpgid"). */
  readonly target: string;
  /** Why it failed, without the program/target prefix. */
  readonly reason: string;
  /** errno name when a system call failed ("ENOENT"), else undefined. */
  override readonly code: string | undefined;

  constructor(program: string, target: string, reason: string, options?: { cause?: unknown }) {
    const who = program ? `program "${program}": ` : '';
    super(`${who}cannot attach to ${target}: ${reason}`, options);
    this.name = 'AttachError';
    this.program = program;
    this.target = target;
    this.reason = reason;
    const cause = options?.cause;
    this.code = cause instanceof SyscallError ? cause.code : cause instanceof AttachError ? cause.code : undefined;
  }
}

/** Re-throw `e` as an AttachError about `program`/`target` unless it already is one. */
export function asAttachError(e: unknown, program: string, target: string): AttachError {
  if (e instanceof AttachError) return e;
  const reason = e instanceof Error ? e.message : String(e);
  return new AttachError(program, target, reason, { cause: e });
}
