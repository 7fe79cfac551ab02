// The tsbpf side of bench/ringbuf.ts, run in a process of its own with plain
// `node` (the parent bundles this file with esbuild, as a user ships it), so
// that nothing of the parent (tsx's module loader thread and its garbage
// collections, the C runs' bookkeeping) shares the two CPUs with the measured
// consumer. Prints one JSON line.
//   node ringbuf_child.mjs drain|perf_drain|stream|latency '<json options>'
import { type ChildProcess, spawn } from 'node:child_process';
import { BpfObject } from '../src/object/index.ts';
import { PerfBuffer, RingBuffer } from '../src/ringbuf/index.ts';
import { libcGetpgid } from '../src/syscall/index.ts';
import { DRAIN_SHAPES } from './lib/ringbuf_shapes.ts';
import { event, eventView } from '../bpf/skel/bootstrap.skel.ts';

/** What the parent passes (see bench/ringbuf.ts for the meaning of each). */
export interface ChildOptions {
  object: string;
  producer: string;
  runs: number;
  records: number;
  drainRing: number;
  streamSeconds: number;
  streamPerTrigger: number;
  streamRing: number;
  latSamples: number;
  latIntervalUs: number;
  /** The nice value of latency_worker_nice's consumer thread (and of C's consumer in that comparison). */
  latNice: number;
  /** dist/index.cjs: the worker mode runs from the published package (its worker script lives there) */
  dist: string;
  /** bench/ringbuf_worker_handler.mjs, as a file: URL */
  workerHandler: string;
  /** bpf/event_bench.bpf.o (bootstrap's struct event in bulk) and how many per drain. */
  eventObject: string;
  eventRecords: number;
  eventRing: number;
}

const [mode, optsJson] = process.argv.slice(2);
const o = JSON.parse(optsJson!) as ChildOptions;
const OBJECT = o.object;
const RECORDS = o.records;
const DRAIN_RING = o.drainRing;
const STREAM_PER_TRIGGER = o.streamPerTrigger;
const STREAM_RING = o.streamRing;
const LAT_SAMPLES = o.latSamples;
const LAT_INTERVAL_US = o.latIntervalUs;
const cBin = o.producer;

/** The object with only `prog` loaded and attached, filtering on `pid`; `ringSize` resizes rb. */
function setup(prog: string, pid: number, nrRecords: number, ringSize?: number): BpfObject {
  const obj = BpfObject.open(OBJECT);
  for (const p of obj.programs.values()) p.autoload = p.name === prog;
  if (ringSize !== undefined) obj.map('rb').maxEntries = ringSize;
  obj.rodata.set('target_pid', pid);
  obj.data.set('nr_records', nrRecords);
  obj.load();
  obj.attach(prog, { mount: true });
  return obj;
}

/** The producer process both sides use: waits for a byte on stdin, then getpgid in a loop. */
function spawnProducer(seconds: number, intervalUs: number): { child: ChildProcess; go: () => void; exited: Promise<void> } {
  const child = spawn(cBin, ['produce', String(seconds), String(intervalUs)], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<void>((res, rej) => child.on('exit', (code, sig) => (code === 0 || sig === 'SIGTERM' ? res() : rej(new Error(`producer exited ${code ?? sig}`)))));
  return { child, go: () => void child.stdin!.write('g'), exited };
}

// the "read one field" callback: an int32 accumulator (a growing double would box on every add)
let acc = 0;
const readField = (v: DataView, off: number): void => {
  acc = (acc + v.getInt32(off, true)) | 0;
};

// ---------------------------------------------------------------- drain

async function tsDrain(runs: number, shape: keyof typeof DRAIN_SHAPES): Promise<number[]> {
  const { records, recSize, discardEvery } = DRAIN_SHAPES[shape];
  const obj = BpfObject.open(OBJECT);
  for (const p of obj.programs.values()) p.autoload = p.name === 'rb_produce';
  obj.map('rb').maxEntries = DRAIN_RING;
  obj.rodata.set('target_pid', process.pid);
  obj.data.set('nr_records', records);
  obj.data.set('rec_size', recSize);
  obj.load();
  obj.attach('rb_produce', { mount: true });
  obj.bss.set('discard_every', discardEvery);
  const rb = new RingBuffer(obj.map('rb').map);
  const out: number[] = [];
  try {
    for (let i = 0; i < runs + 1; i++) {
      const before = Number(obj.bss.get('submitted'));
      libcGetpgid(0); // bpf_loop writes the records before this returns
      const expected = Number(obj.bss.get('submitted')) - before;
      const t0 = process.hrtime.bigint();
      const n = rb.consume(readField);
      const dt = Number(process.hrtime.bigint() - t0);
      if (n !== expected || Number(obj.bss.get('dropped')) !== 0) throw new Error(`${shape}: ${n} records, expected ${expected} (dropped ${obj.bss.get('dropped')})`);
      if (i > 0) out.push(dt / n); // the first run warms the JIT and faults the pages in
    }
  } finally {
    rb.close();
    await obj.destroy();
  }
  return out;
}

async function tsPerfDrain(runs: number): Promise<number[]> {
  const obj = setup('pb_produce', process.pid, RECORDS);
  let pages = 1; // a 16-byte sample takes 32 bytes of ring
  while (pages * 4096 < RECORDS * 32 + 4096) pages <<= 1;
  const pb = new PerfBuffer(obj.map('pb').map, { pageCount: pages });
  const out: number[] = [];
  try {
    for (let i = 0; i < runs + 1; i++) {
      libcGetpgid(0);
      const t0 = process.hrtime.bigint();
      const n = pb.consume(readField);
      const dt = Number(process.hrtime.bigint() - t0);
      if (n !== RECORDS) throw new Error(`perf_drain: ${n} records, expected ${RECORDS} (lost ${pb.lost})`);
      if (i > 0) out.push(dt / n);
    }
  } finally {
    pb.close();
    await obj.destroy();
  }
  return out;
}

// ---------------------------------------------------------------- drain_decode: bootstrap's struct event
/**
 * Drain bpf/event_bench.bpf.o's events reading pid, ppid, exit_code,
 * duration_ns, exit_event and comm (as the C side does), through the
 * generated view (`view`: getters over the ring memory) or the copying
 * decoder (`copy`: event.decode, every field into a fresh object).
 * The view reads duration_ns through its Number accessor (`duration_nsNumber`,
 * two 32-bit halves, exact below 2**53); the copying decoder yields the exact
 * BigInt. The C side reads the u64 field and truncates it to int32, like `| 0`.
 */
async function tsDrainDecode(runs: number, how: 'view' | 'view_comm' | 'copy'): Promise<number[]> {
  const obj = BpfObject.open(o.eventObject);
  obj.map('rb').maxEntries = o.eventRing;
  obj.rodata.set('target_pid', process.pid);
  obj.data.set('nr_records', o.eventRecords);
  obj.load();
  obj.attach('ev_produce', { mount: true });
  const rb = new RingBuffer(obj.map('rb').map);
  const v = new eventView();
  const onView = (dv: DataView, off: number): void => {
    v.$at(dv, off);
    acc = (acc + v.pid + v.ppid + v.exit_code + v.duration_nsNumber + (v.exit_event ? 1 : 0)) | 0;
  };
  const onViewComm = (dv: DataView, off: number): void => {
    v.$at(dv, off);
    acc = (acc + v.pid + v.ppid + v.exit_code + v.duration_nsNumber + (v.exit_event ? 1 : 0) + v.comm.length) | 0;
  };
  const onCopy = (dv: DataView, off: number): void => {
    const e = event.decode(dv, off);
    acc = (acc + e.pid + e.ppid + e.exit_code + Number(BigInt.asIntN(32, e.duration_ns)) + (e.exit_event ? 1 : 0) + e.comm.length) | 0;
  };
  const cb = how === 'view' ? onView : how === 'view_comm' ? onViewComm : onCopy;
  const out: number[] = [];
  try {
    for (let i = 0; i < runs + 1; i++) {
      libcGetpgid(0);
      const t0 = process.hrtime.bigint();
      const n = rb.consume(cb);
      const dt = Number(process.hrtime.bigint() - t0);
      if (n !== o.eventRecords) throw new Error(`drain_decode: ${n} records, expected ${o.eventRecords}`);
      if (i > 0) out.push(dt / n);
    }
  } finally {
    rb.close();
    await obj.destroy();
  }
  return out;
}

// ---------------------------------------------------------------- stream & latency: the producer process
// One callback for the warm-up and the measured run, as one consumer keeps its callback: V8
// compiles the drain with the callback inlined, and a new closure in the measured run would
// throw that code away (a cold drain behind a producer already at full speed)
let streamed = 0;
const countField = (v: DataView, off: number): void => {
  acc = (acc + v.getInt32(off, true)) | 0;
  streamed++;
};

async function tsStream(seconds: number): Promise<{ rate: number; dropped: number }> {
  const p = spawnProducer(seconds, 0);
  const obj = setup('rb_produce', p.child.pid!, STREAM_PER_TRIGGER, STREAM_RING);
  const rb = new RingBuffer(obj.map('rb').map);
  try {
    streamed = 0;
    rb.start(countField);
    const t0 = process.hrtime.bigint();
    p.go();
    await p.exited;
    rb.stop();
    rb.consume(countField);
    const n = streamed;
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (n !== Number(obj.bss.get('submitted'))) throw new Error(`stream: ${n} records consumed, ${obj.bss.get('submitted')} submitted`);
    return { rate: n / dt, dropped: Number(obj.bss.get('dropped')) };
  } finally {
    rb.close();
    await obj.destroy();
  }
}

/** Latency samples on a RingBufferWorker (the handler runs in its thread: bench/ringbuf_worker_handler.mjs), at its default scheduling or at `nice`. */
async function tsLatencyWorker(nice?: number): Promise<{ p50: number; p99: number }> {
  const { RingBufferWorker } = require(o.dist) as typeof import('../src/index.ts');
  const p = spawnProducer(120, LAT_INTERVAL_US);
  const obj = setup('rb_produce_ts', p.child.pid!, 1);
  try {
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const w = await RingBufferWorker.start(obj.map('rb_ts').map, { module: o.workerHandler, export: 'latency', data: { samples: LAT_SAMPLES }, onMessage: () => done(), priority: nice === undefined ? undefined : { nice } });
    p.go();
    await finished;
    const r = (await w.close()) as { p50: number; p99: number };
    p.child.stdin!.end();
    await p.exited;
    return r;
  } finally {
    await obj.destroy();
  }
}

/** Latency samples through the event-driven mode (`start`) or blocking `poll` calls. */
async function tsLatency(mode: 'start' | 'poll'): Promise<{ p50: number; p99: number }> {
  const p = spawnProducer(120, LAT_INTERVAL_US);
  const obj = setup('rb_produce_ts', p.child.pid!, 1);
  const rb = new RingBuffer(obj.map('rb_ts').map);
  try {
    const lat = new Float64Array(LAT_SAMPLES);
    let k = 0;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const onRecord = (v: DataView, off: number): void => {
      const now = process.hrtime.bigint(); // CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns
      if (k < LAT_SAMPLES) lat[k++] = Number(now - v.getBigUint64(off + 8, true));
      if (k === LAT_SAMPLES) done();
    };
    if (mode === 'start') {
      rb.start(onRecord);
      p.go();
      await finished;
      rb.stop();
    } else {
      p.go();
      const deadline = Date.now() + 60_000;
      while (k < LAT_SAMPLES) {
        rb.poll(1000, onRecord);
        // (the event loop, which would report the producer's exit, does not run in here)
        if (Date.now() > deadline) throw new Error(`latency_poll: ${k} of ${LAT_SAMPLES} samples after 60 s: is the producer alive?`);
      }
    }
    p.child.stdin!.end(); // the producer stops
    await p.exited;
    lat.sort();
    return { p50: lat[LAT_SAMPLES >> 1]!, p99: lat[Math.floor(LAT_SAMPLES * 0.99)]! };
  } finally {
    rb.close();
    await obj.destroy();
  }
}

// ---------------------------------------------------------------- dispatch
async function main(): Promise<unknown> {
  switch (mode) {
    case 'drain':
    case 'drain_256':
    case 'drain_mixed':
      return { values: await tsDrain(o.runs, mode) };
    case 'perf_drain':
      return { values: await tsPerfDrain(o.runs) };
    case 'drain_decode':
      return { view: await tsDrainDecode(o.runs, 'view'), viewComm: await tsDrainDecode(o.runs, 'view_comm'), copy: await tsDrainDecode(o.runs, 'copy') };
    case 'stream':
      await tsStream(0.3); // warm-up: the consumer's code is compiled and optimized before the measured run
      return tsStream(o.streamSeconds);
    case 'latency':
      return { start: await tsLatency('start'), poll: await tsLatency('poll'), worker: await tsLatencyWorker(), workerNice: await tsLatencyWorker(o.latNice) };
    default:
      throw new Error(`ringbuf_child: unknown mode ${mode}`);
  }
}
// acc goes out with the result: the callbacks' reads cannot be optimized away
console.log(JSON.stringify({ ...((await main()) as object), acc }));
