// What differs between the architectures tsbpf runs on: syscall numbers, the
// page size, the prefix of syscall entry points in the kernel. One row per
// architecture; importing tsbpf on one without a row throws, instead of
// calling whatever syscall the x86_64 number means there.
import { NotSupportedError } from '../errors.ts';

export interface ArchInfo {
  /** Node's name for it (process.arch). */
  readonly name: string;
  /** __NR_bpf (asm/unistd.h) */
  readonly SYS_bpf: number;
  /** __NR_perf_event_open */
  readonly SYS_perf_event_open: number;
  /** Page size the kernel maps ring buffers and mmapable maps with. */
  readonly pageSize: number;
  /** Prefix of syscall entry points that take pt_regs ("__x64_" + "sys_getpgid"), since 4.17. */
  readonly syscallPrefix: string;
}

export const ARCHES: Readonly<Record<string, ArchInfo>> = {
  x64: { name: 'x64', SYS_bpf: 321, SYS_perf_event_open: 298, pageSize: 4096, syscallPrefix: '__x64_' },
  // arm64 kernels may be built with 16K or 64K pages; Debian's and most distributions' use 4K.
  arm64: { name: 'arm64', SYS_bpf: 280, SYS_perf_event_open: 241, pageSize: 4096, syscallPrefix: '__arm64_' },
};

/** The row of `arch`, or a NotSupportedError naming it and the supported ones. */
export function archInfo(arch: string): ArchInfo {
  const info = ARCHES[arch];
  if (!info) throw new NotSupportedError(`architecture ${arch}`, `tsbpf: unsupported architecture "${arch}" (supported: ${Object.keys(ARCHES).join(', ')}); its syscall numbers are not known`);
  return info;
}

/** This process's architecture (throws at import on an unsupported one). */
export const ARCH: ArchInfo = archInfo(process.arch);

export const PAGE_SIZE = ARCH.pageSize;
