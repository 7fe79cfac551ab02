// bench/cli.ts: the `tsbpf` command's time from process start to its output,
// beside bpftool doing the same, in fresh processes (spawn to exit, output
// read through a pipe, as a shell pipeline would):
//   inspect_core:   `tsbpf inspect bpf/core.bpf.o` vs `bpftool btf dump file bpf/core.bpf.o`
//                   (bpftool has no object inspector; dumping the object's BTF, 1653
//                   types, is the nearest thing it does with an object file: a parse of
//                   the same ELF and BTF, and more output than ours)
//   inspect_core_cold: the same with the compile cache off (TSBPF_COMPILE_CACHE=0)
//   prog_list:      `tsbpf prog list` vs `bpftool prog list` (root; both walk the same ids)
//   version:        `tsbpf --version` vs `bpftool version`: the start-up floor of each
//   node_floor:     `node -e 0` (no ratio): what any Node tool pays before its first line
// The tsbpf side runs dist/cli.cjs (the published `bin`) with a compile cache in this run's
// own directory (the first process writes it). Sides alternate; medians over --runs (21).
// Usage: npx tsx bench/cli.ts [--json] [--runs N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDist } from '../scripts/build.ts';
import { median, printResult, type Metric } from './lib/contract.ts';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = join(here, '..');
const CLI = join(REPO, 'dist', 'cli.cjs');
const CORE = join(REPO, 'bpf', 'core.bpf.o');

/** Wall time of one process, spawn to exit, in ms; throws if it fails. */
function time(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const runsArg = args.indexOf('--runs');
  const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : 21;
  await writeDist();
  const cacheDir = mkdtempSync(join(tmpdir(), 'tsbpf-bench-cli-cache-'));
  process.on('exit', () => rmSync(cacheDir, { recursive: true, force: true }));
  const warm = { ...process.env, DEBUG: '', TSBPF_CACHE_DIR: cacheDir, TSBPF_COMPILE_CACHE: '1' };
  const cold = { ...warm, TSBPF_COMPILE_CACHE: '0' };
  const root = process.getuid?.() === 0;

  const cases: { id: string; ts: () => number; c: (() => number) | null }[] = [
    { id: 'inspect_core', ts: () => time(process.execPath, [CLI, 'inspect', CORE], warm), c: () => time('bpftool', ['btf', 'dump', 'file', CORE]) },
    { id: 'inspect_core_cold', ts: () => time(process.execPath, [CLI, 'inspect', CORE], cold), c: () => time('bpftool', ['btf', 'dump', 'file', CORE]) },
    ...(root ? [{ id: 'prog_list', ts: () => time(process.execPath, [CLI, 'prog', 'list'], warm), c: () => time('bpftool', ['prog', 'list']) }] : []),
    { id: 'version', ts: () => time(process.execPath, [CLI, '--version'], warm), c: () => time('bpftool', ['version']) },
    { id: 'node_floor', ts: () => time(process.execPath, ['-e', '0'], warm), c: null },
  ];
  // Warm-up: the first tsbpf process writes the compile cache; page cache for both binaries.
  for (const k of cases) { k.ts(); k.c?.(); }
  const samples = new Map(cases.map((k) => [k.id, { ts: [] as number[], c: [] as number[] }]));
  for (let i = 0; i < runs; i++) {
    for (const k of cases) {
      const s = samples.get(k.id)!;
      if (i % 2) { if (k.c) s.c.push(k.c()); s.ts.push(k.ts()); } else { s.ts.push(k.ts()); if (k.c) s.c.push(k.c()); }
    }
  }
  const metrics: Metric[] = cases.map((k) => {
    const s = samples.get(k.id)!;
    const ts = median(s.ts);
    const c = k.c ? median(s.c) : null;
    return { id: k.id, unit: 'ms', ts, c, ratio: c ? ts / c : null };
  });
  printResult('cli', metrics, json);
}

await main();
