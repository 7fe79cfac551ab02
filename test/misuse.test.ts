// Misuse fails loudly: every way of using the API in the wrong order, after
// close/destroy, or with an argument out of range is a UsageError saying what
// was wrong and what to do, never a silent no-op, a stale value or a crash.
// On the real kernel, with bpf/ringbuf_bench.bpf.o (rb ringbuf, pb perf
// array, urb user ringbuf; .bss counters; .rodata target_pid; rb_produce on
// tp/syscalls/sys_enter_getpgid) and bpf/minimal.bpf.o.
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TsbpfError, UsageError } from '../src/errors.ts';
import { BpfMap, MapType } from '../src/maps/index.ts';
import { BpfObject } from '../src/object/index.ts';
import { PerfBuffer, RingBuffer, UserRingBuffer } from '../src/ringbuf/index.ts';
import { libcGetpgid } from '../src/syscall/index.ts';
import { fdCount, hasKernelBtf, needsRoot } from './helpers/env.ts';

const OBJ = (name: string): string => resolve(import.meta.dirname, '..', 'bpf', `${name}.bpf.o`);
const RINGBUF = OBJ('ringbuf_bench');

const objects: BpfObject[] = [];
const closers: { close(): void }[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c.close();
  await Promise.all(objects.splice(0).map((o) => o.destroy()));
});
const open = (path = RINGBUF): BpfObject => {
  const o = BpfObject.open(path);
  objects.push(o);
  return o;
};
/** The ringbuf object with only rb_produce loaded, filtering on this process. */
const ringObject = (): BpfObject => {
  const o = open();
  for (const p of o.programs.values()) p.autoload = p.name === 'rb_produce' || p.name === 'urb_drain';
  o.rodata.set('target_pid', process.pid);
  return o;
};

/** The UsageError `fn` throws (fails the test when it throws anything else, or nothing). */
function usage(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect(err).toBeInstanceOf(TsbpfError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError, nothing was thrown');
}

describe.skipIf(needsRoot || !hasKernelBtf)('misuse of an object is a UsageError', () => {
  it('attach() and attachAll() before load()', () => {
    const o = ringObject();
    expect(usage(() => o.attachAll()).message).toMatch(/object ringbuf_bench: attachAll\(\) before load\(\): call load\(\) first/);
    expect(usage(() => o.attach('rb_produce')).message).toMatch(/attach\(\) before load\(\)/);
  });

  it('attach() and attachAll() after destroy(); destroy() twice is a no-op', async () => {
    const o = ringObject();
    o.load();
    await o.destroy();
    await o.destroy(); // idempotent, as libbpf's bpf_object__close
    expect(o.state).toBe('destroyed');
    expect(usage(() => o.attachAll()).message).toMatch(/attachAll\(\) after destroy\(\)/);
    expect(usage(() => o.attach('rb_produce')).message).toMatch(/attach\(\) after destroy\(\)/);
  });

  it('attach() of a program whose autoload was off names it', () => {
    const o = ringObject();
    o.load();
    expect(usage(() => o.attach('pb_produce')).message).toMatch(/program "pb_produce" was not loaded \(its autoload is off\)/);
    expect(usage(() => o.program('pb_produce').prog).message).toMatch(/program "pb_produce" was not loaded: its autoload is off/);
    expect(o.program('pb_produce').loaded).toBe(false);
    expect(o.program('rb_produce').loaded).toBe(true);
  });

  it('.map and .prog before load() and after destroy(); ring buffers built from them refuse too', async () => {
    const o = ringObject();
    expect(usage(() => o.map('rb').map).message).toMatch(/map "rb" does not exist before load\(\): call load\(\) first/);
    expect(usage(() => o.program('rb_produce').prog).message).toMatch(/program "rb_produce" does not exist before load\(\)/);
    expect(usage(() => o.map('rb').fd).message).toMatch(/before load/);
    // the old silent case: an empty buffer built on nothing
    usage(() => new RingBuffer(o.map('rb').map));
    usage(() => new RingBuffer(o.map('rb'))); // an ObjectMap is accepted as a source, but not before load
    usage(() => new PerfBuffer(o.map('pb')));
    usage(() => new UserRingBuffer(o.map('urb')));
    o.load();
    // after load an ObjectMap works as the source, like its BpfMap
    const rb = new RingBuffer(o.map('rb'));
    closers.push(rb);
    expect(rb.size()).toBe(256 * 1024);
    await o.destroy();
    expect(usage(() => o.map('rb').map).message).toMatch(/map "rb": the object was destroyed/);
    expect(usage(() => o.program('rb_produce').prog).message).toMatch(/the object was destroyed/);
    usage(() => new RingBuffer(o.map('rb')));
  });

  it('globals after destroy(): get() and set() throw instead of reading zeros and dropping writes', async () => {
    const o = ringObject();
    o.load();
    o.bss.set('discard_every', 5);
    expect(o.bss.get('discard_every')).toBe(5);
    await o.destroy();
    expect(usage(() => o.bss.get('discard_every')).message).toMatch(/globals of \.bss are gone: the object was destroyed/);
    usage(() => o.bss.set('discard_every', 1));
    usage(() => o.rodata.get('target_pid'));
    usage(() => o.data.raw('nr_records'));
  });

  it('globals after a failed load() are gone too', () => {
    const o = open(OBJ('broken'));
    expect(() => o.load()).toThrow(/map_value_or_null/);
    expect(o.state).toBe('destroyed');
    usage(() => o.load());
    usage(() => o.map('counts').map);
  });

  it('.rodata set after load() is refused (the kernel froze it); before load it sticks', () => {
    const o = ringObject();
    o.load();
    expect(o.rodata.get('target_pid')).toBe(process.pid);
    expect(usage(() => o.rodata.set('target_pid', 1)).message).toMatch(/variable "target_pid" in \.rodata is read-only after load/);
    expect(o.rodata.get('target_pid')).toBe(process.pid);
  });

  it('settings after load() are refused, and did not change what was loaded', () => {
    const o = ringObject();
    o.map('rb').maxEntries = 1 << 16;
    o.load();
    const m = o.map('rb');
    expect(usage(() => (m.maxEntries = 1 << 20)).message).toMatch(/map "rb": maxEntries is a load-time setting and the object is already loaded; set it between open\(\) and load\(\)/);
    expect(m.maxEntries).toBe(1 << 16);
    expect(m.map.info().maxEntries).toBe(1 << 16);
    usage(() => (m.flags = 0));
    usage(() => (m.numaNode = 0));
    usage(() => (m.pinPath = '/sys/fs/bpf/x'));
    usage(() => (m.reuse = undefined));
    usage(() => (m.innerSpec = undefined));
    const p = o.program('rb_produce');
    usage(() => (p.autoload = false));
    usage(() => (p.type = p.type));
    usage(() => (p.flags = 0));
    usage(() => (p.logLevel = 2));
    usage(() => (p.alwaysLog = true));
    usage(() => (p.ifindex = 1));
    usage(() => (p.expectedAttachType = 0));
    // a tracepoint's target is read at attach time: it may still change until destroy
    p.attachTarget = 'syscalls/sys_enter_getpgid';
    // before load, a bad value is refused at once
    const fresh = ringObject();
    usage(() => (fresh.map('rb').maxEntries = -1));
  });

  it('load() twice, and load() after destroy()', async () => {
    const o = ringObject();
    o.load();
    expect(usage(() => o.load()).message).toMatch(/load\(\) on an object that is already loaded/);
    await o.destroy();
    expect(usage(() => o.load()).message).toMatch(/already destroyed/);
  });

  it('adopt() after destroy() is refused (the caller keeps the link)', async () => {
    const o = ringObject();
    o.load();
    await o.destroy();
    usage(() => o.adopt({ destroy() {} }));
  });

  for (const wait of ['async iterator', 'start()'] as const) {
    it(`a wait pending (${wait}) while the object is destroyed: no crash, the consumer ends on close(), no fd leaks`, async () => {
      const before = fdCount();
      const o = ringObject();
      o.load();
      o.attach('rb_produce', { mount: true });
      const rb = new RingBuffer(o.map('rb'));
      const seen: number[] = [];
      let iterating: Promise<void> = Promise.resolve();
      if (wait === 'start()') {
        rb.start((v, off) => void seen.push(v.getUint32(off, true)));
      } else {
        iterating = (async () => {
          for await (const rec of rb) seen.push(new DataView(rec.buffer, rec.byteOffset).getUint32(0, true));
        })();
      }
      libcGetpgid(0); // one record
      for (let i = 0; i < 200 && seen.length < 1; i++) await new Promise((r) => setTimeout(r, 5));
      await o.destroy(); // links, programs and maps closed under the pending wait
      libcGetpgid(0); // the program is gone: nothing more is produced
      await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual([0]);
      expect(rb.available()).toBe(0); // the consumer's own fd keeps the map alive for it
      rb.close();
      await iterating; // the iterator ends with close()
      objects.splice(objects.indexOf(o), 1);
      expect(fdCount()).toBe(before);
    });
  }

  it('start() and async iteration of one consumer at once is refused (libuv would abort on a second poll handle for the fd)', async () => {
    const o = ringObject();
    o.load();
    const rb = new RingBuffer(o.map('rb'));
    closers.push(rb);
    rb.start(() => {});
    await expect(rb.records().next()).rejects.toThrow(UsageError);
    rb.stop();
    const it = rb.records();
    const first = it.next(); // waiting for a record: the iterator watches the fd
    await new Promise((r) => setTimeout(r, 5));
    expect(usage(() => rb.start(() => {})).message).toMatch(/start\(\) while an async iterator is reading it/);
    rb.close();
    expect((await first).done).toBe(true);
  });

  it('reading a global held as a view after destroy() reads zeros and does not crash', async () => {
    const o = ringObject();
    o.load();
    o.bss.set('discard_every', 7);
    const held = o.bss.raw('discard_every'); // a live view into the mmap'd .bss
    expect(new DataView(held.buffer, held.byteOffset).getUint32(0, true)).toBe(7);
    await o.destroy();
    expect(new DataView(held.buffer, held.byteOffset).getUint32(0, true)).toBe(0);
  });
});

describe.skipIf(needsRoot)('misuse of maps and consumers is a UsageError naming them', () => {
  it('wrong-size and out-of-range keys and values name the map', () => {
    const arr = BpfMap.create({ name: 'mis_arr', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 8, flags: 0 });
    closers.push(arr);
    expect(usage(() => arr.lookup(-1)).message).toMatch(/key of map "mis_arr" \(array\) -1 is negative; keys are unsigned/);
    expect(usage(() => arr.lookup(8)).message).toMatch(/key 8 of map "mis_arr" \(array\) is out of range: its indexes are 0\.\.7/);
    expect(usage(() => arr.update(2 ** 32, 1)).message).toMatch(/mis_arr.*does not fit 4 bytes/);
    expect(usage(() => arr.update(1, 2 ** 32)).message).toMatch(/value of map "mis_arr".*does not fit 4 bytes/);
    expect(usage(() => arr.update(1, new Uint8Array(8))).message).toMatch(/value of map "mis_arr" \(array\) must be 4 bytes/);
    expect(usage(() => arr.lookup(new Uint8Array(2))).message).toMatch(/key of map "mis_arr" \(array\) must be 4 bytes/);
    expect(usage(() => arr.lookup(1.5)).message).toMatch(/must be an integer/);
    expect(usage(() => arr.lookup(-1n)).message).toMatch(/negative/);
    arr.update(7, -1); // values may be negative (two's complement)
    expect(Buffer.from(arr.lookup(7)!).readInt32LE()).toBe(-1);
  });

  it('a closed map throws UsageError for every use, including .fd', () => {
    const m = BpfMap.create({ name: 'mis_hash', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 8, flags: 0 });
    m.close();
    m.close();
    expect(usage(() => m.lookup(1)).message).toMatch(/map "mis_hash" \(hash\) used after close\(\)/);
    usage(() => m.update(1, 1));
    usage(() => m.delete(1));
    usage(() => m.fd);
    usage(() => m.info());
    usage(() => [...m.keys()]);
    usage(() => m.lookupBatch());
  });

  it('closed ring, perf and user ring buffers throw UsageError; bad arguments too', () => {
    const ring = BpfMap.create({ name: 'mis_rb', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 1 << 12, flags: 0 });
    const urbMap = BpfMap.create({ name: 'mis_urb', type: MapType.BPF_MAP_TYPE_USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 1 << 12, flags: 0 });
    const perf = BpfMap.create({ name: 'mis_pb', type: MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 0, flags: 0 });
    closers.push(ring, urbMap, perf);
    const rb = new RingBuffer(ring);
    usage(() => rb.consumeRing(3, () => {}));
    usage(() => rb.poll(-7));
    rb.close();
    expect(usage(() => rb.consume(() => {})).message).toMatch(/RingBuffer used after close\(\)/);
    usage(() => rb.poll(0));
    usage(() => rb.start(() => {}));
    usage(() => rb.add(ring));
    const pb = new PerfBuffer(perf, { pageCount: 1 });
    pb.close();
    usage(() => pb.consume(() => {}));
    const urb = new UserRingBuffer(urbMap);
    usage(() => urb.reserve(-1));
    const sample = urb.reserve(8)!;
    urb.submit(sample);
    expect(usage(() => urb.submit(sample)).message).toMatch(/already submitted/);
    usage(() => urb.submit(new Uint8Array(8)));
    urb.close();
    expect(usage(() => urb.reserve(8)).message).toMatch(/used after close/);
    expect(sample[0]).toBe(0); // a held sample view reads zeros after close, no crash
    usage(() => new PerfBuffer(perf, { cpus: [1 << 20] }));
  });
});
