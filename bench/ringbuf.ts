// Ring buffer / perf buffer benchmark: tsbpf vs C libbpf (bench/c/ringbuf_bench.c).
// Both sides load the SAME object, bpf/ringbuf_bench.bpf.o (tsbpf through
// BpfObject, C through bpf_object__open_file/load), attach the same producer
// program (tp/syscalls/sys_enter_getpgid, bpf_loop, filtered on target_pid)
// and trigger it the same way. Runs are interleaved; medians reported.
//
//   drain       ns per 16-byte record, draining a 16 MiB ring pre-filled with
//               600k records by one getpgid (nobody consuming meanwhile); the
//               callback reads one field. tsbpf consume() vs ring_buffer__consume
//   drain_256   the same with 256-byte records (60k records per run)
//   drain_mixed the same with mixed sizes (16, 40, 256, 104 bytes in turn) and every
//               7th record discarded (120k records per run; ns per delivered record)
//   perf_drain  the same with pb_produce: PerfBuffer.consume vs perf_buffer__consume
//   drain_decode  ns per bootstrap struct event (184 bytes; bpf/event_bench.bpf.o
//               writes 150k per getpgid), the callback reading pid, ppid,
//               exit_code, duration_ns and exit_event through the skeleton's
//               generated view (drain_decode; duration_ns through its Number
//               accessor duration_nsNumber, no BigInt) vs C reading the same fields;
//               drain_decode_comm: the same plus comm (a JS string from the view;
//               strnlen in C); drain_decode_copy: the copying decoder (every field,
//               both strings, into a fresh object; the three u64 as BigInts)
//               vs C's drain_decode_comm
//   stream      records/s consumed while a producer process (`ringbuf_bench
//               produce`, spawned the same way for both sides, the BPF program
//               filtering on ITS pid) calls getpgid in a loop, 64 records per
//               call into a 4 MiB ring; tsbpf event-driven RingBuffer.start vs
//               ring_buffer__poll. ratio = C / ts. stream_drops: records the
//               producer could not reserve (ring full), per run
//   latency     rb_produce_ts: bpf_ktime_get_ns() in the record -> callback
//               (CLOCK_MONOTONIC), one record per getpgid every 200 us from the
//               producer process; p50 (latency) and p99 (latency_p99), tsbpf's
//               event-driven mode (RingBuffer.start on libuv) vs ring_buffer__poll.
//               latency_poll: the same with tsbpf's blocking RingBuffer.poll, the
//               like-for-like of ring_buffer__poll (both sleep in the kernel until
//               the ring is readable), measured in the same rounds
//   latency_worker: the same with RingBufferWorker (dist/): the ring consumed on a
//               worker thread blocked in poll(2), the handler running there
//               (bench/ringbuf_worker_handler.mjs); the main loop stays free.
//               Every latency metric has its p99 twin (`<metric>_p99`)
//   latency_worker_nice: RingBufferWorker with priority { nice: LAT_NICE }, its
//               thread ahead of the process's other threads (V8's compiler and GC
//               helpers), vs ring_buffer__poll with its consumer at the same nice
//               (setpriority after the producer is spawned): like for like
//   stream_drops_max: the most records one stream run dropped (the metric
//               stream_drops is the median over runs, which can hide a bad run)
//
// The tsbpf side runs in child processes of plain node (bench/ringbuf_child.ts,
// bundled), one per measurement, like the C side.
//
//   npx tsx bench/ringbuf.ts [--json] [--quick]
import { execFileSync, spawnSync } from 'node:child_process';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeDist } from '../scripts/build.ts';
import { bundleForNode } from './lib/bundle.ts';
import { buildC, median, printResult, type Metric } from './lib/contract.ts';
import { DRAIN_SHAPES } from './lib/ringbuf_shapes.ts';
import type { ChildOptions } from './ringbuf_child.ts';

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
// --only=drain,perf_drain,stream,latency runs a subset (for investigation; the contract runs all)
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = new Set(onlyArg ? onlyArg.slice(7).split(',') : ['drain', 'drain_256', 'drain_mixed', 'perf_drain', 'drain_decode', 'stream', 'latency']);
const ROUNDS = quick ? 3 : 5;
const STREAM_ROUNDS = quick ? 3 : 10; // stream_drops_max is judged over 10 runs
const RECORDS = 600_000;
const DRAIN_RING = 1 << 24;
const STREAM_SECONDS = quick ? 1 : 2;
const STREAM_PER_TRIGGER = 64;
const STREAM_RING = 1 << 22;
const LAT_SAMPLES = quick ? 1000 : 3000;
const LAT_INTERVAL_US = 200;
const LAT_NICE = -10;

const OBJECT = new URL('../bpf/ringbuf_bench.bpf.o', import.meta.url).pathname;
const EVENT_OBJECT = new URL('../bpf/event_bench.bpf.o', import.meta.url).pathname;
const EVENT_RECORDS = 150_000; // 192 bytes each in the ring with its header
const EVENT_RING = 1 << 25;
const cBin = buildC(new URL('./c/ringbuf_bench.c', import.meta.url).pathname, join(tmpdir(), 'tsbpf-bench-ringbuf', 'ringbuf_bench'));

// The drains (both sides) run pinned to one CPU, the same one for both sides in a
// round, and the next one in the next round: this machine's vCPUs drain at
// different speeds (one at ~2.4, the other at ~4.8 ns/record for the same
// unpinned process), and a process that lands on one or the other by chance
// made the medians a lottery. A drain needs one CPU: the producer is a BPF
// program run from the consumer's own getpgid.
const CPUS = availableParallelism();
const pinned = (cpu: number | undefined, file: string, args: string[]): [string, string[]] => (cpu === undefined ? [file, args] : ['taskset', ['-c', String(cpu), file, ...args]]);

function runC(args: string[], cpu?: number): Record<string, number>[] {
  const r = spawnSync(...pinned(cpu, cBin, args), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ringbuf_bench ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((line) => Object.fromEntries(line.split(' ').slice(1).map((kv) => kv.split('=')).map(([k, v]) => [k!, Number(v)])));
}

// ---------------------------------------------------------------- the tsbpf side, in child processes
await writeDist(); // the worker mode runs from dist/ (measure the current src/)
const childScript = await bundleForNode(new URL('./ringbuf_child.ts', import.meta.url).pathname);
const childOpts: ChildOptions = {
  object: OBJECT, producer: cBin, runs: 3, records: RECORDS, drainRing: DRAIN_RING, streamSeconds: STREAM_SECONDS,
  streamPerTrigger: STREAM_PER_TRIGGER, streamRing: STREAM_RING, latSamples: LAT_SAMPLES, latIntervalUs: LAT_INTERVAL_US, latNice: LAT_NICE,
  dist: new URL('../dist/index.cjs', import.meta.url).pathname, workerHandler: pathToFileURL(new URL('./ringbuf_worker_handler.mjs', import.meta.url).pathname).href,
  eventObject: EVENT_OBJECT, eventRecords: EVENT_RECORDS, eventRing: EVENT_RING,
};
function runTs<T>(mode: string, cpu?: number): T {
  const out = execFileSync(...pinned(cpu, process.execPath, [childScript, mode, JSON.stringify(childOpts)]), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}
type Lat = { p50: number; p99: number };
const tsDrain = (shape: keyof typeof DRAIN_SHAPES, cpu: number) => runTs<{ values: number[] }>(shape, cpu).values;
const tsPerfDrain = (cpu: number) => runTs<{ values: number[] }>('perf_drain', cpu).values;
const tsDrainDecode = (cpu: number) => runTs<{ view: number[]; viewComm: number[]; copy: number[] }>('drain_decode', cpu);
const tsStream = () => runTs<{ rate: number; dropped: number }>('stream');
const tsLatency = () => runTs<{ start: Lat; poll: Lat; worker: Lat; workerNice: Lat }>('latency');

// ---------------------------------------------------------------- run, interleaved
const res = {
  drain: { ts: [] as number[], c: [] as number[] },
  drain_256: { ts: [] as number[], c: [] as number[] },
  drain_mixed: { ts: [] as number[], c: [] as number[] },
  perf: { ts: [] as number[], c: [] as number[] },
  decode: { view: [] as number[], viewComm: [] as number[], copy: [] as number[], c: [] as number[], cComm: [] as number[] },
  stream: { ts: [] as number[], c: [] as number[], tsDrop: [] as number[], cDrop: [] as number[] },
  p50: { ts: [] as number[], c: [] as number[] },
  p50poll: { ts: [] as number[] },
  p99poll: { ts: [] as number[] },
  p50worker: { ts: [] as number[] },
  p99worker: { ts: [] as number[] },
  p50nice: { ts: [] as number[], c: [] as number[] },
  p99nice: { ts: [] as number[], c: [] as number[] },
  p99: { ts: [] as number[], c: [] as number[] },
};

for (let round = 0; round < ROUNDS; round++) {
  const cpu = round % CPUS;
  for (const shape of ['drain', 'drain_256', 'drain_mixed'] as const) {
    if (!only.has(shape)) continue;
    const { records, recSize, discardEvery } = DRAIN_SHAPES[shape];
    const runCDrain = () => median(runC(['drain', OBJECT, String(records), '4', String(recSize), String(discardEvery)], cpu).slice(1).map((r) => r.ns_per_record!));
    // the side that goes first alternates per round
    if (round % 2 === 1) res[shape].c.push(runCDrain());
    res[shape].ts.push(median(tsDrain(shape, cpu)));
    if (round % 2 === 0) res[shape].c.push(runCDrain());
    if (!json) console.error(`round ${round + 1}/${ROUNDS}: ${shape} ts ${res[shape].ts.at(-1)?.toFixed(2)} c ${res[shape].c.at(-1)?.toFixed(2)}`);
  }
  if (only.has('perf_drain')) {
    res.perf.c.push(median(runC(['perf_drain', OBJECT, String(RECORDS), '4'], cpu).slice(1).map((r) => r.ns_per_record!)));
    res.perf.ts.push(median(tsPerfDrain(cpu)));
  }
  if (only.has('drain_decode')) {
    const d = tsDrainDecode(cpu);
    res.decode.view.push(median(d.view));
    res.decode.viewComm.push(median(d.viewComm));
    res.decode.copy.push(median(d.copy));
    res.decode.c.push(median(runC(['drain_decode', EVENT_OBJECT, String(EVENT_RECORDS), '4', 'num'], cpu).slice(1).map((r) => r.ns_per_record!)));
    res.decode.cComm.push(median(runC(['drain_decode', EVENT_OBJECT, String(EVENT_RECORDS), '4', 'comm'], cpu).slice(1).map((r) => r.ns_per_record!)));
    if (!json) console.error(`round ${round + 1}/${ROUNDS}: drain_decode view ${res.decode.view.at(-1)?.toFixed(2)} c ${res.decode.c.at(-1)?.toFixed(2)}; with comm view ${res.decode.viewComm.at(-1)?.toFixed(2)} copy ${res.decode.copy.at(-1)?.toFixed(2)} c ${res.decode.cComm.at(-1)?.toFixed(2)} ns/record`);
  }
  if (!json && only.has('perf_drain')) console.error(`round ${round + 1}/${ROUNDS}: perf ts ${res.perf.ts.at(-1)?.toFixed(2)} c ${res.perf.c.at(-1)?.toFixed(2)}`);
}
for (let round = 0; round < STREAM_ROUNDS; round++) {
  // the side that goes first alternates per round (background load drifts)
  const cFirst = round % 2 === 0;
  if (only.has('stream')) {
    const runCStream = () => runC(['stream', OBJECT, String(STREAM_SECONDS), String(STREAM_PER_TRIGGER), String(STREAM_RING)])[0]!;
    let c = cFirst ? runCStream() : undefined;
    const s = tsStream();
    c ??= runCStream();
    res.stream.c.push(c.records_per_s!);
    res.stream.cDrop.push(c.dropped!);
    res.stream.ts.push(s.rate);
    res.stream.tsDrop.push(s.dropped);
    if (!json) console.error(`stream ts ${s.rate.toFixed(0)}/s (drops ${s.dropped}) c ${c.records_per_s}/s (drops ${c.dropped})`);
  }
  if (only.has('latency')) {
    const runCLat = (nice = 0) => runC(['latency', OBJECT, String(LAT_SAMPLES), String(LAT_INTERVAL_US), String(nice)])[0]!;
    let cl = cFirst ? runCLat() : undefined;
    let cn = cFirst ? runCLat(LAT_NICE) : undefined;
    const { start: l, poll: lp, worker: lw, workerNice: ln } = tsLatency();
    cl ??= runCLat();
    cn ??= runCLat(LAT_NICE);
    res.p50nice.ts.push(ln.p50);
    res.p99nice.ts.push(ln.p99);
    res.p50nice.c.push(cn.p50_ns!);
    res.p99nice.c.push(cn.p99_ns!);
    res.p50poll.ts.push(lp.p50);
    res.p99poll.ts.push(lp.p99);
    res.p50worker.ts.push(lw.p50);
    res.p99worker.ts.push(lw.p99);
    res.p50.ts.push(l.p50);
    res.p99.ts.push(l.p99);
    res.p50.c.push(cl.p50_ns!);
    res.p99.c.push(cl.p99_ns!);
    if (!json) console.error(`latency p50 ts ${l.p50} (poll ${lp.p50}, worker ${lw.p50}) c ${cl.p50_ns}, p99 ts ${l.p99} (poll ${lp.p99}, worker ${lw.p99}) c ${cl.p99_ns}; at nice ${LAT_NICE}: worker ${ln.p50} / ${ln.p99} c ${cn.p50_ns} / ${cn.p99_ns}`);
  }
}

const m = (id: string, unit: string, ts: number, c: number, ratio: number | null): Metric => ({ id, unit, ts, c, ratio });
const med = (xs: number[]) => (xs.length > 0 ? median(xs) : NaN);
const metrics: Metric[] = [
  m('drain', 'ns/record', med(res.drain.ts), med(res.drain.c), med(res.drain.ts) / med(res.drain.c)),
  m('drain_256', 'ns/record', med(res.drain_256.ts), med(res.drain_256.c), med(res.drain_256.ts) / med(res.drain_256.c)),
  m('drain_mixed', 'ns/record', med(res.drain_mixed.ts), med(res.drain_mixed.c), med(res.drain_mixed.ts) / med(res.drain_mixed.c)),
  m('stream', 'records/s', med(res.stream.ts), med(res.stream.c), med(res.stream.c) / med(res.stream.ts)),
  m('stream_drops', 'records/run', med(res.stream.tsDrop), med(res.stream.cDrop), med(res.stream.cDrop) === 0 ? (med(res.stream.tsDrop) === 0 ? 1 : null) : med(res.stream.tsDrop) / med(res.stream.cDrop)),
  m('stream_drops_max', 'records/run', res.stream.tsDrop.length ? Math.max(...res.stream.tsDrop) : NaN, res.stream.cDrop.length ? Math.max(...res.stream.cDrop) : NaN, null),
  m('latency', 'ns (p50)', med(res.p50.ts), med(res.p50.c), med(res.p50.ts) / med(res.p50.c)),
  m('latency_p99', 'ns', med(res.p99.ts), med(res.p99.c), med(res.p99.ts) / med(res.p99.c)),
  m('latency_poll', 'ns (p50)', med(res.p50poll.ts), med(res.p50.c), med(res.p50poll.ts) / med(res.p50.c)),
  m('latency_poll_p99', 'ns', med(res.p99poll.ts), med(res.p99.c), med(res.p99poll.ts) / med(res.p99.c)),
  m('latency_worker', 'ns (p50)', med(res.p50worker.ts), med(res.p50.c), med(res.p50worker.ts) / med(res.p50.c)),
  m('latency_worker_p99', 'ns', med(res.p99worker.ts), med(res.p99.c), med(res.p99worker.ts) / med(res.p99.c)),
  m('latency_worker_nice', 'ns (p50)', med(res.p50nice.ts), med(res.p50nice.c), med(res.p50nice.ts) / med(res.p50nice.c)),
  m('latency_worker_nice_p99', 'ns', med(res.p99nice.ts), med(res.p99nice.c), med(res.p99nice.ts) / med(res.p99nice.c)),
  m('perf_drain', 'ns/record', med(res.perf.ts), med(res.perf.c), med(res.perf.ts) / med(res.perf.c)),
  m('drain_decode', 'ns/record', med(res.decode.view), med(res.decode.c), med(res.decode.view) / med(res.decode.c)),
  m('drain_decode_comm', 'ns/record', med(res.decode.viewComm), med(res.decode.cComm), med(res.decode.viewComm) / med(res.decode.cComm)),
  m('drain_decode_copy', 'ns/record', med(res.decode.copy), med(res.decode.cComm), med(res.decode.copy) / med(res.decode.cComm)),
];
printResult('ringbuf', metrics, json);
