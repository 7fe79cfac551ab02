import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { BpfProgType, Program } from '../src/prog/index.ts';
import { COUNTER_DISCARDED, COUNTER_DROPPED, COUNTER_SEQ, COUNTER_SUBMITTED, CHECK_MUL, ringbufProducer } from '../src/ringbuf/producers.ts';
import { RingBuffer, UserRingBuffer, copyRecord, type RecordCallback } from '../src/ringbuf/index.ts';
import { type FD, MapElemCommands, mapCreate } from '../src/syscall/index.ts';
import { fdCount, needsRoot } from './helpers/env.ts';

const owned: { close(): void }[] = [];
afterEach(() => {
  for (const o of owned.splice(0).reverse()) o.close();
});
const own = <T extends { close(): void }>(x: T): T => (owned.push(x), x);

function ringMap(size: number, type = 27): FD {
  return own(mapCreate({ map_type: type, key_size: 0, value_size: 0, max_entries: size, map_name: 'rb_test' }, 'test ring'));
}
function counters(): FD {
  return own(mapCreate({ map_type: 2, key_size: 4, value_size: 32, max_entries: 1, map_name: 'rb_ctr' }, 'test counters'));
}
function readCounters(fd: FD): number[] {
  const v = new Uint8Array(32);
  new MapElemCommands(fd.value, 'counters').lookup(new Uint8Array(4), v);
  return Array.from(new BigUint64Array(v.buffer), Number);
}
function producer(ring: FD, ctr: FD, opts: Parameters<typeof ringbufProducer>[2] = {}): Program {
  return own(Program.load({ name: 'rb_prod', type: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: ringbufProducer(ring.value, ctr.value, opts), license: 'GPL' }));
}
const packet = Buffer.alloc(64);
const produce = (p: Program, n: number): void => void p.testRun({ dataIn: packet, repeat: n });

/** A checking callback: strictly increasing seq, checksum intact, never a discarded seq. */
function checker(discardEvery = 0) {
  const st = { last: -1, seen: 0, bad: 0 };
  const cb: RecordCallback = (v, off, size) => {
    const seq = v.getUint32(off, true);
    if (size !== 16 || seq <= st.last || v.getUint32(off + 4, true) !== 0 || v.getUint32(off + 8, true) !== Math.imul(seq, CHECK_MUL) >>> 0 || (discardEvery > 0 && seq % discardEvery === 0)) st.bad++;
    st.last = seq;
    st.seen++;
  };
  return { st, cb };
}

describe.skipIf(needsRoot)('BPF_MAP_TYPE_RINGBUF consumer', () => {
  it('delivers every committed record in order, skips discarded ones', () => {
    const ring = ringMap(1 << 16);
    const ctr = counters();
    const prog = producer(ring, ctr, { discardEvery: 5 });
    const rb = own(new RingBuffer(ring.value));
    produce(prog, 1000);
    const { st, cb } = checker(5);
    expect(rb.consume(cb)).toBe(800);
    expect(st).toEqual({ last: 999, seen: 800, bad: 0 });
    const c = readCounters(ctr);
    expect(c[COUNTER_SUBMITTED]).toBe(800);
    expect(c[COUNTER_DISCARDED]).toBe(200);
    expect(rb.consume(cb)).toBe(0);
    expect(rb.available()).toBe(0);
    const pos = rb.positions();
    expect(pos.consumer).toBe(pos.producer);
    expect(pos.consumer).toBe(1000n * 24n);
  });

  it('10 million records through a 64 KiB ring with a slow consumer: exactly once, in order, intact', () => {
    const ring = ringMap(1 << 16);
    const ctr = counters();
    const prog = producer(ring, ctr, { discardEvery: 97 });
    const rb = own(new RingBuffer(ring.value));
    const { st, cb } = checker(97);
    let budget = 0;
    // a slow consumer: takes at most 1500 records per turn, stopping early through the callback's return value
    const slow: RecordCallback = (v, off, size, r) => {
      cb(v, off, size, r);
      return --budget <= 0;
    };
    const total = 10_000_000;
    const burst = 2000;
    for (let made = 0; made < total; made += burst) {
      produce(prog, burst);
      budget = 1500;
      rb.consume(slow);
    }
    rb.consume(cb); // the rest
    const c = readCounters(ctr);
    expect(c[COUNTER_SEQ]).toBe(total);
    expect(c[COUNTER_SUBMITTED]! + c[COUNTER_DISCARDED]! + c[COUNTER_DROPPED]!).toBe(total);
    expect(c[COUNTER_DROPPED]).toBeGreaterThan(0); // the ring did overflow
    expect(st.bad).toBe(0);
    expect(st.seen).toBe(c[COUNTER_SUBMITTED]);
  });

  it('stops early on a truthy return, then resumes after that record', () => {
    const ring = ringMap(1 << 16);
    const ctr = counters();
    const prog = producer(ring, ctr);
    const rb = own(new RingBuffer(ring.value));
    produce(prog, 100);
    const seqs: number[] = [];
    expect(rb.consume((v, off) => (seqs.push(v.getUint32(off, true)), seqs.length === 10))).toBe(10);
    expect(rb.consume((v, off) => void seqs.push(v.getUint32(off, true)))).toBe(90);
    expect(seqs).toEqual([...Array(100).keys()]);
  });

  it('batch callback sees the same records', () => {
    const ring = ringMap(1 << 16);
    const ctr = counters();
    const prog = producer(ring, ctr, { discardEvery: 3 });
    const rb = own(new RingBuffer(ring.value, { batchSize: 64 }));
    produce(prog, 900);
    const { st, cb } = checker(3);
    let calls = 0;
    const n = rb.consumeBatch((v, recs, k, r) => {
      calls++;
      for (let i = 0; i < k; i++) cb(v, recs[2 * i]!, recs[2 * i + 1]!, r);
    });
    expect(n).toBe(600);
    expect(st.bad).toBe(0);
    expect(st.seen).toBe(600);
    expect(calls).toBeGreaterThanOrEqual(600 / 64);
  });

  it('one consumer over two rings tells them apart', () => {
    const [r1, r2] = [ringMap(1 << 14), ringMap(1 << 15)];
    const [c1, c2] = [counters(), counters()];
    const [p1, p2] = [producer(r1, c1), producer(r2, c2)];
    const rb = own(new RingBuffer());
    expect(rb.add(r1.value)).toBe(0);
    expect(rb.add(r2.value)).toBe(1);
    produce(p1, 30);
    produce(p2, 50);
    const per = [0, 0];
    expect(rb.consume((_v, _o, _s, ring) => void per[ring]!++)).toBe(80);
    expect(per).toEqual([30, 50]);
    produce(p2, 7);
    expect(rb.poll(1000, (_v, _o, _s, ring) => void per[ring]!++)).toBe(7);
    expect(per).toEqual([30, 57]);
  });

  it('poll() times out empty, and returns at once when data is there', () => {
    const ring = ringMap(1 << 14);
    const prog = producer(ring, counters());
    const rb = own(new RingBuffer(ring.value, { onRecord: () => {} }));
    const t0 = performance.now();
    expect(rb.poll(50)).toBe(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    produce(prog, 3);
    expect(rb.poll(5000)).toBe(3);
  });

  it('event-driven mode drains on the event loop, with a producer on another thread (no lost wakeup)', async () => {
    const ring = ringMap(1 << 12); // tiny ring: many catch-up wakeups
    const ctr = counters();
    const prog = producer(ring, ctr);
    const rb = own(new RingBuffer(ring.value));
    const { st, cb } = checker();
    rb.start(cb);
    const rounds = 3000;
    // the producer thread: BPF_PROG_TEST_RUN(repeat 1..8) in a loop, through its own koffi
    const worker = new Worker(
      `const koffi = require('koffi');
       const { workerData: w } = require('node:worker_threads');
       const sys = koffi.load('libc.so.6').func('long syscall(long nr, int cmd, void *attr, uint32 size)');
       const attr = Buffer.alloc(80), data = Buffer.alloc(64);
       attr.writeUInt32LE(w.fd, 0); attr.writeUInt32LE(64, 8); attr.writeBigUInt64LE(koffi.address(data), 16);
       for (let i = 0; i < w.rounds; i++) {
         attr.writeUInt32LE(1 + (i % 8), 32);
         if (sys(321, 10, attr, 80) < 0) throw new Error('test_run errno ' + koffi.errno());
         if (i % 64 === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
       }`,
      { eval: true, workerData: { fd: prog.fd, rounds } },
    );
    await new Promise((res, rej) => (worker.on('exit', res), worker.on('error', rej)));
    const expected = () => readCounters(ctr)[COUNTER_SUBMITTED]!;
    const deadline = Date.now() + 5000;
    while (st.seen < expected() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    rb.stop();
    const c = readCounters(ctr);
    expect(c[COUNTER_SEQ]).toBe(Array.from({ length: rounds }, (_, i) => 1 + (i % 8)).reduce((a, b) => a + b));
    expect(st.bad).toBe(0);
    expect(st.seen).toBe(c[COUNTER_SUBMITTED]);
  });

  it('async iterator yields owned copies', async () => {
    const ring = ringMap(1 << 14);
    const prog = producer(ring, counters());
    const rb = own(new RingBuffer(ring.value));
    setTimeout(() => produce(prog, 5), 20);
    const got: number[] = [];
    for await (const rec of rb) {
      got.push(new DataView(rec.buffer, rec.byteOffset).getUint32(0, true));
      if (got.length === 5) break;
    }
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });

  it('teardown: a view held past close() reads zeros, the process survives', () => {
    const ring = ringMap(1 << 14);
    const prog = producer(ring, counters());
    const rb = new RingBuffer(ring.value);
    produce(prog, 3);
    let held: DataView | undefined;
    let at = 0;
    let copy: Uint8Array | undefined;
    rb.consume((v, off, size) => {
      held = v;
      at = off;
      copy = copyRecord(v, off, size);
    });
    expect(held!.getUint32(at, true)).toBe(2);
    rb.close();
    rb.close(); // idempotent
    expect(held!.getUint32(at, true)).toBe(0); // overmapped with zero pages: no SIGSEGV
    expect(held!.getUint32(at + 8, true)).toBe(0);
    const cv = new DataView(copy!.buffer); // the copy is ours: intact
    expect(cv.getUint32(0, true)).toBe(2);
    expect(cv.getUint32(8, true)).toBe(Math.imul(2, CHECK_MUL) >>> 0);
    expect(copy!.length).toBe(16);
    expect(() => rb.consume(() => {})).toThrow(/after close/);
  });

  it('create/destroy cycles leave the fd count unchanged', () => {
    const before = fdCount();
    for (let i = 0; i < 25; i++) {
      const ring = mapCreate({ map_type: 27, key_size: 0, value_size: 0, max_entries: 1 << 14, map_name: 'rb_cycle' }, 'cycle');
      const rb = new RingBuffer(ring.value);
      rb.start(() => {});
      rb.close();
      ring.close();
    }
    expect(fdCount()).toBe(before);
  });

  it('refuses a map of another type', () => {
    const ring = ringMap(1 << 14, 31);
    expect(() => new RingBuffer(ring.value)).toThrow(/not BPF_MAP_TYPE_RINGBUF/);
  });
});

describe.skipIf(needsRoot)('BPF_MAP_TYPE_USER_RINGBUF producer', () => {
  it('reserves, submits and discards; refuses when full; frees nothing until the kernel drains', () => {
    const ring = ringMap(1 << 12, 31);
    const urb = own(new UserRingBuffer(ring.value));
    expect(urb.available()).toBe(4096);
    const a = urb.reserve(16)!;
    a.set([1, 2, 3]);
    urb.submit(a);
    expect(() => urb.submit(a)).toThrow(/already/);
    const b = urb.reserve(100)!;
    urb.discard(b);
    expect(urb.available()).toBe(4096 - 24 - 112);
    let n = 0;
    while (urb.write(new Uint8Array(16))) n++;
    expect(n).toBe(Math.floor((4096 - 24 - 112) / 24));
    expect(urb.reserve(16)).toBeNull();
    expect(urb.reserveBlocking(16, 20)).toBeNull(); // no kernel consumer: times out
    expect(() => urb.reserve(8192)).toThrow(/E2BIG/);
    // the record bytes are in the shared ring (a second, read-only consumer of the same map sees them)
    const view = new Int32Array(a.buffer, a.byteOffset - 8, 4);
    expect(view[0]).toBe(16);
    expect(view[2]).toBe(0x030201);
  });
});
