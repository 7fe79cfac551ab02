// Map autocreate (libbpf's bpf_map__set_autocreate): a map left out before
// load, with the programs that use it switched off, lets the rest of the
// object load; a program that still references it fails the load with an
// ObjectError naming both. bpf/autocreate.bpf.o has an arena map (refused by
// kernels before 6.9 and by this machine's policy) and a plain hash map, each
// with one program using it, and two programs using neither.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BpfObject, ObjectError } from '../src/index.ts';
import { fdCount, kernelRefusal, needsRoot } from './helpers/env.ts';
import { BPF_DIR, oracleAvailable, oracleLoadSync } from './helpers/oracle.ts';

const OBJ = join(BPF_DIR, 'autocreate.bpf.o');

function u64(obj: BpfObject, name: string): bigint {
  return obj.bss.get(name) as bigint;
}

describe.skipIf(needsRoot)('map autocreate', () => {
  it('the arena left out and its program off: the other programs load and run', async () => {
    const obj = BpfObject.open(OBJ);
    obj.map('arena').autocreate = false;
    obj.program('uses_arena').autoload = false;
    obj.load();
    try {
      expect(obj.program('uses_arena').prog).toBeUndefined();
      for (const name of ['plain_a', 'plain_b', 'plain_a', 'uses_probe']) expect(obj.program(name).prog!.testRun().retval).toBe(0);
      expect([u64(obj, 'a_runs'), u64(obj, 'b_runs'), u64(obj, 'probe_hits')]).toEqual([2n, 1n, 1n]);
      const counts = obj.map('counts').map!;
      expect([counts.lookup(0), counts.lookup(1)].map((v) => Buffer.from(v!).readBigUInt64LE(0))).toEqual([2n, 2n]);
      expect(Buffer.from(obj.map('probe_map').map!.lookup(1)!).readBigUInt64LE(0)).toBe(1n);
    } finally {
      await obj.destroy();
    }
  });

  it('a program that still references a map left out fails the load, naming both, and leaks nothing', () => {
    const before = fdCount();
    const obj = BpfObject.open(OBJ);
    obj.map('arena').autocreate = false;
    let err: unknown;
    try {
      obj.load();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ObjectError);
    expect((err as Error).message).toMatch(/program "uses_arena" references map "arena", whose autocreate is off: turn the program's autoload off too/);
    expect(obj.state).toBe('destroyed');
    expect(fdCount()).toBe(before);
  });

  it('the same for an ordinary map: left out with its program, or an error naming both', async () => {
    const refused = BpfObject.open(OBJ);
    refused.map('arena').autocreate = false;
    refused.program('uses_arena').autoload = false;
    refused.map('probe_map').autocreate = false;
    expect(() => refused.load()).toThrow(/program "uses_probe" references map "probe_map", whose autocreate is off/);

    const obj = BpfObject.open(OBJ);
    obj.map('arena').autocreate = false;
    obj.map('probe_map').autocreate = false;
    obj.program('uses_arena').autoload = false;
    obj.program('uses_probe').autoload = false;
    obj.load();
    try {
      expect(obj.program('plain_b').prog!.testRun().retval).toBe(0);
      expect(u64(obj, 'b_runs')).toBe(1n);
    } finally {
      await obj.destroy();
    }
  });

  it('with every map created, a kernel that refuses arenas fails the load on the arena map (the reason for autocreate)', async (ctx) => {
    const obj = BpfObject.open(OBJ);
    try {
      obj.load();
    } catch (e) {
      expect(kernelRefusal(e), String(e)).toBeDefined();
      expect((e as Error).message).toMatch(/map "arena"/);
      return;
    }
    await obj.destroy();
    ctx.skip('this kernel creates arena maps: nothing to leave out here');
  });

  it('program tags equal C libbpf 1.1 with the same map left out', async (ctx) => {
    const avail = oracleAvailable();
    if (!avail.ok) return ctx.skip(`libbpf oracle: ${avail.reason}`);
    const c = oracleLoadSync(OBJ, { noCreate: ['arena'], skip: ['uses_arena'] });
    expect(c.ok, c.error?.message).toBe(true);
    const expected = Object.fromEntries(c.progs.filter((p) => p.tag).map((p) => [p.name, p.tag]));
    expect(Object.keys(expected).sort()).toEqual(['plain_a', 'plain_b', 'uses_probe']);
    expect(c.maps.find((m) => m.name === 'arena')?.id).toBeUndefined();
    const obj = BpfObject.open(OBJ);
    obj.map('arena').autocreate = false;
    obj.program('uses_arena').autoload = false;
    obj.load();
    try {
      expect(Object.fromEntries([...obj.programs.values()].filter((p) => p.prog).map((p) => [p.name, p.prog!.tag()]))).toEqual(expected);
    } finally {
      await obj.destroy();
    }
  });
});
