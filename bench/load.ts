// bench/load.ts: how long does it take to open and load a CO-RE-heavy object
// (bpf/core.bpf.o: 138 CO-RE relocations over 20+ kernel structs), tsbpf vs C libbpf?
//   core_load:          BpfObject.open(path).load() vs bpf_object__open_file + bpf_object__load,
//                       timed inside a fresh process (kernel BTF parsed from scratch on both sides)
//   core_load_process:  the whole fresh process, spawn to exit, as the parent sees it
//   core_load_second:   a second open + load of the same object in that process, after the
//                       first was destroyed, each library as it behaves by default: tsbpf's
//                       code is compiled by then and it keeps the kernel BTF it indexed
//                       (src/btf/kernel.ts); libbpf parses the kernel's BTF again. What a
//                       tool that loads several objects pays for each one after the first.
//                       Measured in runs of their own (--second), so that core_load_process
//                       stays the process that loads one object.
// Both sides run alternately in fresh processes; medians over --runs (default 15).
// Usage: npx tsx bench/load.ts [--json] [--runs N] [--tsx]
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildC, median, printResult } from './lib/contract.ts';
import { BpfObject } from '../src/object/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const OBJECT = join(here, '..', 'bpf', 'core.bpf.o');

interface ChildResult { total_ms: number; second_ms: number; programs: number }

/** The measured work, in this fresh process. */
async function child(path: string, second: boolean): Promise<void> {
  const t0 = performance.now();
  const obj = BpfObject.open(path);
  obj.load();
  const t1 = performance.now();
  let programs = 0;
  for (const p of obj.programs.values()) if (p.prog) programs++;
  await obj.destroy();
  let secondMs = 0;
  if (second) {
    const t2 = performance.now();
    const again = BpfObject.open(path);
    again.load();
    secondMs = performance.now() - t2;
    await again.destroy();
  }
  const out: ChildResult = { total_ms: t1 - t0, second_ms: secondMs, programs };
  console.log(JSON.stringify(out));
}

/**
 * The child runs this file bundled to plain JS (what a user ships); --tsx runs it under tsx instead.
 * esbuild is imported here, in the parent only: the child process must not spend its start-up loading a bundler.
 */
async function childArgs(): Promise<string[]> {
  if (process.argv.includes('--tsx')) return ['--import', 'tsx', fileURLToPath(import.meta.url)];
  // Inside the repo (bench/c/build, ignored by git) so `koffi` resolves from its node_modules;
  // one file per bench process, so benches run side by side never load each other's half-written bundle.
  const out = join(here, 'c', 'build', `load_child.${process.pid}.mjs`);
  process.on('exit', () => rmSync(out, { force: true }));
  const esbuild = await import('esbuild');
  esbuild.buildSync({
    entryPoints: [fileURLToPath(import.meta.url)], bundle: true, platform: 'node', format: 'esm', outfile: out,
    // debug and koffi are CommonJS (koffi ships a native module): load them from the repo's node_modules.
    external: ['koffi', 'esbuild'],
    banner: { js: `import { createRequire as __cr } from 'node:module'; const require = __cr(${JSON.stringify(fileURLToPath(import.meta.url))});` },
    logLevel: 'error',
  });
  return [out];
}

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
  if (args.includes('--child')) return child(args[args.indexOf('--child') + 1]!, args.includes('--second'));
  const json = args.includes('--json');
  const runsArg = args.indexOf('--runs');
  const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : 15;
  const bin = buildC(join(here, 'c/load_bench.c'), join(here, 'c/build/load_bench'));
  const cargs = await childArgs();

  const ts: number[] = [], tsProc: number[] = [], c: number[] = [], cProc: number[] = [];
  const tsSecond: number[] = [], cSecond: number[] = [];
  // Alternate the two sides so machine noise hits both alike.
  for (let i = 0; i < runs; i++) {
    const a = timed(() => parse(execFileSync(process.execPath, [...cargs, '--child', OBJECT], { encoding: 'utf8' })));
    const b = timed(() => parse(execFileSync(bin, [OBJECT], { encoding: 'utf8' })));
    if (a.value.programs !== b.value.programs) throw new Error(`tsbpf loaded ${a.value.programs} programs, libbpf ${b.value.programs}`);
    ts.push(a.value.total_ms); tsProc.push(a.ms);
    c.push(b.value.total_ms); cProc.push(b.ms);
    // the second-load runs: their own processes, alternated the same way
    tsSecond.push(parse(execFileSync(process.execPath, [...cargs, '--child', OBJECT, '--second'], { encoding: 'utf8' })).second_ms);
    cSecond.push(parse(execFileSync(bin, [OBJECT, '--second'], { encoding: 'utf8' })).second_ms);
  }
  if (!json) {
    console.log(`runs: ${runs}; tsbpf ms: ${ts.map((x) => x.toFixed(1)).join(' ')}`);
    console.log(`          libbpf ms: ${c.map((x) => x.toFixed(1)).join(' ')}`);
  }
  const m = (xs: number[], ys: number[]) => ({ ts: median(xs), c: median(ys), ratio: median(xs) / median(ys) });
  printResult('load', [
    { id: 'core_load', unit: 'ms', ...m(ts, c) },
    { id: 'core_load_process', unit: 'ms', ...m(tsProc, cProc) },
    { id: 'core_load_second', unit: 'ms', ...m(tsSecond, cSecond) },
  ], json);
}

await main();
