// The syscall layer: the only code that touches koffi.
export * from './errors.ts';
export * from './fd.ts';
export * from './layout.ts';
export * from './attr.ts';
export * from './bpf.ts';
export * from './perf.ts';
export * from './mem.ts';
export { readFileRaw } from './file.ts';
export { addressOf, viewOf, nodePoll, libcRead, libcPoll, errno as lastErrno, libcIoctlPtr, libcMount, libcGetpgid, libcDup } from './libc.ts';
export { EventFd } from './eventfd.ts';
export { gettid, setThreadFifo, setThreadNice } from './sched.ts';
