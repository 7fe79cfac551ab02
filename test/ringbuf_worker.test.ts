// RingBufferWorker: the ring consumed on a worker thread (blocking poll(2)
// there, the handler loaded in the worker by module and export), fed by
// bpf/ringbuf_bench.bpf.o's rb_produce (bpf_loop bursts on getpgid(2) from
// this process; struct rec { seq, check }).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.ts';
import { BpfObject } from '../src/object/index.ts';
import { RingBufferWorker, type ThreadPriority } from '../src/ringbuf/index.ts';
import { SCHED_FIFO, SCHED_OTHER } from '../src/uapi/defines.ts';
import { libcGetpgid } from '../src/syscall/index.ts';
import { hasKernelBtf, needsRoot } from './helpers/env.ts';

const OBJECT = resolve(import.meta.dirname, '..', 'bpf', 'ringbuf_bench.bpf.o');
const HANDLERS = pathToFileURL(resolve(import.meta.dirname, 'helpers', 'ringbuf_worker_handler.ts'));

const objects: BpfObject[] = [];
afterEach(async () => {
  await Promise.all(objects.splice(0).map((o) => o.destroy()));
});

function producer(ringSize: number): { obj: BpfObject; counter: (name: string) => number } {
  const obj = BpfObject.open(OBJECT);
  objects.push(obj);
  obj.map('rb').maxEntries = ringSize;
  obj.rodata.set('target_pid', process.pid);
  obj.load();
  obj.attach('rb_produce', { mount: true });
  return { obj, counter: (name) => Number(obj.bss.get(name)) };
}

interface CheckerResult {
  next: number;
  seen: number;
  bad: number;
  heldAfterClose: number[] | null;
}

describe.skipIf(needsRoot || !hasKernelBtf)('RingBufferWorker', () => {
  it('10 million records consumed on the worker while this thread produces: each submitted record once, in order, intact; discarded ones never; a held view reads zeros after close', async () => {
    const TOTAL = 10_000_000;
    const BURST = 4096;
    const DISCARD = 97;
    const { obj, counter } = producer(1 << 20);
    obj.bss.set('discard_every', DISCARD);
    const progress: number[] = [];
    const w = await RingBufferWorker.start(obj.map('rb').map, { module: HANDLERS, export: 'checker', data: { discardEvery: DISCARD }, onMessage: (n) => progress.push(n as number) });
    // next_seq counts successful reservations (a full ring drops, the worker keeps up or not)
    for (let reserved = 0; reserved < TOTAL; reserved = counter('next_seq')) {
      obj.data.set('nr_records', Math.min(BURST, TOTAL - reserved));
      libcGetpgid(0);
    }
    const r = (await w.close()) as CheckerResult;
    const submitted = counter('submitted');
    expect(counter('next_seq')).toBe(TOTAL);
    expect(submitted + counter('discarded')).toBe(TOTAL);
    expect(counter('discarded')).toBe(Math.floor(TOTAL / DISCARD));
    expect(r.bad).toBe(0);
    expect(r.seen).toBe(submitted); // close() delivered everything committed before it
    expect(r.next).toBe(TOTAL); // the last seq (9999999) is not a discarded one
    expect(r.heldAfterClose).toEqual(new Array(16).fill(0));
    expect(progress.length).toBe(Math.floor(submitted / 0x100000));
    expect(await w.close()).toEqual(r); // idempotent
  });

  it('keeps its own fd: the object destroyed while the worker runs, close() still delivers what was written before', async () => {
    const { obj } = producer(1 << 16);
    obj.data.set('nr_records', 1000);
    const w = await RingBufferWorker.start(obj.map('rb').map, { module: HANDLERS, export: 'checker', data: { discardEvery: 0 } });
    libcGetpgid(0);
    const submitted = Number(obj.bss.get('submitted'));
    await obj.destroy(); // closes the object's map fds and detaches the producer
    const r = (await w.close()) as CheckerResult;
    expect(submitted).toBe(1000);
    expect(r).toMatchObject({ seen: 1000, next: 1000, bad: 0 });
  });

  it('a handler that throws stops the worker: onError gets the error, close() rejects with it', async () => {
    const { obj } = producer(1 << 16);
    let failed!: (e: unknown) => void;
    const error = new Promise<unknown>((r) => (failed = r));
    const w = await RingBufferWorker.start(obj.map('rb').map, { module: HANDLERS, export: 'throwing', onError: failed });
    libcGetpgid(0);
    expect(String(await error)).toMatch('handler failed on purpose');
    await expect(w.close()).rejects.toThrow('handler failed on purpose');
  });

  it('runs its thread at the priority asked (as the kernel sees that thread), and nothing else in the process changes', async () => {
    const { obj } = producer(1 << 16);
    const rb = obj.map('rb').map;
    const mine = (): string => readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!;
    const before = mine();
    const niced = await RingBufferWorker.start(rb, { module: HANDLERS, export: 'sched', priority: { nice: -7 } });
    expect(await niced.close()).toMatchObject({ nice: -7, policy: SCHED_OTHER });
    const fifo = await RingBufferWorker.start(rb, { module: HANDLERS, export: 'sched', priority: { fifo: 3 } });
    const r = (await fifo.close()) as { tid: number; rtPriority: number; policy: number };
    expect(r).toMatchObject({ rtPriority: 3, policy: SCHED_FIFO });
    expect(r.tid).not.toBe(process.pid);
    expect(mine().split(' ').slice(16, 17)).toEqual(before.split(' ').slice(16, 17)); // this thread's nice
    for (const priority of [{ nice: -21 }, { nice: 1.5 }, { fifo: 0 }, { fifo: 100 }, { nice: 0, fifo: 1 }, {}] as ThreadPriority[])
      await expect(RingBufferWorker.start(rb, { module: HANDLERS, export: 'sched', priority })).rejects.toThrow(UsageError);
  });

  it('refuses a relative module path, a missing export and a map of another type', async () => {
    const { obj } = producer(1 << 16);
    const rb = obj.map('rb').map;
    await expect(RingBufferWorker.start(rb, { module: './x.js' })).rejects.toThrow(UsageError);
    await expect(RingBufferWorker.start(rb, { module: HANDLERS, export: 'notAFunction' })).rejects.toThrow(/no function export "notAFunction"/);
    await expect(RingBufferWorker.start(obj.map('pb').map, { module: HANDLERS, export: 'checker' })).rejects.toThrow(/not BPF_MAP_TYPE_RINGBUF/);
  });
});
