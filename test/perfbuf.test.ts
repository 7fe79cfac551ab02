import { afterEach, describe, expect, it } from 'vitest';
import { BpfProgType, Program } from '../src/prog/index.ts';
import { CHECK_MUL, COUNTER_SUBMITTED, perfProducer } from './helpers/ringbuf_producers.ts';
import { PerfBuffer, onlineCpus, type RecordCallback } from '../src/ringbuf/index.ts';
import { type FD, MapElemCommands, mapCreate } from '../src/syscall/index.ts';
import { fdCount, needsRoot } from './helpers/env.ts';

const owned: { close(): void }[] = [];
afterEach(() => {
  for (const o of owned.splice(0).reverse()) o.close();
});
const own = <T extends { close(): void }>(x: T): T => (owned.push(x), x);

const ncpu = Math.max(...onlineCpus()) + 1;
const perfMap = (): FD => own(mapCreate({ map_type: 4, key_size: 4, value_size: 4, max_entries: ncpu, map_name: 'pb_test' }, 'perf map'));
const counters = (): FD => own(mapCreate({ map_type: 2, key_size: 4, value_size: 32, max_entries: 1, map_name: 'pb_ctr' }, 'counters'));
function readCounters(fd: FD): number[] {
  const v = new Uint8Array(32);
  new MapElemCommands(fd.value, 'counters').lookup(new Uint8Array(4), v);
  return Array.from(new BigUint64Array(v.buffer), Number);
}
const producer = (map: FD, ctr: FD): Program =>
  own(Program.load({ name: 'pb_prod', type: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: perfProducer(map.value, ctr.value), license: 'GPL' }));
const packet = Buffer.alloc(64);
const produce = (p: Program, n: number): void => void p.testRun({ dataIn: packet, repeat: n });

function checker() {
  const st = { last: -1, seen: 0, bad: 0 };
  const cb: RecordCallback = (v, off, size) => {
    const seq = v.getUint32(off, true);
    // raw size is the sample padded by the kernel: 16 bytes + 4 of padding
    if (size !== 20 || seq <= st.last || v.getUint32(off + 8, true) !== Math.imul(seq, CHECK_MUL) >>> 0) st.bad++;
    st.last = seq;
    st.seen++;
  };
  return { st, cb };
}

describe.skipIf(needsRoot)('BPF_MAP_TYPE_PERF_EVENT_ARRAY consumer', () => {
  it('delivers samples in order from the CPU that produced them', () => {
    const map = perfMap();
    const ctr = counters();
    const prog = producer(map, ctr);
    const pb = own(new PerfBuffer(map.value, { pageCount: 64 }));
    expect(pb.cpus).toEqual(onlineCpus());
    produce(prog, 2000);
    const { st, cb } = checker();
    const perCpu = new Map<number, number>();
    expect(pb.consume((v, o, s, cpu) => (perCpu.set(cpu, (perCpu.get(cpu) ?? 0) + 1), cb(v, o, s, cpu)))).toBe(2000);
    expect(st).toEqual({ last: 1999, seen: 2000, bad: 0 });
    expect(perCpu.size).toBe(1); // test_run runs on one CPU
    expect(readCounters(ctr)[COUNTER_SUBMITTED]).toBe(2000);
    expect(pb.lost).toBe(0);
  });

  it('poll() and the event-driven mode', async () => {
    const map = perfMap();
    const prog = producer(map, counters());
    const pb = own(new PerfBuffer(map.value));
    const { st, cb } = checker();
    expect(pb.poll(20, cb)).toBe(0);
    produce(prog, 5);
    expect(pb.poll(1000, cb)).toBe(5);
    pb.start(cb);
    produce(prog, 7); // at once: start() drains after libuv's registration (source.ts), no second wakeup needed
    for (let i = 0; i < 200 && st.seen < 12; i++) await new Promise((r) => setTimeout(r, 5));
    pb.stop();
    expect(st.seen).toBe(12);
    expect(st.bad).toBe(0);
  });

  it('teardown: held views read zeros, map entries removed, fd count unchanged over cycles', () => {
    const map = perfMap();
    const prog = producer(map, counters());
    const before = fdCount();
    for (let i = 0; i < 10; i++) {
      const pb = new PerfBuffer(map.value, { pageCount: 2 });
      produce(prog, 3);
      let held: DataView | undefined;
      let at = 0;
      pb.consume((v, off) => void ((held = v), (at = off)));
      expect(held!.getUint32(at + 8, true)).not.toBe(0);
      pb.close();
      expect(held!.getUint32(at + 8, true)).toBe(0);
      // the map no longer points at closed events: output fails (counted as dropped), nothing crashes
      produce(prog, 1);
    }
    expect(fdCount()).toBe(before);
  });
});
