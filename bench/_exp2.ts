process.env.UV_THREADPOOL_SIZE ??= '32';
import { libcCloseAsync, libcClose } from '../src/syscall/libc.ts';
import { perfEventOpen, PERF_TYPE_TRACEPOINT, linkCreate, ioctl, PERF_EVENT_IOC_SET_BPF, PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_DISABLE, linkDetach } from '../src/syscall/index.ts';
import { Program, BpfProgType, BpfAttachType, asm, encodeInsns } from '../src/prog/index.ts';
import { readFileSync } from 'node:fs';
const names = ['getpgid','getppid','getpid','gettid','getuid','geteuid','getgid','getegid','getsid','getpgrp'];
const tps = names.map(n=>Number(readFileSync(`/sys/kernel/tracing/events/syscalls/sys_enter_${n}/id`, 'utf8')));
const prog = Program.load({ name: 'x', type: BpfProgType.BPF_PROG_TYPE_TRACEPOINT, insns: encodeInsns([asm.mov64Imm(0, 0), asm.exit()]), license: 'GPL' });
const N = Number(process.argv[3] ?? 10);
const mode = process.argv[2]!;
const useLink = !mode.startsWith('ioctl');
function attach() {
  const out: { l: number; p: number }[] = [];
  for (let i = 0; i < N; i++) {
    const p = perfEventOpen({ type: PERF_TYPE_TRACEPOINT, config: tps[i], sample_period: 1, wakeup_events: 1 }, -1, 0, 'x');
    (p as any).close = () => {}; // we close raw
    const pfd = p.value;
    if (!useLink) { ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog.fd, 'x'); ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0, 'x'); out.push({ p: pfd, l: -1 }); }
    else out.push({ p: pfd, l: linkCreate({ prog_fd: prog.fd, target_fd: pfd, attach_type: BpfAttachType.BPF_PERF_EVENT }, 'x').value });
  }
  return out;
}
const ca = (fd: number) => new Promise<void>((res, rej) => libcCloseAsync.async(fd, (e) => (e ? rej(e) : res())));
const T = () => performance.now();
for (let rep = 0; rep < 3; rep++) {
  const ls = attach();
  const t0 = T(); const marks: string[] = [];
  const mark = (s: string) => marks.push(`${s}@${(T() - t0).toFixed(0)}`);
  switch (mode) {
    case 'perfFirstSyncThenLinksAsync': for (const x of ls) libcClose(x.p); mark('perfs'); await Promise.all(ls.map(x => ca(x.l))); break;
    case 'allAsync': await Promise.all(ls.flatMap(x => [ca(x.l), ca(x.p)])); break;
    case 'linksAsyncThenPerfsAsync': await Promise.all(ls.map(x => ca(x.l))); mark('links'); await Promise.all(ls.map(x => ca(x.p))); break;
    case 'single': { const x = ls[0]!; libcClose(x.l); mark('link'); libcClose(x.p); mark('perf'); for (const y of ls.slice(1)) { libcClose(y.l); libcClose(y.p); } break; }
    case 'perfFirstSync': for (const x of ls) libcClose(x.p); mark('perfs'); for (const x of ls) libcClose(x.l); break;
    case 'ioctlDisableThenAsync': for (const x of ls) ioctl(x.p, PERF_EVENT_IOC_DISABLE, 0, 'x'); mark('disabled'); await Promise.all(ls.map(x => ca(x.p))); break;
    case 'ioctlAsync': await Promise.all(ls.map(x => ca(x.p))); break;
    case 'detach': try { linkDetach(ls[0]!.l, 'x'); } catch (e) { console.log(String(e)); } for (const x of ls) { libcClose(x.l); libcClose(x.p); } break;
  }
  console.log(mode, N, 'rep', rep, (T() - t0).toFixed(1), 'ms', marks.join(' '));
}
{
  const ls = attach(); const t0 = T(); const done: string[] = [];
  const mode2 = process.argv[4] ?? 'all';
  if (mode2 === 'perfFirst') { for (const x of ls) libcClose(x.p); await Promise.all(ls.map((x, i) => ca(x.l).then(() => done.push(`l${i}@${(T() - t0).toFixed(0)}`)))); }
  else await Promise.all(ls.flatMap((x, i) => [ca(x.l).then(() => done.push(`l${i}@${(T() - t0).toFixed(0)}`)), ca(x.p).then(() => done.push(`p${i}@${(T() - t0).toFixed(0)}`))]));
  console.log(done.join(' '));
}
