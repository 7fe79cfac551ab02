// The fuzzer's findings stay fixed: every input saved under test/fuzz/corpus/
// (by `npm run fuzz`) must end in success or a typed error (a TsbpfError),
// within the time and memory bounds. A short fixed-seed run of the fuzzer
// itself (its worker, watchdog and every target) must find nothing new.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { inputFor, runInput } from './engine.ts';
import { fuzzTarget, fuzzTargets } from './targets.ts';

const here = dirname(fileURLToPath(import.meta.url));
const corpus = join(here, 'corpus');
const files = existsSync(corpus) ? readdirSync(corpus).filter((f) => f.endsWith('.bin')).sort() : [];

describe('fuzz corpus replay', () => {
  it('has a corpus', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const file of files) {
    it(file, () => {
      const target = fuzzTarget(file.slice(0, file.indexOf('-')));
      const r = runInput(target, new Uint8Array(readFileSync(join(corpus, file))));
      expect(r.outcome.kind === 'finding' ? `${r.outcome.signature}: ${r.outcome.message}\n${r.outcome.stack ?? ''}` : 'bounded').toBe('bounded');
    });
  }
});

describe('fuzzer', () => {
  it('derives execution n from (seed, n) alone', () => {
    const targets = fuzzTargets();
    for (const n of [0, 1, 977]) {
      const a = inputFor(5, n, targets);
      const b = inputFor(5, n, targets);
      expect(a.target.name).toBe(b.target.name);
      expect(Buffer.compare(Buffer.from(a.input), Buffer.from(b.input))).toBe(0);
    }
    expect(Buffer.compare(Buffer.from(inputFor(5, 1, targets).input), Buffer.from(inputFor(6, 1, targets).input))).not.toBe(0);
  });

  it('a fixed-seed run of 3000 executions over every target finds nothing', { timeout: 300_000 }, () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(here, 'cli.ts'), '--execs', '3000', '--seconds', '250', '--seed', '20261204', '--no-save'], {
      encoding: 'utf8', cwd: join(here, '..', '..'),
    });
    const summary = JSON.parse(out.trim().split('\n').pop()!) as { execs: number; findings: { signature: string; message: string }[]; perTarget: Record<string, number> };
    expect(summary.findings).toEqual([]);
    expect(summary.execs).toBe(3000);
    expect(Object.keys(summary.perTarget).sort()).toEqual(fuzzTargets().map((t) => t.name).sort());
  });
});
