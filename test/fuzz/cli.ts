// npm run fuzz -- --seconds N --seed S [--execs N] [--targets elf,btf,...] [--corpus DIR] [--no-save]
//
// Runs the fuzz targets (targets.ts) on mutations of their seeds, in a worker
// thread watched by this thread: an input running past TIME_LIMIT_MS ends the
// worker (the input is recorded), an input that exhausts the worker's heap
// ends it too; the run resumes at the next input. Each finding (an untyped
// error, minimised; an input over a bound) is saved under the corpus folder,
// which test/fuzz/fuzz.test.ts replays. The last line is a JSON summary.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { TIME_LIMIT_MS } from './engine.ts';
import { fuzzTargets } from './targets.ts';
import { SHARED, type WorkerJob, type WorkerMessage } from './protocol.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string', default: '1' },
    execs: { type: 'string' },
    targets: { type: 'string' },
    corpus: { type: 'string', default: join(dirname(fileURLToPath(import.meta.url)), 'corpus') },
    'no-save': { type: 'boolean', default: false },
  },
});
const seed = Number(args.seed) >>> 0;
const seconds = Number(args.seconds);
const maxExecs = args.execs ? Number(args.execs) : Infinity;
const targetNames = args.targets?.split(',');
const allTargets = targetNames ?? fuzzTargets().map((t) => t.name);

/** The worker's entry: TypeScript sources need tsx's loader, which workers do not inherit. */
const WORKER_BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)}); })`;

interface Finding { exec: number; target: string; reason: string; signature: string; message: string; file?: string }
const findings: Finding[] = [];
const seen = new Set<string>();
const outcomes: Record<string, number> = {};
const t0 = Date.now();
const deadline = t0 + seconds * 1000;
let lastProgress = t0;

function save(target: string, input: Uint8Array, f: Finding): void {
  if (args['no-save']) return;
  mkdirSync(args.corpus!, { recursive: true });
  const name = `${target}-${createHash('sha256').update(input).digest('hex').slice(0, 12)}`;
  writeFileSync(join(args.corpus!, `${name}.bin`), input);
  writeFileSync(join(args.corpus!, `${name}.txt`), `${f.reason}: ${f.signature}\n${f.message}\n(seed ${seed}, execution ${f.exec})\n`);
  f.file = `${name}.bin`;
}

function record(f: Finding, input: Uint8Array): void {
  if (seen.has(f.signature)) return;
  seen.add(f.signature);
  save(f.target, input, f);
  findings.push(f);
  console.log(`FINDING ${f.reason} ${f.signature} (execution ${f.exec}): ${f.message.split('\n')[0]}${f.file ? ` -> ${f.file}` : ''}`);
}

/** Run executions [start, end) in one worker; resolves with where the sequence stopped. */
function runWorker(start: number): Promise<number> {
  const shared = new SharedArrayBuffer(SHARED.inputAt + SHARED.maxInput);
  const i32 = new Int32Array(shared, 0, SHARED.ints);
  const f64 = new Float64Array(shared, SHARED.timeAt, 1);
  const job: WorkerJob = { seed, start, end: maxExecs, deadline, targets: targetNames, seen: [...seen], shared };
  const worker = new Worker(WORKER_BOOT, { eval: true, workerData: job, resourceLimits: { maxOldGenerationSizeMb: 1024 } });
  let committed: Record<string, number> = {};
  let next = start;
  /** The input the worker was running, as published in shared memory. */
  const current = () => ({
    exec: i32[SHARED.exec]!,
    target: allTargets[i32[SHARED.target]!] ?? '?',
    input: new Uint8Array(shared, SHARED.inputAt, Math.min(i32[SHARED.len]!, SHARED.maxInput)).slice(),
  });
  return new Promise((resolve) => {
    let over = false;
    const finish = (at: number) => {
      if (over) return;
      over = true;
      clearInterval(watchdog);
      for (const [k, v] of Object.entries(committed)) outcomes[k] = (outcomes[k] ?? 0) + v;
      resolve(at);
    };
    const watchdog = setInterval(() => {
      if (Atomics.load(i32, SHARED.running) !== 1) return;
      const ms = Date.now() - f64[0]!;
      if (ms <= TIME_LIMIT_MS) return;
      const c = current();
      record({ exec: c.exec, target: c.target, reason: 'timeout', signature: `${c.target}:timeout`, message: `still running after ${ms} ms (bound ${TIME_LIMIT_MS} ms)` }, c.input);
      void worker.terminate();
      finish(c.exec + 1);
    }, 50);
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'finding') record({ exec: m.exec, target: m.target, reason: m.reason, signature: m.signature, message: m.message }, m.input);
      else {
        committed = m.outcomes;
        next = m.next;
        if (Date.now() - lastProgress >= 30_000) {
          lastProgress = Date.now();
          const secs = (lastProgress - t0) / 1000;
          console.log(`fuzz: ${next} executions in ${secs.toFixed(0)} s (${(next / secs).toFixed(0)}/s), ${findings.length} findings`);
        }
        if (m.type === 'done') finish(m.next);
      }
    });
    worker.on('error', (err) => {
      if (Atomics.load(i32, SHARED.running) !== 1) {
        // Not an input's doing: the harness itself failed.
        console.error('fuzz: the worker failed outside any input:', err);
        process.exit(2);
      }
      // ERR_WORKER_OUT_OF_MEMORY: the input being run exhausted the heap.
      const c = current();
      record({ exec: c.exec, target: c.target, reason: 'memory', signature: `${c.target}:crash:${(err as NodeJS.ErrnoException).code ?? err.name}`, message: String(err.message) }, c.input);
      finish(Math.max(next, c.exec + 1));
    });
    worker.on('exit', () => finish(next));
  });
}

let at = 0;
while (at < maxExecs && Date.now() < deadline) at = await runWorker(at);
const secs = (Date.now() - t0) / 1000;
const perTarget: Record<string, number> = {};
for (const [k, v] of Object.entries(outcomes)) { const t = k.split(':')[0]!; perTarget[t] = (perTarget[t] ?? 0) + v; }
console.log(`fuzz: seed ${seed}, ${at} executions in ${secs.toFixed(1)} s (${(at / secs).toFixed(0)}/s), ${findings.length} findings`);
for (const [k, v] of Object.entries(outcomes).sort()) console.log(`  ${k.padEnd(40)} ${v}`);
console.log(JSON.stringify({ seed, execs: at, seconds: Number(secs.toFixed(1)), execsPerSecond: Math.round(at / secs), findings, perTarget }));
process.exit(0);
