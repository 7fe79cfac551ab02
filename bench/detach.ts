// npx tsx bench/detach.ts [--json] [--reps N]
//
// How long it takes to destroy an object with tracepoint links.
//  destroy_10    ms: destroy 10 tracepoint links + close the object; tsbpf
//                (destroyLinks: closes on the libuv threadpool, pipelined)
//                vs C libbpf (bpf_link__destroy one after another,
//                bpf/c/detach_bench.c); ratio ts/c.
//  links10_vs_1  ratio: tsbpf's time for 10 links (ts) over its time for 1
//                link (c). The kernel serialises one RCU grace period per
//                tracepoint under a global mutex (see src/attach/link.ts), so
//                this cannot reach 1; sequential closing would give ~10.
//  links10_one_tp_vs_1  the floor under links10_vs_1: 10 links of 10
//                programs (the object loaded 10 times) on ONE tracepoint,
//                over 1 link. Only the last close pays the tracepoint's own
//                grace period here, so what remains is the per-link one that
//                the kernel serialises under bpf_event_mutex.
import { join, resolve } from 'node:path';
import { BpfObject } from '../src/object/index.ts';
import { attachTracepoint, destroyLinks, tracefsPath } from '../src/attach/index.ts';
import { buildC, median, printResult, type Metric } from './lib/contract.ts';
import { execFileSync } from 'node:child_process';

const REPO = resolve(import.meta.dirname, '..');
const OBJ = join(REPO, 'bpf', 'attach.bpf.o');
const TPS = ['getpgid', 'getppid', 'getpid', 'gettid', 'getuid', 'geteuid', 'getgid', 'getegid', 'getsid', 'getpgrp'].map((n) => `sys_enter_${n}`);

const args = process.argv.slice(2);
const json = args.includes('--json');
const ri = args.indexOf('--reps');
const reps = ri >= 0 ? Number(args[ri + 1]) : 7;

async function tsbpfDestroy(n: number): Promise<number> {
  const obj = BpfObject.open(OBJ);
  for (const p of obj.programs.values()) p.autoload = p.name === 'tp_getpgid';
  obj.load();
  const prog = obj.program('tp_getpgid');
  const links = TPS.slice(0, n).map((tp) => attachTracepoint({ name: prog.name, fd: prog.fd }, 'syscalls', tp));
  const t0 = performance.now();
  await destroyLinks(links);
  await obj.destroy();
  return performance.now() - t0;
}

/** 10 links on one tracepoint: the same program cannot be attached twice there, so 10 loaded copies. */
async function tsbpfDestroyOneTp(n: number): Promise<number> {
  const objs: BpfObject[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const obj = BpfObject.open(OBJ);
      objs.push(obj);
      for (const p of obj.programs.values()) p.autoload = p.name === 'tp_getpgid';
      obj.load();
    }
    const links = objs.map((obj) => {
      const prog = obj.program('tp_getpgid');
      return attachTracepoint({ name: prog.name, fd: prog.fd }, 'syscalls', TPS[0]!);
    });
    const t0 = performance.now();
    await destroyLinks(links);
    return performance.now() - t0;
  } finally {
    for (const obj of objs) await obj.destroy();
  }
}

async function main(): Promise<void> {
  tracefsPath({ mount: true });
  const cBin = buildC(join(REPO, 'bench', 'c', 'detach_bench.c'), join(REPO, 'bench', 'c', 'build', 'detach_bench'));
  const cRun = (n: number) => Number(execFileSync(cBin, [OBJ, String(n), String(reps)], { encoding: 'utf8' }).trim());

  await tsbpfDestroy(1); // warm-up (module loading, probes)
  const ts10: number[] = [];
  const ts1: number[] = [];
  const ts10OneTp: number[] = [];
  // interleave so that machine noise hits both sides alike
  for (let r = 0; r < reps; r++) {
    ts10.push(await tsbpfDestroy(10));
    ts1.push(await tsbpfDestroy(1));
    ts10OneTp.push(await tsbpfDestroyOneTp(10));
  }
  const c10 = cRun(10);
  const t10 = median(ts10);
  const t1 = median(ts1);
  const metrics: Metric[] = [
    { id: 'destroy_10', unit: 'ms', ts: t10, c: c10, ratio: t10 / c10 },
    { id: 'links10_vs_1', unit: 'ms', ts: t10, c: t1, ratio: t10 / t1 },
    { id: 'links10_one_tp_vs_1', unit: 'ms', ts: median(ts10OneTp), c: t1, ratio: median(ts10OneTp) / t1 },
  ];
  printResult('detach', metrics, json);
}

await main();
