// The root of tsbpf's error hierarchy. Every error that src/ throws is a
// TsbpfError subclass, so `catch (e) { if (e instanceof TsbpfError) ... }`
// separates tsbpf's own failures (bad input, kernel refusals, misuse) from
// bugs. Each module keeps its own subclass (ElfError, BtfError, MapError,
// ProgramLoadError, AttachError, ...); the three below serve every module.

/** Base class of every error tsbpf throws. `errno`/`code` are set where a system call failed. */
export class TsbpfError extends Error {
  /** errno of the failed system call behind this error, when there is one. */
  errno?: number;
  /** errno name (`EPERM`) or another short machine-readable reason, when there is one. */
  code?: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TsbpfError';
  }
}

/**
 * The kernel (or this architecture) lacks what was asked for: a program or
 * map type, a helper, a link kind, a BTF kind. The message names the feature.
 */
export class NotSupportedError extends TsbpfError {
  constructor(
    /** What is missing, e.g. "BPF_MAP_TYPE_ARENA" or "kprobe.multi links". */
    readonly feature: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NotSupportedError';
  }
}

/**
 * The API was used in a way that cannot work: a call in the wrong order
 * (attach before load), on a closed or destroyed object, or with an argument
 * out of range. The message says what was wrong and what to do instead.
 */
export class UsageError extends TsbpfError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}
