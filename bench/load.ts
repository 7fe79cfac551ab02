// bench/load.ts: how long does it take to open and load a CO-RE-heavy object
// (bpf/core.bpf.o: 138 CO-RE relocations over 20+ kernel structs), tsbpf vs C libbpf?
//   core_load:          BpfObject.open(path).load() vs bpf_object__open_file + bpf_object__load,
//                       timed inside a fresh process (kernel BTF parsed from scratch on both
//                       sides). The tsbpf side is bench/load_child.mjs importing the package as
//                       published (dist/), with its compile cache in a directory of this run's
//                       own: the first process compiles and writes it, the others reuse it
//                       (src/compile_cache/entry.ts)
//   core_load_cold:     the same with the compile cache turned off (TSBPF_COMPILE_CACHE=0):
//                       every process compiles our code as it runs
//   core_load_process:  the whole fresh process of core_load, spawn to exit, as the parent sees it
//   core_load_second:   a second open + load of the same object in that process, after the
//                       first was destroyed, each library as it behaves by default: tsbpf's
//                       code is compiled by then and it keeps the kernel BTF it indexed
//                       (src/btf/kernel.ts); libbpf parses the kernel's BTF again. What a
//                       tool that loads several objects pays for each one after the first.
//                       Measured in processes of their own (--second), so that
//                       core_load_process stays the process that loads one object.
// All sides run alternately in fresh processes; medians over --runs (default 15).
// Usage: npx tsx bench/load.ts [--json] [--runs N]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildC, median, printResult } from './lib/contract.ts';
import { writeDist } from '../scripts/build.ts';

const here = dirname(fileURLToPath(import.meta.url));
const OBJECT = join(here, '..', 'bpf', 'core.bpf.o');
const CHILD = join(here, 'load_child.mjs');

interface ChildResult { total_ms: number; second_ms: number; programs: number }

function timed<T>(fn: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
}

function parse(out: string): ChildResult {
  return JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const runsArg = args.indexOf('--runs');
  const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : 15;
  const bin = buildC(join(here, 'c/load_bench.c'), join(here, 'c/build/load_bench'));
  await writeDist(); // measure the current src/
  // this run's own compile cache, empty at first (mkdtemp: 0700, ours, as the cache requires)
  const cacheDir = mkdtempSync(join(tmpdir(), 'tsbpf-bench-cache-'));
  process.on('exit', () => rmSync(cacheDir, { recursive: true, force: true }));
  const env = (cache: boolean) => ({ ...process.env, DEBUG: '', TSBPF_CACHE_DIR: cacheDir, TSBPF_COMPILE_CACHE: cache ? '1' : '0' });
  const tsRun = (cache: boolean, extra: string[] = []) => parse(execFileSync(process.execPath, [CHILD, OBJECT, ...extra], { encoding: 'utf8', env: env(cache) }));
  const cRun = (extra: string[] = []) => parse(execFileSync(bin, [OBJECT, ...extra], { encoding: 'utf8' }));

  const ts: number[] = [], tsProc: number[] = [], tsCold: number[] = [], c: number[] = [], cProc: number[] = [];
  const tsSecond: number[] = [], cSecond: number[] = [];
  // Alternate the sides so machine noise hits them alike.
  for (let i = 0; i < runs; i++) {
    const a = timed(() => tsRun(true));
    const b = timed(() => cRun());
    if (a.value.programs !== b.value.programs) throw new Error(`tsbpf loaded ${a.value.programs} programs, libbpf ${b.value.programs}`);
    ts.push(a.value.total_ms); tsProc.push(a.ms);
    c.push(b.value.total_ms); cProc.push(b.ms);
    tsCold.push(tsRun(false).total_ms);
    tsSecond.push(tsRun(true, ['--second']).second_ms);
    cSecond.push(cRun(['--second']).second_ms);
  }
  if (!json) {
    const row = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' ');
    console.log(`runs: ${runs}; tsbpf ms: ${row(ts)}`);
    console.log(`     tsbpf cold ms: ${row(tsCold)}`);
    console.log(`         libbpf ms: ${row(c)}`);
  }
  const m = (xs: number[], ys: number[]) => ({ ts: median(xs), c: median(ys), ratio: median(xs) / median(ys) });
  printResult('load', [
    { id: 'core_load', unit: 'ms', ...m(ts, c) },
    { id: 'core_load_cold', unit: 'ms', ...m(tsCold, c) },
    { id: 'core_load_process', unit: 'ms', ...m(tsProc, cProc) },
    { id: 'core_load_second', unit: 'ms', ...m(tsSecond, cSecond) },
  ], json);
}

await main();
