// Ring buffer / perf buffer benchmark: tsbpf vs C libbpf (bench/c/ringbuf_bench.c),
// the SAME hand-assembled BPF producer on both sides (instructions written to a
// file here, loaded by the C side with bpf_prog_load after re-targeting its map
// references). Runs are interleaved; medians reported.
//
//   drain       ns per 16-byte record, draining a ring pre-filled with 600k records
//               (callback reads one field) vs ring_buffer__consume
//   perf_drain  the same through a perf buffer vs perf_buffer__consume
//   stream      records/s while another process produces continuously
//               (tsbpf event-driven mode vs ring_buffer__poll); ratio = C / ts
//   latency_p50/p99  bpf_ktime_get_ns() in the record -> callback (CLOCK_MONOTONIC)
//
//   npx tsx bench/ringbuf.ts [--json] [--quick]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildC, median, printResult, type Metric } from './lib/contract.ts';
import { BpfProgType, Program } from '../src/prog/index.ts';
import { PerfBuffer, RingBuffer, onlineCpus } from '../src/ringbuf/index.ts';
import { COUNTER_DROPPED, perfProducer, ringbufProducer } from '../src/ringbuf/producers.ts';
import { type FD, MapElemCommands, mapCreate } from '../src/syscall/index.ts';

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 5;
const RECORDS = 600_000;
const STREAM_SECONDS = quick ? 1 : 2;
const STREAM_REPEAT = 64;
const STREAM_RING = 1 << 18;
const LAT_SAMPLES = quick ? 1000 : 3000;
const LAT_INTERVAL_US = 200;

const dir = join(tmpdir(), 'tsbpf-bench-ringbuf');
mkdirSync(dir, { recursive: true });
const cBin = buildC(new URL('./c/ringbuf_bench.c', import.meta.url).pathname, join(dir, 'ringbuf_bench'), ['-lpthread']);
const progFile = (name: string, insns: Uint8Array): string => {
  const p = join(dir, name);
  writeFileSync(p, insns);
  return p;
};
// placeholders: map reference 0 = ring/perf map, 1 = counters (see ringbuf_bench.c)
const RING_PROG = progFile('ring.bin', ringbufProducer(0, 1));
const RING_TS_PROG = progFile('ring_ts.bin', ringbufProducer(0, 1, { timestamp: true }));
const PERF_PROG = progFile('perf.bin', perfProducer(0, 1));

function runC(args: string[]): Record<string, number>[] {
  const r = spawnSync(cBin, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ringbuf_bench ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((line) => Object.fromEntries(line.split(' ').slice(1).map((kv) => kv.split('=')).map(([k, v]) => [k!, Number(v)])));
}

const owned: { close(): void }[] = [];
const own = <T extends { close(): void }>(x: T): T => (owned.push(x), x);
const counters = (): FD => own(mapCreate({ map_type: 2, key_size: 4, value_size: 32, max_entries: 1, map_name: 'bench_ctr' }, 'counters'));
const ringMap = (size: number): FD => own(mapCreate({ map_type: 27, key_size: 0, value_size: 0, max_entries: size, map_name: 'bench_rb' }, 'ring'));
const load = (insns: Uint8Array): Program => own(Program.load({ name: 'bench_prod', type: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns, license: 'GPL' }));
const packet = Buffer.alloc(64);
function readDropped(fd: FD): number {
  const v = new Uint8Array(32);
  new MapElemCommands(fd.value, 'counters').lookup(new Uint8Array(4), v);
  return Number(new BigUint64Array(v.buffer)[COUNTER_DROPPED]);
}

// the "read one field" callback: an int32 accumulator (a growing double would box on every add)
let acc = 0;
const readField = (v: DataView, off: number): void => {
  acc = (acc + v.getInt32(off, true)) | 0;
};

// ---------------------------------------------------------------- drain
function tsDrain(runs: number): number[] {
  const ring = ringMap(1 << 24);
  const prog = load(ringbufProducer(ring.value, counters().value));
  const rb = own(new RingBuffer(ring.value));
  const out: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    prog.testRun({ dataIn: packet, repeat: RECORDS });
    const t0 = process.hrtime.bigint();
    const n = rb.consume(readField);
    const dt = Number(process.hrtime.bigint() - t0);
    if (n !== RECORDS) throw new Error(`drain: ${n} records, expected ${RECORDS}`);
    if (i > 0) out.push(dt / n); // the first run warms the JIT and faults the pages in (C does the same below)
  }
  return out;
}

function tsPerfDrain(runs: number): number[] {
  const ncpu = Math.max(...onlineCpus()) + 1;
  const map = own(mapCreate({ map_type: 4, key_size: 4, value_size: 4, max_entries: ncpu, map_name: 'bench_pb' }, 'perf map'));
  const prog = load(perfProducer(map.value, counters().value));
  let pages = 1;
  while (pages * 4096 < RECORDS * 32 + 4096) pages <<= 1;
  const pb = own(new PerfBuffer(map.value, { pageCount: pages }));
  const out: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    prog.testRun({ dataIn: packet, repeat: RECORDS });
    const t0 = process.hrtime.bigint();
    const n = pb.consume(readField);
    const dt = Number(process.hrtime.bigint() - t0);
    if (n !== RECORDS) throw new Error(`perf_drain: ${n} records, expected ${RECORDS} (lost ${pb.lost})`);
    if (i > 0) out.push(dt / n);
  }
  return out;
}

// ---------------------------------------------------------------- stream & latency: producer in another process
function spawnProducer(progFd: number, seconds: number, repeat: number, intervalUs: number) {
  // the child inherits the program fd as its fd 3 and runs BPF_PROG_TEST_RUN in a loop
  const child = spawn(cBin, ['produce', '3', String(seconds), String(repeat), String(intervalUs)], { stdio: ['ignore', 'inherit', 'inherit', progFd] });
  return new Promise<void>((res, rej) => child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`producer exited ${code}`)))));
}

async function tsStream(): Promise<{ rate: number; dropped: number }> {
  const ring = ringMap(STREAM_RING);
  const ctr = counters();
  const prog = load(ringbufProducer(ring.value, ctr.value));
  const rb = own(new RingBuffer(ring.value));
  let n = 0;
  rb.start((v, off) => {
    acc = (acc + v.getInt32(off, true)) | 0;
    n++;
  });
  const t0 = process.hrtime.bigint();
  await spawnProducer(prog.fd, STREAM_SECONDS, STREAM_REPEAT, 0);
  rb.stop();
  n += rb.consume(readField);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  return { rate: n / dt, dropped: readDropped(ctr) };
}

async function tsLatency(): Promise<{ p50: number; p99: number }> {
  const ring = ringMap(1 << 16);
  const prog = load(ringbufProducer(ring.value, counters().value, { timestamp: true }));
  const rb = own(new RingBuffer(ring.value));
  const lat = new Float64Array(LAT_SAMPLES);
  let k = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  rb.start((v, off) => {
    const now = process.hrtime.bigint(); // CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns
    if (k < LAT_SAMPLES) lat[k++] = Number(now - v.getBigUint64(off + 8, true));
    if (k === LAT_SAMPLES) done();
  });
  const seconds = (LAT_SAMPLES * LAT_INTERVAL_US * 3) / 1e6 + 5;
  const producer = spawn(cBin, ['produce', '3', String(seconds), '1', String(LAT_INTERVAL_US)], { stdio: ['ignore', 'inherit', 'inherit', prog.fd] });
  await finished;
  producer.kill();
  rb.stop();
  lat.sort();
  return { p50: lat[LAT_SAMPLES >> 1]!, p99: lat[Math.floor(LAT_SAMPLES * 0.99)]! };
}

function closeAll(): void {
  for (const o of owned.splice(0).reverse()) o.close();
}

// ---------------------------------------------------------------- run, interleaved
const res = { drain: { ts: [] as number[], c: [] as number[] }, perf: { ts: [] as number[], c: [] as number[] }, stream: { ts: [] as number[], c: [] as number[], tsDrop: [] as number[], cDrop: [] as number[] }, p50: { ts: [] as number[], c: [] as number[] }, p99: { ts: [] as number[], c: [] as number[] } };

for (let round = 0; round < ROUNDS; round++) {
  res.drain.ts.push(median(tsDrain(3)));
  closeAll();
  res.drain.c.push(median(runC(['drain', RING_PROG, String(RECORDS), '4']).slice(1).map((r) => r.ns_per_record!)));
  res.perf.c.push(median(runC(['perf_drain', PERF_PROG, String(RECORDS), '4']).slice(1).map((r) => r.ns_per_record!)));
  res.perf.ts.push(median(tsPerfDrain(3)));
  closeAll();
  if (!json) console.error(`round ${round + 1}/${ROUNDS}: drain ts ${res.drain.ts.at(-1)!.toFixed(2)} c ${res.drain.c.at(-1)!.toFixed(2)}; perf ts ${res.perf.ts.at(-1)!.toFixed(2)} c ${res.perf.c.at(-1)!.toFixed(2)}`);
}
for (let round = 0; round < Math.min(ROUNDS, 3); round++) {
  const s = await tsStream();
  closeAll();
  res.stream.ts.push(s.rate);
  res.stream.tsDrop.push(s.dropped);
  const c = runC(['stream', RING_PROG, String(STREAM_SECONDS), String(STREAM_REPEAT), String(STREAM_RING)])[0]!;
  res.stream.c.push(c.records_per_s!);
  res.stream.cDrop.push(c.dropped!);
  const l = await tsLatency();
  closeAll();
  res.p50.ts.push(l.p50);
  res.p99.ts.push(l.p99);
  const cl = runC(['latency', RING_TS_PROG, String(LAT_SAMPLES), String(LAT_INTERVAL_US)])[0]!;
  res.p50.c.push(cl.p50_ns!);
  res.p99.c.push(cl.p99_ns!);
  if (!json) console.error(`stream ts ${s.rate.toFixed(0)}/s (drops ${s.dropped}) c ${c.records_per_s}/s (drops ${c.dropped}); latency p50 ts ${l.p50} c ${cl.p50_ns}`);
}

const m = (id: string, unit: string, ts: number, c: number, ratio: number): Metric => ({ id, unit, ts, c, ratio });
const mTs = (xs: number[]) => median(xs);
const metrics: Metric[] = [
  m('drain', 'ns/record', mTs(res.drain.ts), mTs(res.drain.c), mTs(res.drain.ts) / mTs(res.drain.c)),
  m('stream', 'records/s', mTs(res.stream.ts), mTs(res.stream.c), mTs(res.stream.c) / mTs(res.stream.ts)),
  m('stream_drops', 'records/run', mTs(res.stream.tsDrop), mTs(res.stream.cDrop), mTs(res.stream.cDrop) === 0 ? 0 : mTs(res.stream.tsDrop) / mTs(res.stream.cDrop)),
  m('latency_p50', 'ns', mTs(res.p50.ts), mTs(res.p50.c), mTs(res.p50.ts) / mTs(res.p50.c)),
  m('latency_p99', 'ns', mTs(res.p99.ts), mTs(res.p99.c), mTs(res.p99.ts) / mTs(res.p99.c)),
  m('perf_drain', 'ns/record', mTs(res.perf.ts), mTs(res.perf.c), mTs(res.perf.ts) / mTs(res.perf.c)),
];
printResult('ringbuf', metrics, json);
void acc;
