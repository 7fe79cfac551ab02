// perf_event_open(2) and the perf ioctls: how tracepoints, kprobes, uprobes
// and perf_event programs get an event to attach to, and how the perf buffer
// gets its per-CPU rings.
import { createLog } from '../util/log.ts';
import { SyscallError } from './errors.ts';
import { FD } from './fd.ts';
import { Layout, type Values, u16, u32, u64, s32 } from './layout.ts';
import { SYS_perf_event_open, errno, libcIoctlInt, sysPerfEventOpen } from './libc.ts';

const log = createLog('tsbpf:syscall');

/** struct perf_event_attr (PERF_ATTR_SIZE_VER8). */
export const PerfEventAttr = new Layout('perf_event_attr', 136, {
  type: u32(0),
  size: u32(4),
  config: u64(8),
  /** sample_period, or sample_freq when the `freq` flag is set */
  sample_period: u64(16),
  sample_type: u64(24),
  read_format: u64(32),
  /** the bitfield word: disabled, inherit, pinned, ..., freq, ..., watermark, ... */
  flags: u64(40),
  /** wakeup_events, or wakeup_watermark when the `watermark` flag is set */
  wakeup_events: u32(48),
  bp_type: u32(52),
  /** config1 = kprobe_func / uprobe_path (pointers) / bp_addr */
  config1: u64(56),
  /** config2 = probe_offset / kprobe_addr / bp_len */
  config2: u64(64),
  branch_sample_type: u64(72),
  sample_regs_user: u64(80),
  sample_stack_user: u32(88),
  clockid: s32(92),
  sample_regs_intr: u64(96),
  aux_watermark: u32(104),
  sample_max_stack: u16(108),
  config3: u64(128),
});

/** enum perf_type_id */
export const PERF_TYPE_HARDWARE = 0;
export const PERF_TYPE_SOFTWARE = 1;
export const PERF_TYPE_TRACEPOINT = 2;
export const PERF_TYPE_HW_CACHE = 3;
export const PERF_TYPE_RAW = 4;
export const PERF_TYPE_BREAKPOINT = 5;

/** enum perf_sw_ids (a few) */
export const PERF_COUNT_SW_CPU_CLOCK = 0;
export const PERF_COUNT_SW_TASK_CLOCK = 1;
export const PERF_COUNT_SW_BPF_OUTPUT = 10;

/** perf_event_attr bitfield flags (bit positions in the `flags` word). */
export const PerfFlag = {
  disabled: 1n << 0n,
  inherit: 1n << 1n,
  pinned: 1n << 2n,
  exclusive: 1n << 3n,
  exclude_user: 1n << 4n,
  exclude_kernel: 1n << 5n,
  exclude_hv: 1n << 6n,
  exclude_idle: 1n << 7n,
  freq: 1n << 10n,
  watermark: 1n << 14n,
} as const;

export const PERF_SAMPLE_RAW = 1n << 10n;
export const PERF_FLAG_FD_CLOEXEC = 1 << 3;

/** ioctl request numbers (_IO('$', n) and _IOW('$', 8, __u32)). */
export const PERF_EVENT_IOC_ENABLE = 0x2400;
export const PERF_EVENT_IOC_DISABLE = 0x2401;
export const PERF_EVENT_IOC_RESET = 0x2403;
export const PERF_EVENT_IOC_SET_BPF = 0x40042408;

export type PerfEventValues = Values<(typeof PerfEventAttr)['fields']>;

/**
 * perf_event_open. `keepAlive` holds buffers whose addresses were written in
 * config1/config2 (kprobe function name, uprobe path) until the call returns.
 */
export function perfEventOpen(
  values: PerfEventValues,
  pid: number,
  cpu: number,
  context: string,
  groupFd = -1,
  flags = PERF_FLAG_FD_CLOEXEC,
): FD {
  const attr = PerfEventAttr.create({ size: PerfEventAttr.size, ...values });
  const fd = sysPerfEventOpen(SYS_perf_event_open, attr.buf, pid, cpu, groupFd, flags);
  if (fd < 0) {
    const e = errno();
    log('perf_event_open(type=%d, config=%s, pid=%d, cpu=%d) failed: errno %d', values.type, values.config, pid, cpu, e);
    throw new SyscallError('perf_event_open', e, context);
  }
  log('perf_event_open(type=%d, config=%s, pid=%d, cpu=%d) -> fd %d', values.type, values.config, pid, cpu, fd);
  return new FD(fd, `perf event (${context})`);
}

/** ioctl(fd, request, int arg), throwing a SyscallError naming `context`. */
export function ioctl(fd: number, request: number, arg: number, context: string): number {
  const ret = libcIoctlInt(fd, request, arg);
  if (ret < 0) throw new SyscallError(`ioctl(0x${request.toString(16)})`, errno(), context);
  return ret;
}
