// RingBuffer and UserRingBuffer on maps made here, fed by the hand-assembled
// socket-filter producer of src/ringbuf/producers.ts (BPF_PROG_TEST_RUN with
// `repeat` = N records, deterministic): what the object-based tests
// (ringbuf_object.test.ts, user_ringbuf.test.ts) do not cover: several rings
// in one consumer, poll() timing, the async iterator, teardown, fd hygiene.
import { afterEach, describe, expect, it } from 'vitest';
import { BpfProgType, Program } from '../src/prog/index.ts';
import { CHECK_MUL, ringbufProducer } from './helpers/ringbuf_producers.ts';
import { RingBuffer, UserRingBuffer, copyRecord } from '../src/ringbuf/index.ts';
import { type FD, mapCreate } from '../src/syscall/index.ts';
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
function producer(ring: FD, ctr: FD, opts: Parameters<typeof ringbufProducer>[2] = {}): Program {
  return own(Program.load({ name: 'rb_prod', type: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: ringbufProducer(ring.value, ctr.value, opts), license: 'GPL' }));
}
const packet = Buffer.alloc(64);
const produce = (p: Program, n: number): void => void p.testRun({ dataIn: packet, repeat: n });

describe.skipIf(needsRoot)('BPF_MAP_TYPE_RINGBUF consumer', () => {
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
