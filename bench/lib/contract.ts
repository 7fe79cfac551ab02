// The benchmark contract shared by bench/*.ts: medians, a readable table, and in
// --json mode one JSON object {"bench": name, "metrics": [...]} as the LAST line of stdout.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface Metric {
  id: string;
  unit: string;
  /** tsbpf's value (median). */
  ts: number | null;
  /** C libbpf's value (median), or null when there is no C counterpart. */
  c: number | null;
  /** ts / c, or null. */
  ratio: number | null;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function fmt(x: number | null): string {
  if (x === null || Number.isNaN(x)) return '-';
  return Math.abs(x) >= 100 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(3) : x.toPrecision(3);
}

/** Print a table of metrics; with `json`, end stdout with the JSON contract line. */
export function printResult(bench: string, metrics: Metric[], json: boolean): void {
  const rows = [['metric', 'unit', 'tsbpf', 'C libbpf', 'ratio ts/c'], ...metrics.map((m) => [m.id, m.unit, fmt(m.ts), fmt(m.c), fmt(m.ratio)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(`bench ${bench}`);
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  if (json) console.log(JSON.stringify({ bench, metrics }));
}

/** Compile a C program with cc -O2 against libbpf (cached: rebuilt when the source bytes or libraries change). */
export function buildC(srcPath: string, outPath: string, libs: string[] = []): string {
  // Rebuilt unless the binary was built from these very bytes: a binary in a shared directory
  // (the tmpdir) may come from another checkout whose source differs, however new it is.
  const digest = createHash('sha256').update(readFileSync(srcPath)).update(`\0${libs.join(' ')}`).digest('hex');
  const stamp = `${outPath}.sha256`;
  if (existsSync(outPath) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return outPath;
  mkdirSync(dirname(outPath), { recursive: true });
  execFileSync('cc', ['-O2', '-o', outPath, srcPath, ...libs, '-lbpf', '-lelf', '-lz'], { stdio: 'inherit' });
  writeFileSync(stamp, digest);
  return outPath;
}
