// syscount: system calls counted per process (a hash map keyed by pid) and
// per syscall number (an array), with a global total in .bss, printed every
// interval, busiest first. Counts are cumulative since the start.
//
//   npx tsx examples/syscount.ts [-p PID] [-i SECONDS] [-n TOP] [-c COUNT]
import { readFileSync } from 'node:fs';
import { Syscount } from '../bpf/skel/syscount.skel.ts';
import { flag, helpIfAsked, onInterrupt, requireRoot, run } from './common.ts';

const argv = process.argv.slice(2);
helpIfAsked(argv, `
usage: syscount [-p PID] [-i SECONDS] [-n TOP] [-c COUNT]
  Count system calls per process and per syscall number.
  -p PID      only this process (set in .rodata before load)
  -i SECONDS  print every SECONDS (default 1)
  -n TOP      show the TOP busiest processes and syscalls (default 10)
  -c COUNT    exit after COUNT reports`);

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?'; // exited
  }
}

run('syscount', () => {
  const pid = Number(flag(argv, '-p') ?? 0);
  const interval = Number(flag(argv, '-i') ?? 1);
  const top = Number(flag(argv, '-n') ?? 10);
  const reports = Number(flag(argv, '-c') ?? Infinity);
  if (!Number.isInteger(pid) || pid < 0 || !(interval > 0) || !(top > 0)) throw new Error('bad arguments (try --help)');
  requireRoot('syscount');

  const skel = Syscount.open();
  skel.rodata.target_pid = pid;
  skel.progs.count_raw.autoload = false; // the raw_tp twin counts into raw_total only
  const live = skel.load();
  live.attach({ mount: true });
  console.log(`syscount: counting ${pid ? `process ${pid}` : 'every process'}; Ctrl-C to stop`);

  let n = 0;
  const report = () => {
    const procs = [...live.maps.counts.entries()].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : a[0] - b[0]));
    const calls = live.maps.by_id.lookupBatch().filter(([, c]) => c > 0n).sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : a[0] - b[0]));
    console.log(`[${new Date().toTimeString().slice(0, 8)}] total ${live.bss.total}`);
    console.log(`  ${'PID'.padEnd(8)} ${'COMM'.padEnd(16)} COUNT`);
    for (const [p, c] of procs.slice(0, top)) console.log(`  ${String(p).padEnd(8)} ${comm(p).padEnd(16)} ${c}`);
    console.log(`  ${'SYSCALL'.padEnd(8)} COUNT`);
    for (const [nr, c] of calls.slice(0, top)) console.log(`  ${String(nr).padEnd(8)} ${c}`);
    if (++n >= reports) process.kill(process.pid, 'SIGINT');
  };
  const timer = setInterval(report, interval * 1000);
  onInterrupt('syscount', async () => {
    clearInterval(timer);
    await live.destroy();
  });
});
