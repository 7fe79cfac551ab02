// bpf/ringbuf_bench.bpf.o through the object loader: the real bpf_loop
// producer (rb_produce on tp/syscalls/sys_enter_getpgid, filtered on our pid)
// feeding RingBuffer. One getpgid(2) from this process = one burst of
// `nr_records` 16-byte records { seq, check = rec_check(seq) }.
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { BpfObject } from '../src/object/index.ts';
import { RingBuffer, type RecordCallback } from '../src/ringbuf/index.ts';
import { libcGetpgid } from '../src/syscall/index.ts';
import { hasKernelBtf, needsRoot } from './helpers/env.ts';
import { REC_SIZE, recCheck, recCheckBig } from './helpers/ringbuf_record.ts';

const OBJECT = resolve(import.meta.dirname, '..', 'bpf', 'ringbuf_bench.bpf.o');

const objects: BpfObject[] = [];
const consumers: RingBuffer[] = [];
afterEach(async () => {
  for (const c of consumers.splice(0)) c.close();
  await Promise.all(objects.splice(0).map((o) => o.destroy()));
});

/** The object with `rb` resized, only rb_produce attached, filtering on this process. */
function producer(ringSize: number): { obj: BpfObject; rb: RingBuffer; counter: (name: string) => number } {
  const obj = BpfObject.open(OBJECT);
  objects.push(obj);
  obj.map('rb').maxEntries = ringSize;
  obj.rodata.set('target_pid', process.pid);
  obj.load();
  obj.attach('rb_produce', { mount: true });
  const rb = new RingBuffer(obj.map('rb').map);
  consumers.push(rb);
  return { obj, rb, counter: (name) => Number(obj.bss.get(name)) };
}

/**
 * The strict checker: record i delivered must be the i-th record not
 * discarded (seq % k == k - 1 is discarded), 16 bytes, checksum intact. So
 * "strictly next" means in order, none skipped, none twice, no discarded one.
 */
function checker(discardEvery: number) {
  const st = { next: 0, seen: 0, bad: 0 };
  const skipDiscarded = (): void => {
    if (discardEvery > 0 && st.next % discardEvery === discardEvery - 1) st.next++;
  };
  const cb: RecordCallback = (v, off, size) => {
    skipDiscarded();
    const seq = v.getUint32(off, true);
    const [lo, hi] = recCheck(seq);
    if (size !== REC_SIZE || seq !== st.next || v.getInt32(off + 4, true) !== 0 || v.getInt32(off + 8, true) !== lo || v.getInt32(off + 12, true) !== hi) st.bad++;
    st.next = seq + 1;
    st.seen++;
  };
  return { st, cb, skipDiscarded };
}

describe.skipIf(needsRoot || !hasKernelBtf)('RingBuffer fed by bpf/ringbuf_bench.bpf.o (rb_produce)', () => {
  it('the checksum helper matches rec_check() of ringbuf_bench.h', () => {
    for (const seq of [0, 1, 2, 96, 0x7fffffff, 0x80000000, 0xffffffff, 10_000_000, 123456789]) {
      const [lo, hi] = recCheck(seq);
      expect((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toBe(recCheckBig(BigInt(seq)));
    }
  });

  it('10 million records through a 64 KiB ring with a slow consumer: every submitted record exactly once, in order, intact; discarded ones never', () => {
    const TOTAL = 10_000_000;
    const BURST = 2048; // records per getpgid (one bpf_loop)
    const TAKE = 1500; // the slow consumer takes at most this many per turn: the ring overflows
    const DISCARD = 97;
    const { obj, rb, counter } = producer(1 << 16);
    expect(rb.size()).toBe(65536); // 2730 records of 24 bytes
    obj.bss.set('discard_every', DISCARD);
    const { st, cb, skipDiscarded } = checker(DISCARD);
    let budget = 0;
    const slow: RecordCallback = (v, off, size, ring) => {
      cb(v, off, size, ring);
      return --budget <= 0; // stop this turn
    };
    // next_seq counts reservations that succeeded: the records that went through the ring
    for (let reserved = 0; reserved < TOTAL; reserved = counter('next_seq')) {
      obj.data.set('nr_records', Math.min(BURST, TOTAL - reserved));
      libcGetpgid(0);
      budget = TAKE;
      rb.consume(slow);
    }
    rb.consume(cb); // the rest
    const submitted = counter('submitted');
    const discarded = counter('discarded');
    expect(counter('next_seq')).toBe(TOTAL);
    expect(submitted + discarded).toBe(TOTAL);
    expect(discarded).toBe(Math.floor(TOTAL / DISCARD));
    expect(counter('dropped')).toBeGreaterThan(0); // the producer did find the ring full
    expect(st.bad).toBe(0);
    expect(st.seen).toBe(submitted);
    skipDiscarded();
    expect(st.next).toBe(TOTAL); // nothing missing at the end either
    expect(rb.available()).toBe(0);
  });

  it('stops early on a truthy return and resumes after that record; batch callback sees the same records', () => {
    const { obj, rb } = producer(1 << 16);
    obj.data.set('nr_records', 100);
    libcGetpgid(0);
    const seqs: number[] = [];
    expect(rb.consume((v, off) => (seqs.push(v.getUint32(off, true)), seqs.length === 10))).toBe(10);
    expect(rb.consume((v, off) => void seqs.push(v.getUint32(off, true)))).toBe(90);
    expect(seqs).toEqual([...Array(100).keys()]);
    obj.bss.set('discard_every', 3);
    obj.data.set('nr_records', 900);
    libcGetpgid(0);
    const { st, cb } = checker(3);
    st.next = 100;
    const n = rb.consumeBatch((v, recs, k, r) => {
      for (let i = 0; i < k; i++) cb(v, recs[2 * i]!, recs[2 * i + 1]!, r);
    });
    expect(n).toBe(600);
    expect(st).toEqual({ next: 1000, seen: 600, bad: 0 }); // 100..999 minus seq % 3 == 2
  });

  it('a truthy return publishes consumer_pos exactly after that record: discarded records after it stay unread, across ring wraps, with callbacks changing', () => {
    // every record (discarded ones too) takes 8 + 16 = 24 bytes and seq counts every
    // reservation, so the record with seq s ends at byte (s + 1) * 24 of the stream;
    // a 4 KiB ring is not a multiple of 24: records straddle the end as it wraps
    const { obj, rb } = producer(1 << 12);
    obj.bss.set('discard_every', 3);
    obj.data.set('nr_records', 50);
    const { st, cb } = checker(3);
    let produced = 0;
    for (let round = 0; round < 200; round++) {
      libcGetpgid(0);
      produced += 50;
      // stop on the k-th delivered record (seq % 3 == 1 is followed by a discarded one)
      const k = 1 + (round % 7);
      let seen = 0;
      let last = -1;
      // a fresh closure each round: the drain must not depend on the callback it saw before
      const stopper: RecordCallback = (v, off, size, r) => {
        cb(v, off, size, r);
        last = v.getUint32(off, true);
        return ++seen === k;
      };
      expect(rb.consume(stopper)).toBe(k);
      expect(rb.positions().consumer).toBe(BigInt((last + 1) * 24));
      // the rest of the burst, then nothing
      rb.consume(round % 2 ? cb : (v, off, size, r) => void cb(v, off, size, r));
      expect(rb.positions().consumer).toBe(BigInt(produced * 24));
      expect(rb.available()).toBe(0);
    }
    expect(st.bad).toBe(0);
    expect(st.next).toBe(produced); // the last seq, 9999, is not a discarded one
  });

  it('event-driven mode: a producer thread of this process in a loop, a 4 KiB ring, no lost wakeup', async () => {
    const { obj, rb, counter } = producer(1 << 12); // 170 records: many catch-up wakeups
    obj.data.set('nr_records', 5);
    const { st, cb } = checker(0);
    rb.start(cb);
    const rounds = 4000;
    // getpgid from another thread of this process (same tgid: the pid filter lets it through)
    const worker = new Worker(
      `const koffi = require('koffi');
       const getpgid = koffi.load('libc.so.6').func('int getpgid(int pid)');
       const pause = new Int32Array(new SharedArrayBuffer(4));
       for (let i = 0; i < ${rounds}; i++) {
         getpgid(0);
         if (i % 64 === 0) Atomics.wait(pause, 0, 0, 1);
       }`,
      { eval: true },
    );
    await new Promise((res, rej) => (worker.on('exit', res), worker.on('error', rej)));
    const deadline = Date.now() + 5000;
    while (st.seen < counter('submitted') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    rb.stop();
    expect(counter('next_seq')).toBe(counter('submitted')); // a seq per successful reservation
    expect(counter('submitted') + counter('dropped')).toBe(rounds * 5);
    expect(st.bad).toBe(0);
    expect(st.seen).toBe(counter('submitted'));
  });

  it('event-driven mode delivers records written just before and just after start()', async () => {
    const { obj, rb } = producer(1 << 16);
    obj.data.set('nr_records', 3);
    libcGetpgid(0); // before start: the ring is readable when libuv registers it
    const { st, cb } = checker(0);
    rb.start(cb);
    libcGetpgid(0); // right after
    for (let i = 0; i < 100 && st.seen < 6; i++) await new Promise((r) => setTimeout(r, 5));
    rb.stop();
    expect(st).toEqual({ next: 6, seen: 6, bad: 0 });
  });
});
