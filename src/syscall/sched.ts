// Scheduling of the calling thread: its nice value (setpriority(2)) or a
// real-time FIFO priority (sched_setscheduler(2)). Linux schedules threads,
// not processes: with a thread id as `who`, PRIO_PROCESS and
// sched_setscheduler change that one thread and leave the rest of the
// process as it was.
import { SyscallError } from './errors.ts';
import { errno, libcGettid, libcSchedSetscheduler, libcSetpriority } from './libc.ts';
import { PRIO_PROCESS, SCHED_FIFO } from '../uapi/defines.ts';

/** The kernel's id of the calling thread (gettid(2)). */
export function gettid(): number {
  return libcGettid();
}

const PRIVILEGE = 'raising a thread above its process needs CAP_SYS_NICE (or an RLIMIT_NICE / RLIMIT_RTPRIO allowance)';

/** Give the calling thread a nice value (-20, the most favoured, to 19). */
export function setThreadNice(nice: number, what: string): void {
  const tid = libcGettid();
  if (libcSetpriority(PRIO_PROCESS, tid, nice) !== 0) throw new SyscallError('setpriority', errno(), `${what}: nice ${nice} for thread ${tid}`, PRIVILEGE);
}

/** Put the calling thread under SCHED_FIFO at `priority` (1 to 99). */
export function setThreadFifo(priority: number, what: string): void {
  const tid = libcGettid();
  if (libcSchedSetscheduler(tid, SCHED_FIFO, Int32Array.of(priority)) !== 0)
    throw new SyscallError('sched_setscheduler', errno(), `${what}: SCHED_FIFO priority ${priority} for thread ${tid}`, PRIVILEGE);
}
