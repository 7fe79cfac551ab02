// Running one input under the fuzzer's bounds, telling typed refusals from
// findings, generating the input of execution n, and minimising findings.
// Used by the worker (fuzzing) and by the corpus replay test.
import { getHeapStatistics } from 'node:v8';
import { TsbpfError } from '../../src/errors.ts';
import { mutate } from './mutate.ts';
import { Rng } from './rng.ts';
import type { FuzzTarget } from './targets.ts';

/** Every input must finish within this (the watchdog ends a worker that overruns it). */
export const TIME_LIMIT_MS = 1000;
/** No input may grow ArrayBuffers (or the JS heap) by more than this. */
export const MEMORY_LIMIT_BYTES = 256 << 20;

export type Outcome =
  | { kind: 'ok' }
  | { kind: 'typed'; name: string }
  /** An untyped error, or a bound exceeded (a finding). */
  | { kind: 'finding'; reason: 'untyped' | 'slow' | 'memory'; signature: string; message: string; stack?: string };

export interface RunResult { outcome: Outcome; ms: number; arrayBuffers: number; heap: number }

/** Where an error was thrown: its first stack frame inside the project (what makes two findings the same bug). */
function origin(e: unknown): string {
  const stack = e instanceof Error ? e.stack ?? '' : '';
  for (const line of stack.split('\n').slice(1)) {
    const m = /\/((?:src|test)\/[^:)]+):(\d+)/.exec(line);
    if (m) return `${m[1]}:${m[2]}`;
  }
  return '?';
}

/** Run `input` through `target`, timing it and measuring what it allocated. */
export function runInput(target: FuzzTarget, input: Uint8Array): RunResult {
  // V8's own counters (external_memory counts ArrayBuffer backing stores): a
  // few microseconds, where process.memoryUsage() reads /proc.
  const m0 = getHeapStatistics();
  const t0 = performance.now();
  let outcome: Outcome;
  try {
    target.run(input);
    outcome = { kind: 'ok' };
  } catch (e) {
    if (e instanceof TsbpfError) outcome = { kind: 'typed', name: e.name };
    else {
      const err = e instanceof Error ? e : new Error(String(e));
      outcome = { kind: 'finding', reason: 'untyped', signature: `${target.name}:${err.name}:${origin(e)}`, message: err.message.slice(0, 500), stack: err.stack };
    }
  }
  const ms = performance.now() - t0;
  const m1 = getHeapStatistics();
  const arrayBuffers = m1.external_memory - m0.external_memory;
  const heap = m1.used_heap_size - m0.used_heap_size;
  if (outcome.kind !== 'finding') {
    if (ms > TIME_LIMIT_MS) outcome = { kind: 'finding', reason: 'slow', signature: `${target.name}:slow`, message: `took ${ms.toFixed(0)} ms (bound ${TIME_LIMIT_MS} ms)` };
    else if (arrayBuffers > MEMORY_LIMIT_BYTES || heap > MEMORY_LIMIT_BYTES)
      outcome = { kind: 'finding', reason: 'memory', signature: `${target.name}:memory`, message: `grew ArrayBuffers by ${arrayBuffers} bytes and the heap by ${heap} bytes (bound ${MEMORY_LIMIT_BYTES})` };
  }
  return { outcome, ms, arrayBuffers, heap };
}

/** The input of execution `n` of a run seeded with `seed`: a pure function of both. */
export function inputFor(seed: number, n: number, targets: readonly FuzzTarget[]): { target: FuzzTarget; input: Uint8Array } {
  const rng = new Rng(seed, n);
  let x = (rng.u32() / 0x1_0000_0000) * targets.reduce((sum, t) => sum + (t.weight ?? 1), 0);
  let target = targets[targets.length - 1]!;
  for (const t of targets) if ((x -= t.weight ?? 1) < 0) { target = t; break; }
  const seeds = target.seeds();
  const input = mutate(rng.pick(seeds), rng, seeds, target.format);
  return { target, input };
}

/**
 * A smaller input with the same untyped-error signature: cut the tail, then
 * drop chunks (halving their size), then zero chunks, within `budget` runs.
 */
export function minimise(target: FuzzTarget, input: Uint8Array, signature: string,
  run: (t: FuzzTarget, b: Uint8Array) => RunResult = runInput, budget = 2000): Uint8Array {
  const same = (b: Uint8Array): boolean => {
    if (budget-- <= 0) return false;
    const r = run(target, b).outcome;
    return r.kind === 'finding' && r.signature === signature;
  };
  let best = input;
  // 1. The shortest prefix that still fails (binary search; good enough when failures are not monotonic).
  let lo = 0, hi = best.length;
  while (lo < hi && budget > 0) {
    const mid = (lo + hi) >>> 1;
    if (same(best.subarray(0, mid))) hi = mid; else lo = mid + 1;
  }
  if (hi < best.length && same(best.subarray(0, hi))) best = best.slice(0, hi);
  // 2. Remove chunks.
  for (let size = best.length >>> 1; size >= 1 && budget > 0; size >>>= 1) {
    for (let at = 0; at + size <= best.length && budget > 0; ) {
      const cand = new Uint8Array(best.length - size);
      cand.set(best.subarray(0, at));
      cand.set(best.subarray(at + size), at);
      if (same(cand)) best = cand; else at += size;
    }
  }
  // 3. Zero chunks (keeps offsets: most of an ELF cannot be removed, but much can be blanked).
  for (let size = 4096; size >= 8 && budget > 0; size >>>= 2) {
    for (let at = 0; at < best.length && budget > 0; at += size) {
      const end = Math.min(best.length, at + size);
      if (best.subarray(at, end).every((x) => x === 0)) continue;
      const cand = best.slice();
      cand.fill(0, at, end);
      if (same(cand)) best = cand;
    }
  }
  return best;
}
