// The fuzzing loop, in a worker thread so that the main thread's watchdog can
// end it when an input overruns the time bound. Before each input the worker
// publishes it (number, target, bytes, start time) in shared memory: what the
// watchdog records if it has to terminate the worker.
import { parentPort, workerData } from 'node:worker_threads';
import { inputFor, minimise, runInput, type RunResult } from './engine.ts';
import { fuzzTarget, fuzzTargets, type FuzzTarget } from './targets.ts';
import { SHARED, type WorkerJob, type WorkerMessage } from './protocol.ts';

// Errors are thrown by the thousand: short stacks make them cheap (a finding's origin is in the first frames).
Error.stackTraceLimit = 5;
const job = workerData as WorkerJob;
const i32 = new Int32Array(job.shared, 0, SHARED.ints);
const f64 = new Float64Array(job.shared, SHARED.timeAt, 1);
const bytes = new Uint8Array(job.shared, SHARED.inputAt);
const targets = job.targets ? job.targets.map(fuzzTarget) : fuzzTargets();
const post = (m: WorkerMessage) => parentPort!.postMessage(m);

/** runInput, published to the watchdog first. */
function guarded(target: FuzzTarget, input: Uint8Array, n: number): RunResult {
  bytes.set(input.subarray(0, bytes.length));
  i32[SHARED.len] = input.length;
  i32[SHARED.target] = targets.indexOf(target);
  i32[SHARED.exec] = n;
  f64[0] = Date.now();
  Atomics.store(i32, SHARED.running, 1);
  const r = runInput(target, input);
  Atomics.store(i32, SHARED.running, 0);
  return r;
}

for (const t of targets) t.seeds();
const seen = new Set(job.seen);
const outcomes: Record<string, number> = {};
let n = job.start;
let lastStats = Date.now();
while (n < job.end && Date.now() < job.deadline) {
  const { target, input } = inputFor(job.seed, n, targets);
  const { outcome } = guarded(target, input, n);
  const key = `${target.name}:${outcome.kind === 'typed' ? outcome.name : outcome.kind}`;
  outcomes[key] = (outcomes[key] ?? 0) + 1;
  if (outcome.kind === 'finding' && !seen.has(outcome.signature)) {
    seen.add(outcome.signature);
    const small = outcome.reason === 'untyped' ? minimise(target, input, outcome.signature, (t, b) => guarded(t, b, n)) : input;
    post({ type: 'finding', exec: n, target: target.name, reason: outcome.reason, signature: outcome.signature, message: outcome.message, stack: outcome.stack, input: small });
  }
  n++;
  if (Date.now() - lastStats >= 1000) {
    post({ type: 'stats', next: n, outcomes });
    lastStats = Date.now();
  }
}
post({ type: 'done', next: n, outcomes });
