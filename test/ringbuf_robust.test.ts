// Ring and perf buffers under misuse and overload, fed by real producers:
// the hand-assembled socket filters of test/helpers/ringbuf_producers.ts run
// by BPF_PROG_TEST_RUN (`repeat` = N records, seq 0..N-1, checksum
// seq * CHECK_MUL), on maps made here.
//   - close() from inside a record callback stops delivery at once (the
//     pages it leaves behind read zeros, which must never parse as records);
//   - a drain under a budget stops at it and lets the event loop run, then
//     continues where it stopped: every record once, in order;
//   - the consumer holds its own fd: closing the caller's map does not pull
//     it from under the consumer.
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.ts';
import { BpfProgType, Program } from '../src/prog/index.ts';
import { asm, encodeInsns } from '../src/prog/insn.ts';
import { PerfBuffer, RingBuffer, UserRingBuffer, type RecordCallback } from '../src/ringbuf/index.ts';
import { type FD, MapElemCommands, mapCreate } from '../src/syscall/index.ts';
import { CHECK_MUL, COUNTER_SUBMITTED, perfProducer, ringbufProducer } from './helpers/ringbuf_producers.ts';
import { fdCount, needsRoot } from './helpers/env.ts';
import { numPossibleCpus } from '../src/util/cpus.ts';

const owned: { close(): void }[] = [];
afterEach(() => {
  for (const o of owned.splice(0).reverse()) o.close();
});
const own = <T extends { close(): void }>(x: T): T => (owned.push(x), x);

const ncpu = numPossibleCpus();
const ringMap = (size: number): FD => own(mapCreate({ map_type: 27, key_size: 0, value_size: 0, max_entries: size, map_name: 'rb_robust' }, 'test ring'));
const perfMap = (): FD => own(mapCreate({ map_type: 4, key_size: 4, value_size: 4, max_entries: ncpu, map_name: 'pb_robust' }, 'perf map'));
const counters = (): FD => own(mapCreate({ map_type: 2, key_size: 4, value_size: 32, max_entries: 1, map_name: 'rb_ctr' }, 'test counters'));
function readCounters(fd: FD): number[] {
  const v = new Uint8Array(32);
  new MapElemCommands(fd.value, 'counters').lookup(new Uint8Array(4), v);
  return Array.from(new BigUint64Array(v.buffer), Number);
}
const load = (name: string, insns: Uint8Array): Program => own(Program.load({ name, type: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns, license: 'GPL' }));
const packet = Buffer.alloc(64);
const produce = (p: Program, n: number): void => void p.testRun({ dataIn: packet, repeat: n });
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const settle = async (turns = 20): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise((r) => setTimeout(r, 1));
};

/** A ring of `size` bytes with `n` records already in it (seq 0..n-1). */
function filledRing(size: number, n: number): { ring: FD; ctr: FD; prog: Program } {
  const ring = ringMap(size);
  const ctr = counters();
  const prog = load('rb_prod', ringbufProducer(ring.value, ctr.value));
  produce(prog, n);
  expect(readCounters(ctr)[COUNTER_SUBMITTED]).toBe(n);
  return { ring, ctr, prog };
}

/** Checks each record (in order, intact) and counts them. Ring records are 16 bytes, perf samples 20 (padded). */
function recorder(sampleSize: number) {
  const st = { seen: 0, bad: 0 };
  const cb: RecordCallback = (v, off, size) => {
    const seq = v.getUint32(off, true);
    if (size !== sampleSize || seq !== st.seen || v.getUint32(off + 8, true) !== Math.imul(seq, CHECK_MUL) >>> 0) st.bad++;
    st.seen++;
  };
  return { st, cb };
}

describe.skipIf(needsRoot)('close() from inside a record callback stops delivery at once', () => {
  // 1000 records in a 64 KiB ring (24 bytes each): the ring holds them all; after close the
  // pages read zeros, which the old drain took for records of length 0: 585 phantoms and more.
  const N = 1000;

  for (const closeAt of [1, 400, N]) {
    it(`RingBuffer.consume(): closing at record ${closeAt} of ${N} delivers exactly ${closeAt}`, () => {
      const { ring } = filledRing(1 << 16, N);
      const rb = own(new RingBuffer(ring.value));
      const { st, cb } = recorder(16);
      const n = rb.consume((v, off, size, r) => {
        cb(v, off, size, r);
        if (st.seen === closeAt) rb.close();
      });
      expect(n).toBe(closeAt);
      expect(st).toEqual({ seen: closeAt, bad: 0 });
      expect(rb.closed).toBe(true);
      expect(() => rb.consume(cb)).toThrow(UsageError);
    });
  }

  it('RingBuffer.poll(): closing at record 400 delivers exactly 400', () => {
    const { ring } = filledRing(1 << 16, N);
    const rb = own(new RingBuffer(ring.value));
    const { st, cb } = recorder(16);
    expect(rb.poll(1000, (v, off, size, r) => void (cb(v, off, size, r), st.seen === 400 && rb.close()))).toBe(400);
    expect(st).toEqual({ seen: 400, bad: 0 });
  });

  it('RingBuffer.start(): closing at record 400 delivers exactly 400, and no later wakeup delivers more', async () => {
    const { ring, prog } = filledRing(1 << 16, N);
    const rb = own(new RingBuffer(ring.value));
    const { st, cb } = recorder(16);
    rb.start((v, off, size, r) => {
      cb(v, off, size, r);
      if (st.seen === 400) rb.close();
    });
    for (let i = 0; i < 200 && st.seen < 400; i++) await new Promise((r) => setTimeout(r, 5));
    produce(prog, 10); // more records into the map: nobody must see them
    await settle();
    expect(st).toEqual({ seen: 400, bad: 0 });
  });

  it('RingBuffer batch mode (onBatch): closing in the first batch ends the drain', () => {
    const { ring } = filledRing(1 << 16, N);
    let batches = 0;
    let records = 0;
    const rb = own(
      new RingBuffer(ring.value, {
        batchSize: 100,
        onBatch: (_v, _recs, count) => {
          batches++;
          records += count;
          rb.close();
        },
      }),
    );
    expect(rb.consume()).toBe(100);
    expect([batches, records]).toEqual([1, 100]);
  });

  it('two rings: closing in ring 0 leaves ring 1 untouched, nothing crashes', () => {
    const a = filledRing(1 << 14, 10);
    const b = filledRing(1 << 14, 10);
    const rb = own(new RingBuffer());
    rb.add(a.ring.value);
    rb.add(b.ring.value);
    const seen = [0, 0];
    expect(rb.consume((_v, _o, _s, ring) => void (seen[ring]!++, rb.close()))).toBe(1);
    expect(seen).toEqual([1, 0]);
  });

  it('the async iterator ends when the loop body closes the consumer', async () => {
    const { ring } = filledRing(1 << 16, N);
    const rb = own(new RingBuffer(ring.value));
    let got = 0;
    for await (const rec of rb) {
      expect(new DataView(rec.buffer, rec.byteOffset).getUint32(0, true)).toBe(got);
      if (++got === 7) rb.close();
    }
    // records copied before close() may still be handed out (they are owned copies); none after
    expect(got).toBeGreaterThanOrEqual(7);
    expect(got).toBeLessThanOrEqual(N);
  });

  for (const mode of ['consume', 'start'] as const) {
    it(`PerfBuffer.${mode}(): closing at sample 300 of 1000 delivers exactly 300`, async () => {
      const map = perfMap();
      const ctr = counters();
      const prog = load('pb_prod', perfProducer(map.value, ctr.value));
      const pb = own(new PerfBuffer(map.value, { pageCount: 16 })); // 64 KiB per CPU: 1000 x 32 bytes fit
      produce(prog, N);
      expect(readCounters(ctr)[COUNTER_SUBMITTED]).toBe(N);
      const { st, cb } = recorder(20);
      const closing: RecordCallback = (v, off, size, r) => {
        cb(v, off, size, r);
        if (st.seen === 300) pb.close();
      };
      if (mode === 'consume') {
        expect(pb.consume(closing)).toBe(300);
      } else {
        pb.start(closing);
        for (let i = 0; i < 200 && st.seen < 300; i++) await new Promise((r) => setTimeout(r, 5));
        await settle();
      }
      expect(st).toEqual({ seen: 300, bad: 0 });
      expect(pb.closed).toBe(true);
    });
  }
});

describe.skipIf(needsRoot)('an empty record is a record', () => {
  it('records of length 0 (bpf_ringbuf_output with size 0) are delivered between others, not taken for a closed ring', () => {
    const ring = ringMap(1 << 14);
    const ctr = counters();
    const full = load('rb_prod', ringbufProducer(ring.value, ctr.value));
    // r1 = ring, r2 = r10 - 8, r3 = 0 (size), r4 = 0 (flags); bpf_ringbuf_output (130)
    const empty = load(
      'rb_empty',
      encodeInsns([...asm.ldMapFd(1, ring.value), asm.mov64Reg(2, 10), asm.add64Imm(2, -8), asm.mov64Imm(3, 0), asm.mov64Imm(4, 0), asm.call(130), asm.mov64Imm(0, 0), asm.exit()]),
    );
    produce(empty, 2);
    produce(full, 1);
    produce(empty, 1);
    produce(full, 1);
    const rb = own(new RingBuffer(ring.value));
    const sizes: number[] = [];
    expect(rb.consume((_v, _o, size) => void sizes.push(size))).toBe(5);
    expect(sizes).toEqual([0, 0, 16, 0, 16]);
    produce(empty, 1);
    expect(rb.consume((_v, _o, size) => void sizes.push(size), { records: 1 })).toBe(1);
    expect(sizes.at(-1)).toBe(0);
  });
});

describe.skipIf(needsRoot)('a drain under a budget yields and continues where it stopped', () => {
  it('consume() with a record budget delivers exactly that many per call, then the rest, in order', () => {
    const { ring } = filledRing(1 << 16, 1000);
    const rb = own(new RingBuffer(ring.value));
    const { st, cb } = recorder(16);
    expect(rb.consume(cb, { records: 300 })).toBe(300);
    expect(rb.consume(cb, { records: 300 })).toBe(300);
    expect(rb.available()).toBe(400 * 24);
    expect(rb.consume(cb)).toBe(400);
    expect(st).toEqual({ seen: 1000, bad: 0 });
  });

  it('consumeBatch() with a record budget cuts the batch to meet it', () => {
    const { ring } = filledRing(1 << 16, 1000);
    const rb = own(new RingBuffer(ring.value));
    const sizes: number[] = [];
    expect(rb.consumeBatch((_v, _r, count) => void sizes.push(count), { records: 250 })).toBe(250);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(250);
    expect(rb.consumeBatch((_v, _r, count) => void sizes.push(count))).toBe(750);
  });

  for (const kind of ['RingBuffer', 'PerfBuffer'] as const) {
    it(`${kind}.start() under a 100-record budget lets an immediate queued before it run mid-drain; budget false does not`, async () => {
      for (const budget of [{ records: 100 }, false] as const) {
        let src: RingBuffer | PerfBuffer;
        let fill: () => void;
        let size: number;
        if (kind === 'RingBuffer') {
          const { ring } = filledRing(1 << 16, 1000);
          src = own(new RingBuffer(ring.value));
          fill = () => {};
          size = 16;
        } else {
          const map = perfMap();
          const prog = load('pb_prod', perfProducer(map.value, counters().value));
          src = own(new PerfBuffer(map.value, { pageCount: 16 }));
          fill = () => produce(prog, 1000);
          size = 20;
        }
        fill();
        const { st, cb } = recorder(size);
        let seenWhenImmediateRan = -1;
        setImmediate(() => (seenWhenImmediateRan = st.seen));
        src.start(cb, { budget });
        for (let i = 0; i < 400 && st.seen < 1000; i++) await turn();
        await settle(5);
        src.stop();
        expect(st).toEqual({ seen: 1000, bad: 0 });
        if (budget === false) expect([0, 1000]).toContain(seenWhenImmediateRan);
        else expect(seenWhenImmediateRan).toBeLessThan(1000);
      }
    });
  }
});

describe.skipIf(needsRoot)('the consumer holds its own fd', () => {
  it('closing the caller map fd leaves a started RingBuffer working, and close() releases everything', async () => {
    const before = fdCount();
    const ring = mapCreate({ map_type: 27, key_size: 0, value_size: 0, max_entries: 1 << 14, map_name: 'rb_own' }, 'ring');
    const ctr = counters();
    const prog = load('rb_prod', ringbufProducer(ring.value, ctr.value)); // the program holds the map too
    const rb = new RingBuffer(ring.value);
    const { st, cb } = recorder(16);
    rb.start(cb);
    ring.close(); // the caller closes its fd: the consumer's duplicate keeps watching
    produce(prog, 5);
    for (let i = 0; i < 200 && st.seen < 5; i++) await new Promise((r) => setTimeout(r, 5));
    expect(st).toEqual({ seen: 5, bad: 0 });
    rb.close();
    owned.splice(owned.indexOf(prog), 1);
    prog.close();
    owned.splice(owned.indexOf(ctr), 1);
    ctr.close();
    expect(fdCount()).toBe(before);
  });

  it('a consumer over a closed fd, or a map of the wrong type, is refused with a typed error', () => {
    const ring = mapCreate({ map_type: 27, key_size: 0, value_size: 0, max_entries: 1 << 14, map_name: 'rb_gone' }, 'ring');
    const fd = ring.value;
    ring.close();
    expect(() => new RingBuffer(fd)).toThrow(/not an open file descriptor/);
    const perf = perfMap();
    expect(() => new RingBuffer(perf.value)).toThrow(/not BPF_MAP_TYPE_RINGBUF/);
    expect(() => new UserRingBuffer(perf.value)).toThrow(/not BPF_MAP_TYPE_USER_RINGBUF/);
    expect(() => new PerfBuffer(perf.value, { pageCount: 3 })).toThrow(UsageError);
  });
});

describe.skipIf(needsRoot)("a closed consumer's pages go back to the process once no view of them is left", () => {
  it('100 consumers of a 4 MiB ring opened and closed: the zero pages left by close() are unmapped after a collection; a held view keeps its own', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const collect = async (): Promise<void> => {
      for (let i = 0; i < 4; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    /** MiB mapped with some access (reservations, ---p, left out). */
    const mapped = (): number => {
      let bytes = 0;
      for (const l of readFileSync('/proc/self/maps', 'utf8').trim().split('\n')) {
        const [range, perms] = l.split(' ');
        if (perms === '---p') continue;
        const [start, end] = range!.split('-').map((x) => parseInt(x, 16));
        bytes += end! - start!;
      }
      return bytes / 2 ** 20;
    };
    const { ring, prog } = filledRing(1 << 22, 1);
    let held: DataView | undefined;
    const cycle = (keep: boolean): void => {
      const rb = new RingBuffer(ring.value);
      produce(prog, 1);
      rb.consume((v) => void (keep && (held = v)));
      rb.close();
    };
    cycle(false);
    await collect();
    const before = mapped();
    cycle(true); // this one's view is kept: its zero pages must stay (reading them must not crash)
    for (let i = 0; i < 99; i++) cycle(false);
    await collect();
    const after = mapped();
    // each consumer maps 8 MiB + 2 pages (the ring twice): kept, 100 of them would be 800 MiB
    expect(after - before).toBeGreaterThan(7); // the held one
    expect(after - before).toBeLessThan(64);
    expect(held!.getUint32(0, true)).toBe(0);
    held = undefined;
    await collect();
    expect(mapped() - before).toBeLessThan(after - before - 7); // and once dropped, it goes too
  });
});
