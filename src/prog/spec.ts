import type { BpfAttachType, BpfProgType } from './types.ts';

/**
 * Everything BPF_PROG_LOAD needs, described without touching the kernel. The
 * object loader builds one per program after linking and relocation; tests
 * can build one by hand from raw instructions.
 */
export interface ProgramSpec {
  /** The program's (function's) name; the kernel keeps the first 15 bytes. */
  name: string;
  type: BpfProgType;
  expectedAttachType?: BpfAttachType;
  /** Raw `struct bpf_insn` stream, 8 bytes per instruction. */
  insns: Uint8Array;
  license: string;
  /** Needed by kprobe programs on kernels before 5.0; 0 elsewhere. */
  kernVersion?: number;
  /** BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, ... */
  flags?: number;
  /** The ELF section it came from (for messages). */
  sectionName?: string;
  /** BTF-enabled programs (fentry/fexit/tp_btf/lsm/iter/struct_ops): the target's BTF id. */
  attachBtfId?: number;
  /** fd of the BTF object holding attachBtfId when it is a module's (0 = vmlinux). */
  attachBtfObjFd?: number;
  /** freplace / fentry on a BPF program: fd of the target program. */
  attachProgFd?: number;
  /** Program BTF and its func_info/line_info, already in kernel record format. */
  btf?: ProgramBtf;
  /** Maps and BTF objects referenced by index (BPF_PSEUDO_MAP_IDX, kfunc module BTFs). */
  fdArray?: number[];
  /** A BPF token (6.9+) that permits the load (a user namespace's delegated bpffs). */
  tokenFd?: number;
  /** Network device the program is bound to (offload, XDP dev-bound). */
  ifindex?: number;
}

export interface ProgramBtf {
  /** fd of the object's BTF loaded with BPF_BTF_LOAD. */
  btfFd: number;
  funcInfo?: Uint8Array;
  funcInfoRecSize?: number;
  lineInfo?: Uint8Array;
  lineInfoRecSize?: number;
}

export interface LoadOptions {
  /** Verifier log level used when the first, log-less, load fails (default 1). 0 disables the retry. */
  logLevel?: number;
  /** Load with this log level from the start (e.g. 2 to see every state) and keep the log. */
  alwaysLog?: boolean;
  /** Upper bound for the verifier log buffer (default 16 MiB). */
  logSizeMax?: number;
  /** Called with a failed load's log; may return extra lines for the error (source line, CO-RE notes). */
  explain?: (log: string) => string | undefined;
  /** Name of the object the program belongs to, first in error messages. */
  object?: string;
}
