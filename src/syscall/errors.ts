import { TsbpfError } from '../errors.ts';
import { getSystemErrorMap } from 'node:util';

// errno numbers the kernel returns that libuv does not name.
const KERNEL_ONLY_ERRNO: Record<number, [string, string]> = {
  512: ['ERESTARTSYS', 'interrupted system call (restart)'],
  524: ['ENOTSUPP', 'operation not supported (kernel-internal ENOTSUPP)'],
};

const systemErrors = getSystemErrorMap();

/** The symbolic name of an errno value: 22 -> "EINVAL". */
export function errnoName(errno: number): string {
  return systemErrors.get(-errno)?.[0] ?? KERNEL_ONLY_ERRNO[errno]?.[0] ?? `errno ${errno}`;
}

/** A human description of an errno value: 22 -> "invalid argument". */
export function errnoDescription(errno: number): string {
  return systemErrors.get(-errno)?.[1] ?? KERNEL_ONLY_ERRNO[errno]?.[1] ?? 'unknown error';
}

export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const E2BIG = 7;
export const EBADF = 9;
export const EAGAIN = 11;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ENOSYS = 38;
export const EPERM = 1;
export const EOPNOTSUPP = 95;
export const ENOTSUPP = 524;

/**
 * A failed system call. `code` is the errno's name (`EINVAL`), `command` the
 * bpf command or libc call (`BPF_MAP_CREATE`, `perf_event_open`), `context`
 * what tsbpf was doing (`creating map "events"`).
 */
export class SyscallError extends TsbpfError {
  override readonly errno: number;
  override readonly code: string;
  readonly command: string;
  readonly context: string;
  constructor(command: string, errno: number, context: string, hint?: string) {
    const code = errnoName(errno);
    super(`${context}: ${code} (${errnoDescription(errno)}) from ${command}${hint ? `: ${hint}` : ''}`);
    this.name = 'SyscallError';
    this.errno = errno;
    this.code = code;
    this.command = command;
    this.context = context;
  }
}

/** A `bpf(2)` failure: a SyscallError whose command is a `BPF_*` name. */
export class BpfSyscallError extends SyscallError {
  constructor(command: string, errno: number, context: string, hint?: string) {
    super(command, errno, context, hint);
    this.name = 'BpfSyscallError';
  }
}
