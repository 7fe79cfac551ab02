// Map operations, tsbpf against C libbpf, side by side in one run.
//
//   npx tsx bench/maps.ts [--json] [--reps N]
//
// Each metric is measured `reps` times on each side, TypeScript and C
// interleaved (TS, C, TS, C, ...) so that noise from other tenants of the
// machine hits both alike; the reported value is the median. Time is CPU
// time of the measuring process (process.cpuUsage here, CLOCK_PROCESS_CPUTIME_ID
// in C), per operation; for the batch lookup, per entry read.
//
// Both sides use the same shapes (u32 keys, u64 values, a 256-entry array, a
// 100,000-entry hash), the same access pattern, and a caller-owned value
// buffer (lookup(key, out) here, a stack variable in C). The tsbpf side is the
// published package (dist/, rebuilt from src/ first), as a user imports it.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeDist } from '../scripts/build.ts';
import { type Metric, buildC, median, printResult } from './lib/contract.ts';

const here = dirname(fileURLToPath(import.meta.url));
const json = process.argv.includes('--json');
const repsArg = process.argv.indexOf('--reps');
const REPS = repsArg > 0 ? Number(process.argv[repsArg + 1]) : 7;

const ARRAY_ENTRIES = 256;
const HASH_ENTRIES = 100_000;

interface Bench {
  id: string;
  /** Operations per measurement. */
  iterations: number;
  /** Run the operation `iterations` times; return how many units (ops or entries) were done. */
  runTs: (iterations: number) => number;
}

function cpuNs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) * 1000;
}

function measureTs(bench: Bench): number {
  const start = cpuNs();
  const units = bench.runTs(bench.iterations);
  return (cpuNs() - start) / units;
}

function measureC(binary: string, bench: Bench): number {
  const iterations = bench.id === 'hash_batch_lookup' ? Math.max(1, Math.round(bench.iterations / HASH_ENTRIES)) : bench.iterations;
  const out = execFileSync(binary, [bench.id, String(iterations)], { encoding: 'utf8' });
  return Number(out.trim());
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench/maps.ts needs root (bpf() map creation)');
    process.exit(1);
  }
  const binary = buildC(join(here, 'c/maps_bench.c'), join(here, 'c/build/maps_bench'));
  await writeDist();
  const { BpfMap, MapType } = (await import(pathToFileURL(join(here, '..', 'dist', 'index.mjs')).href)) as typeof import('../src/index.ts');

  const array = BpfMap.create({ name: 'bench_array', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: ARRAY_ENTRIES, flags: 0 });
  const hash = BpfMap.create({ name: 'bench_hash', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: HASH_ENTRIES, flags: 0 });
  for (let key = 0; key < HASH_ENTRIES; key++) hash.update(key, key);
  const out = new Uint8Array(8);

  const benches: Bench[] = [
    {
      id: 'array_lookup',
      iterations: 300_000,
      runTs: (n) => {
        for (let i = 0; i < n; i++) array.lookup(i % ARRAY_ENTRIES, out);
        return n;
      },
    },
    {
      id: 'hash_lookup',
      iterations: 300_000,
      runTs: (n) => {
        for (let i = 0; i < n; i++) hash.lookup(i % HASH_ENTRIES, out);
        return n;
      },
    },
    {
      id: 'hash_update',
      iterations: 300_000,
      runTs: (n) => {
        for (let i = 0; i < n; i++) hash.update(i % HASH_ENTRIES, i);
        return n;
      },
    },
    {
      id: 'hash_batch_lookup',
      iterations: 5 * HASH_ENTRIES,
      runTs: (n) => {
        let entries = 0;
        for (let pass = 0; pass < Math.max(1, Math.round(n / HASH_ENTRIES)); pass++) entries += hash.lookupBatch({ chunkSize: 1024 }).count;
        return entries;
      },
    },
  ];

  // Warm up the JIT and the kernel's caches on both sides.
  for (const bench of benches) {
    measureTs({ ...bench, iterations: Math.min(bench.iterations, HASH_ENTRIES) });
    measureC(binary, { ...bench, iterations: Math.min(bench.iterations, HASH_ENTRIES) });
  }

  const samples = new Map(benches.map((b) => [b.id, { ts: [] as number[], c: [] as number[] }]));
  for (let rep = 0; rep < REPS; rep++) {
    for (const bench of benches) {
      const s = samples.get(bench.id)!;
      s.ts.push(measureTs(bench));
      s.c.push(measureC(binary, bench));
    }
  }
  array.close();
  hash.close();

  const metrics: Metric[] = benches.map((bench) => {
    const s = samples.get(bench.id)!;
    const ts = median(s.ts);
    const c = median(s.c);
    return { id: bench.id, unit: 'ns/op', ts: round(ts), c: round(c), ratio: Math.round((ts / c) * 1000) / 1000 };
  });
  printResult('maps', metrics, json);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

await main();
