// UserRingBuffer: TypeScript produces, the kernel consumes. bpf/ringbuf_bench.bpf.o's
// urb_drain (SEC("syscall"), run with BPF_PROG_TEST_RUN) drains `urb` with
// bpf_user_ringbuf_drain() and reports in .bss what it saw: urb_drained,
// urb_sum (sum of seq), urb_bad (wrong size or checksum), urb_last_seq; its
// return value is the number of samples drained.
import { resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BpfObject } from '../src/object/index.ts';
import { UserRingBuffer } from '../src/ringbuf/index.ts';
import { REC_SIZE, recCheck } from './helpers/ringbuf_record.ts';
import { hasKernelBtf, needsRoot } from './helpers/env.ts';

const OBJECT = resolve(import.meta.dirname, '..', 'bpf', 'ringbuf_bench.bpf.o');

describe.skipIf(needsRoot || !hasKernelBtf)('UserRingBuffer drained by the kernel (urb_drain)', () => {
  let obj: BpfObject;
  let urb: UserRingBuffer;
  const counter = (name: string): number => Number(obj.bss.get(name));
  const drain = (): number => obj.program('urb_drain').prog.testRun().retval | 0;
  /** Write struct rec { seq, rec_check(seq) } into a reserved sample (optionally with a wrong checksum). */
  const fill = (sample: Uint8Array, seq: number, corrupt = false): void => {
    const dv = new DataView(sample.buffer, sample.byteOffset, sample.byteLength);
    const [lo, hi] = recCheck(seq);
    dv.setUint32(0, seq, true);
    dv.setUint32(4, 0, true);
    dv.setInt32(8, corrupt ? ~lo : lo, true);
    dv.setInt32(12, hi, true);
  };

  beforeAll(() => {
    obj = BpfObject.open(OBJECT);
    for (const p of ['rb_produce', 'rb_produce_ts', 'pb_produce']) obj.program(p).autoload = false;
    obj.load();
    urb = new UserRingBuffer(obj.map('urb').map);
  });
  afterAll(async () => {
    urb?.close();
    await obj?.destroy();
  });
  beforeEach(() => {
    for (const name of ['urb_drained', 'urb_sum', 'urb_bad', 'urb_last_seq']) obj.bss.set(name, 0n);
  });

  it('the kernel sees every submitted record, in order, intact; discarded ones never; space comes back', () => {
    expect(urb.size).toBe(256 * 1024);
    expect(drain()).toBe(0); // empty
    let next = 0;
    // 4000 records of 24 bytes per round: the third round wraps the end of the 256 KiB ring
    for (let round = 0; round < 4; round++) {
      let submitted = 0;
      let sum = 0;
      let last = 0;
      for (let i = 0; i < 4000; i++) {
        const seq = next++;
        const s = urb.reserve(REC_SIZE)!;
        expect(s).not.toBeNull();
        fill(s, seq);
        if (seq % 7 === 6) {
          urb.discard(s);
        } else {
          urb.submit(s);
          submitted++;
          sum += seq;
          last = seq;
        }
      }
      expect(urb.available()).toBe(urb.size - 4000 * (REC_SIZE + 8));
      const before = { drained: counter('urb_drained'), sum: counter('urb_sum') };
      expect(drain()).toBe(submitted);
      expect(counter('urb_drained') - before.drained).toBe(submitted);
      expect(counter('urb_sum') - before.sum).toBe(sum);
      expect(counter('urb_last_seq')).toBe(last);
      expect(counter('urb_bad')).toBe(0);
      expect(urb.available()).toBe(urb.size); // the kernel advanced consumer_pos past all of them
    }
  });

  it('records committed out of order are drained in reservation order once the first is committed', () => {
    const a = urb.reserve(REC_SIZE)!;
    const b = urb.reserve(REC_SIZE)!;
    fill(a, 100);
    fill(b, 101);
    urb.submit(b);
    expect(drain()).toBe(0); // a is still BUSY: the kernel stops there
    urb.submit(a);
    expect(drain()).toBe(2);
    expect([counter('urb_drained'), counter('urb_sum'), counter('urb_last_seq'), counter('urb_bad')]).toEqual([2, 201, 101, 0]);
  });

  it('the kernel flags a torn checksum and a short sample as bad', () => {
    const torn = urb.reserve(REC_SIZE)!;
    fill(torn, 5, true);
    urb.submit(torn);
    urb.submit(urb.reserve(8)!); // too short for a struct rec: bpf_dynptr_read fails
    const good = urb.reserve(REC_SIZE)!;
    fill(good, 9);
    urb.submit(good);
    expect(drain()).toBe(3); // samples handed to the callback
    // torn: counted and summed, but bad; short: bad only; good: counted and summed
    expect([counter('urb_drained'), counter('urb_sum'), counter('urb_last_seq'), counter('urb_bad')]).toEqual([2, 14, 9, 2]);
    expect(urb.available()).toBe(urb.size);
  });
});
