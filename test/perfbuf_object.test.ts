// bpf/ringbuf_bench.bpf.o's pb_produce (tp/syscalls/sys_enter_getpgid,
// filtered on our pid, `nr_records` bpf_perf_event_output per getpgid on
// the current CPU) feeding PerfBuffer.
import { execFileSync } from 'node:child_process';
import { stat } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject } from '../src/object/index.ts';
import { PerfBuffer, onlineCpus, type RecordCallback } from '../src/ringbuf/index.ts';
import { recCheck } from './helpers/ringbuf_record.ts';
import { libcGetpgid } from '../src/syscall/index.ts';
import { hasKernelBtf, needsRoot } from './helpers/env.ts';

const OBJECT = resolve(import.meta.dirname, '..', 'bpf', 'ringbuf_bench.bpf.o');
/** A PERF_SAMPLE_RAW sample of 16 bytes: the kernel pads u32 size + data to 8 bytes, so raw size is 20. */
const RAW_SIZE = 20;

describe.skipIf(needsRoot || !hasKernelBtf)('PerfBuffer fed by bpf/ringbuf_bench.bpf.o (pb_produce)', () => {
  let obj: BpfObject;
  const consumers: PerfBuffer[] = [];
  const counter = (name: string): number => Number(obj.bss.get(name));
  const resetCounters = (): void => {
    for (const name of ['next_seq', 'submitted', 'dropped']) obj.bss.set(name, 0n);
  };
  const open = (opts: ConstructorParameters<typeof PerfBuffer>[1] = {}): PerfBuffer => {
    const pb = new PerfBuffer(obj.map('pb').map, opts);
    consumers.push(pb);
    return pb;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  beforeAll(() => {
    obj = BpfObject.open(OBJECT);
    obj.rodata.set('target_pid', process.pid);
    obj.load();
    obj.attach('pb_produce', { mount: true });
  });
  afterAll(async () => {
    await obj?.destroy();
  });
  afterEach(() => {
    for (const c of consumers.splice(0)) c.close();
    resetCounters();
  });

  it('reports lost samples exactly as the kernel counted them (and reassembles samples that wrap)', () => {
    // All samples of one CPU's ring, so seqs are ordered: pin this thread (the one calling getpgid).
    const cpu = onlineCpus()[0]!;
    const mask = /([0-9a-f]+)\s*$/.exec(execFileSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' }))![1]!;
    execFileSync('taskset', ['-p', '-c', String(cpu), String(process.pid)]);
    try {
      // Between two delivered samples, the seqs the kernel could not write are exactly the
      // ones its PERF_RECORD_LOST (delivered in between) counts.
      let lostSinceLast = 0;
      const lostEvents: number[] = [];
      const st = { last: -1, seen: 0, bad: 0, gaps: 0 };
      const cb: RecordCallback = (v, off, size, ringCpu) => {
        const seq = v.getUint32(off, true);
        const [lo, hi] = recCheck(seq);
        if (size !== RAW_SIZE || ringCpu !== cpu || v.getInt32(off + 8, true) !== lo || v.getInt32(off + 12, true) !== hi) st.bad++;
        if (seq - st.last - 1 !== lostSinceLast) st.gaps++;
        if (lostSinceLast > 0) lostSinceLast = 0;
        st.last = seq;
        st.seen++;
      };
      const pb = open({ pageCount: 1, onLost: (_c, n) => (lostEvents.push(n), (lostSinceLast += n)) }); // 4 KiB: 170 samples of 24 bytes
      for (let round = 0; round < 40; round++) {
        obj.data.set('nr_records', 100 + round * 7); // overflows most rounds; LOST records (24 bytes) shift samples across the ring end
        libcGetpgid(0);
        pb.consume(cb);
      }
      obj.data.set('nr_records', 1);
      libcGetpgid(0); // the kernel writes the pending LOST record before this sample
      pb.consume(cb);
      const dropped = counter('dropped');
      expect(dropped).toBeGreaterThan(0);
      expect(counter('submitted') + dropped).toBe(counter('next_seq'));
      expect(lostEvents.length).toBeGreaterThan(1);
      expect(st).toEqual({ last: counter('next_seq') - 1, seen: counter('submitted'), bad: 0, gaps: 0 });
      expect(pb.lost).toBe(dropped);
      expect(lostEvents.reduce((a, b) => a + b, 0)).toBe(dropped);
    } finally {
      execFileSync('taskset', ['-p', mask, String(process.pid)]);
    }
  });

  // start() with a record produced right around it, from the loop phases that matter: one
  // getpgid, so one wakeup; the record must arrive without a second one.
  const inTimer = () => sleep(1);
  const inIoCallback = () => new Promise<void>((r) => stat('/', () => r())); // resumes in libuv's poll phase
  for (const [phaseName, phase] of [['a timer', inTimer], ['an I/O callback', inIoCallback]] as const) {
    for (const when of ['before start()', 'right after start()', 'in the next setImmediate'] as const) {
      it(`event-driven: start() from ${phaseName}, one sample produced ${when}, delivered without a second wakeup`, async () => {
        obj.data.set('nr_records', 1);
        await phase();
        const pb = open();
        if (when === 'before start()') libcGetpgid(0);
        const got: number[] = [];
        pb.start((v, off) => void got.push(v.getUint32(off, true)));
        if (when === 'right after start()') libcGetpgid(0);
        if (when === 'in the next setImmediate') setImmediate(() => libcGetpgid(0));
        for (let i = 0; i < 60 && got.length === 0; i++) await sleep(5);
        expect(got).toEqual([0]);
      });
    }
  }

  it('async iterator: a sample written while the watchers are being re-armed is not stranded', async () => {
    obj.data.set('nr_records', 1);
    const pb = open();
    const got: number[] = [];
    libcGetpgid(0);
    const iterate = async (): Promise<void> => {
      for await (const rec of pb) {
        got.push(new DataView(rec.buffer, rec.byteOffset).getUint32(0, true));
        if (got.length === 50) break;
        // the only producer: one sample, produced after the iterator found the ring empty and re-armed
        setImmediate(() => libcGetpgid(0));
      }
    };
    const timeout = sleep(3000).then(() => 'timeout');
    expect(await Promise.race([iterate().then(() => 'done'), timeout])).toBe('done');
    expect(got).toEqual([...Array(50).keys()]);
  });
});
