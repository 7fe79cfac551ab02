process.env.UV_THREADPOOL_SIZE ??= '16';
import { libcMount, libcCloseAsync, libcGetpgid } from '../src/syscall/libc.ts';
import { perfEventOpen, PERF_TYPE_TRACEPOINT, linkCreate, mapCreate, FD, ioctl, PERF_EVENT_IOC_SET_BPF, PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_DISABLE, linkDetach } from '../src/syscall/index.ts';
import { Program, BpfProgType, BpfAttachType, asm, encodeInsns } from '../src/prog/index.ts';
import { existsSync, readFileSync } from 'node:fs';
if (!existsSync('/sys/kernel/tracing/events')) console.log('mount', libcMount('nodev', '/sys/kernel/tracing', 'tracefs', 0, null));
const tp = process.argv[3] ?? 'syscalls/sys_enter_getpgid';
const tps=['getpgid','getppid','getpid','gettid','getuid','geteuid','getgid','getegid','getsid','getpgrp'].map(n=>Number(readFileSync(`/sys/kernel/tracing/events/syscalls/sys_enter_${n}/id`, 'utf8')));
const prog = Program.load({ name: 'x', type: BpfProgType.BPF_PROG_TYPE_TRACEPOINT, insns: encodeInsns([asm.mov64Imm(0, 0), asm.exit()]), license: 'GPL' });
const N = 10;
const mode = process.argv[2];
function attach() {
  const links: { l?: FD; p: FD }[] = [];
  for (let i = 0; i < N; i++) {
    const p = perfEventOpen({ type: PERF_TYPE_TRACEPOINT, config: tps[i], sample_period: 1, wakeup_events: 1 }, -1, 0, 'x');
    if (mode?.startsWith('ioctl')) { ioctl(p.value, PERF_EVENT_IOC_SET_BPF, prog.fd, 'x'); ioctl(p.value, PERF_EVENT_IOC_ENABLE, 0, 'x'); links.push({ p }); }
    else links.push({ p, l: linkCreate({ prog_fd: prog.fd, target_fd: p.value, attach_type: BpfAttachType.BPF_PERF_EVENT }, 'x') });
  }
  return links;
}
const closeAsync = (fd: number) => new Promise<void>((res, rej) => libcCloseAsync.async(fd, (e, r) => (e ? rej(e) : res())));
for (let rep = 0; rep < 3; rep++) {
  const links = attach();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  if (mode === 'sync') for (const x of links) { x.l?.close(); x.p.close(); }
  else if (mode === 'synclinkfirst') { for (const x of links) x.l?.close(); const t1 = performance.now(); console.log(' links', (t1 - t0).toFixed(1)); for (const x of links) x.p.close(); }
  else if (mode === 'async' || mode === 'ioctlasync') {
    const fds: number[] = [];
    for (const x of links) { if (x.l) fds.push(x.l.value); fds.push(x.p.value); }
    // raw: bypass FD close (leaks FD bookkeeping, fine for experiment)
    await Promise.all(links.map(async (x) => { if (x.l) await closeAsync((x.l as any).value); await closeAsync(x.p.value); }));
  } else if (mode === 'ioctlsync') for (const x of links) x.p.close();
  else if (mode === 'detachfirst') { for (const x of links) linkDetach(x.l!.value, 'x'); const t1 = performance.now(); console.log(' detach', (t1 - t0).toFixed(1)); for (const x of links) { x.l!.close(); x.p.close(); } }
  const c = process.cpuUsage(c0);
  console.log(mode, tp, 'rep', rep, (performance.now() - t0).toFixed(1), 'ms wall', ((c.user + c.system) / 1000).toFixed(1), 'ms cpu');
}
