// perf_event_open(2) and the perf ioctls: how tracepoints, kprobes, uprobes
// and perf_event programs get an event to attach to, and how the perf buffer
// gets its per-CPU rings.
import { createLog } from '../util/log.ts';
import { SyscallError } from './errors.ts';
import { FD } from './fd.ts';
import { Layout, type Values } from './layout.ts';
import { PERF_ATTR_FLAGS, PERF_EVENT_ATTR, PerfEventSampleFormat, PerfSwIds, PerfTypeId } from '../uapi/kernel.ts';
import { PERF_EVENT_IOC_DISABLE, PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_RESET, PERF_EVENT_IOC_SET_BPF, PERF_FLAG_FD_CLOEXEC } from '../uapi/defines.ts';
import { SYS_perf_event_open, errno, libcIoctlInt, sysPerfEventOpen } from './libc.ts';

const log = createLog('tsbpf:syscall');

/** struct perf_event_attr (PERF_ATTR_SIZE_VER8), laid out from the kernel's BTF. */
export const PerfEventAttr = new Layout(PERF_EVENT_ATTR.name, PERF_EVENT_ATTR.size, PERF_EVENT_ATTR.fields);

const { PERF_TYPE_HARDWARE, PERF_TYPE_SOFTWARE, PERF_TYPE_TRACEPOINT, PERF_TYPE_HW_CACHE, PERF_TYPE_RAW, PERF_TYPE_BREAKPOINT } = PerfTypeId;
const { PERF_COUNT_SW_CPU_CLOCK, PERF_COUNT_SW_TASK_CLOCK, PERF_COUNT_SW_BPF_OUTPUT } = PerfSwIds;
/** enum perf_type_id, enum perf_sw_ids (some), under their kernel names. */
export { PERF_TYPE_HARDWARE, PERF_TYPE_SOFTWARE, PERF_TYPE_TRACEPOINT, PERF_TYPE_HW_CACHE, PERF_TYPE_RAW, PERF_TYPE_BREAKPOINT };
export { PERF_COUNT_SW_CPU_CLOCK, PERF_COUNT_SW_TASK_CLOCK, PERF_COUNT_SW_BPF_OUTPUT };

/** perf_event_attr bitfield flags (bit positions in the `flags` word, from the kernel's BTF). */
export const PerfFlag = PERF_ATTR_FLAGS;

/** perf_event_attr.sample_type's PERF_SAMPLE_RAW, as the u64 the field holds. */
export const PERF_SAMPLE_RAW = BigInt(PerfEventSampleFormat.PERF_SAMPLE_RAW);
export { PERF_FLAG_FD_CLOEXEC, PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_DISABLE, PERF_EVENT_IOC_RESET, PERF_EVENT_IOC_SET_BPF };

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
