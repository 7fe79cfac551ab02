// syscall_latency: how long system calls take, as a log2 histogram in the
// terminal every interval, in the manner of bcc's libbpf-tools (runqlat,
// biolatency). Tracepoints only: raw_syscalls/sys_enter stamps the thread,
// raw_syscalls/sys_exit puts the latency in microseconds into a histogram map
// (bpf/syslat.bpf.c); this side reads the buckets, prints them with
// printLog2Hist (the renderer `tsbpf map dump --hist` uses) and clears them.
//
//   npx tsx examples/syscall_latency.ts              every process, 1 s intervals until Ctrl-C
//   npx tsx examples/syscall_latency.ts -p 1234 5 3  one process, 5 s intervals, 3 times
import { fileURLToPath } from 'node:url';
import { BpfObject } from '../src/object/index.ts';
import { printLog2Hist } from '../src/report/hist.ts';

const OBJECT = fileURLToPath(new URL('../bpf/syslat.bpf.o', import.meta.url));

function usage(code: number): never {
  console.log('usage: npx tsx examples/syscall_latency.ts [-p PID] [INTERVAL_S [COUNT]]\n  Summarize syscall latency as a histogram (needs root).');
  process.exit(code);
}

const args = process.argv.slice(2);
let pid = 0;
const rest: number[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '-h' || a === '--help') usage(0);
  else if (a === '-p' || a === '--pid') pid = Number(args[++i]);
  else if (/^\d+(\.\d+)?$/.test(a)) rest.push(Number(a));
  else usage(2);
}
const [interval = 1, count = Infinity] = rest;

const obj = BpfObject.open(OBJECT);
obj.rodata.set('target_tgid', pid);
obj.load();
obj.attachAll({ mount: true });
const hist = obj.map('hist').map!;
const slots = hist.maxEntries;
console.log(`Tracing syscall latency${pid ? ` of pid ${pid}` : ''}... Hit Ctrl-C to end.`);

let stopping = false;
process.once('SIGINT', () => { stopping = true; });
for (let n = 0; n < count && !stopping; n++) {
  await new Promise((r) => setTimeout(r, interval * 1000));
  const counts: bigint[] = [];
  for (let slot = 0; slot < slots; slot++) {
    const v = hist.lookup(slot);
    counts.push(v ? new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true) : 0n);
    hist.update(slot, 0n);
  }
  console.log(`\n${new Date().toTimeString().slice(0, 8)}`);
  printLog2Hist(counts, 'usecs');
}
await obj.destroy();
