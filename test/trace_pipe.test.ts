// TracePipe: lines parse; bpf_printk output of a program we attach arrives,
// filtered by pid; close() ends an iteration and leaves no handle behind.
import { writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BpfObject } from '../src/object/index.ts';
import { parseTraceLine, TracePipe } from '../src/attach/trace_pipe.ts';
import { needsRoot } from './helpers/env.ts';

const MINIMAL = join(resolve(import.meta.dirname, '..'), 'bpf', 'minimal.bpf.o');

describe('parseTraceLine', () => {
  it('reads task, pid, cpu, timestamp, event and message', () => {
    expect(parseTraceLine('            node-4242    [001] d..31  5301.236120: bpf_trace_printk: BPF triggered from PID 4242.')).toEqual({
      task: 'node', pid: 4242, cpu: 1, timestamp: 5301.23612, event: 'bpf_trace_printk', message: 'BPF triggered from PID 4242.',
      raw: '            node-4242    [001] d..31  5301.236120: bpf_trace_printk: BPF triggered from PID 4242.',
    });
    expect(parseTraceLine('  kworker/u8:1-77 (     77) [000] .....    12.000001: bpf_trace_printk: a: b')?.task).toBe('kworker/u8:1');
    expect(parseTraceLine('  kworker/u8:1-77 (     77) [000] .....    12.000001: bpf_trace_printk: a: b')?.message).toBe('a: b');
    expect(parseTraceLine('CPU:1 [LOST 3 EVENTS]')).toBeUndefined();
  });
});

describe('TracePipe on the kernel', () => {
  it('yields what bpf_printk wrote for our pid, and close() ends the iteration', async (ctx) => {
    if (needsRoot) return ctx.skip(needsRoot);
    const obj = BpfObject.open(MINIMAL);
    try {
      obj.load();
      obj.bss.set('my_pid', process.pid);
      obj.attachAll({ mount: true });
      const pipe = TracePipe.open({ mount: true, pid: process.pid });
      const got: string[] = [];
      const it = pipe[Symbol.asyncIterator]();
      const timer = setInterval(() => writeSync(1, ''), 20); // a write(2) of our own, until the line arrives
      try {
        writeSync(1, '');
        const first = await it.next();
        expect(first.done).toBe(false);
        got.push(first.value!.message);
        expect(first.value!.pid).toBe(process.pid);
        expect(first.value!.event).toBe('bpf_trace_printk');
      } finally {
        clearInterval(timer);
      }
      expect(got[0]).toBe(`BPF triggered from PID ${process.pid}.`);
      const pending = it.next();
      pipe.close();
      expect(await pending).toEqual({ value: undefined, done: true });
      expect(pipe.closed).toBe(true);
      expect(() => pipe.onLine(() => {})).toThrow(/after close/);
    } finally {
      await obj.destroy();
    }
  });
});
