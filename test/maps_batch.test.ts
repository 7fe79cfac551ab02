// Per-CPU values, key iteration and the batch operations (with their
// one-element-at-a-time fallback) on the real kernel.
import { TsbpfError, UsageError } from '../src/errors.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfMap, type MapSpec, MapType, decodeU32, decodeU64, perCpuValueStride } from '../src/maps/index.ts';
import { numPossibleCpus, parseCpuList, possibleCpus } from '../src/util/cpus.ts';
import { needsRoot } from './helpers/env.ts';

const opened: BpfMap[] = [];
function create(spec: Omit<MapSpec, 'flags'> & { flags?: number }): BpfMap {
  const map = BpfMap.create({ flags: 0, ...spec });
  opened.push(map);
  return map;
}
afterAll(() => opened.forEach((m) => m.close()));

describe('possible CPUs', () => {
  it('parses the kernel CPU list format', () => {
    expect(parseCpuList('0-3,5,7-8\n')).toEqual([0, 1, 2, 3, 5, 7, 8]);
    expect(parseCpuList('0\n')).toEqual([0]);
    expect(() => parseCpuList('zero')).toThrow(TsbpfError);
    expect(() => parseCpuList('3-1')).toThrow(TsbpfError);
  });
  it('reads this machine and caches the answer', () => {
    expect(numPossibleCpus()).toBeGreaterThan(0);
    expect(possibleCpus()).toBe(possibleCpus());
  });
});

describe.skipIf(needsRoot)('per-CPU values', () => {
  const cpus = numPossibleCpus();

  it(`percpu_array: one slot per possible CPU (${cpus} here), stride round_up(value_size, 8)`, () => {
    const map = create({ name: 'pc_array', type: MapType.BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 12, maxEntries: 2 });
    expect(map.valueStride).toBe(16);
    expect(map.valueBytes).toBe(16 * cpus);
    const values = Array.from({ length: cpus }, (_, cpu) => new Uint8Array(12).fill(cpu + 1));
    map.update(1, values);
    const back = map.lookupPerCpu(1)!;
    expect(back).toHaveLength(cpus);
    back.forEach((v, cpu) => expect([...v]).toEqual(new Array(12).fill(cpu + 1)));
    // The packed form: padding between slots is zero.
    const packed = map.lookup(1)!;
    expect(packed.length).toBe(16 * cpus);
    expect([...packed.subarray(12, 16)]).toEqual([0, 0, 0, 0]);
  });

  it('percpu_hash: numbers per CPU, packed buffers, and size checks', () => {
    const map = create({ name: 'pc_hash', type: MapType.BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 8, maxEntries: 8 });
    map.update(7, Array.from({ length: cpus }, (_, cpu) => BigInt(cpu) * 10n));
    expect(map.lookupPerCpu(7)!.map((v) => decodeU64(v))).toEqual(Array.from({ length: cpus }, (_, cpu) => BigInt(cpu) * 10n));
    expect(() => map.update(7, 5)).toThrow(UsageError);
    expect(() => map.update(7, new Array(cpus + 1).fill(0))).toThrow(UsageError);
    expect(() => map.update(7, new Uint8Array(8))).toThrow(/must be \d+ bytes/);
    expect(() => map.lookup(7, new Uint8Array(8))).toThrow(UsageError);
    expect(map.lookupPerCpu(8)).toBeUndefined();
  });

  it('lru_percpu_hash takes per-CPU values too', () => {
    const map = create({ name: 'pc_lru', type: MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 8 });
    expect(map.valueStride).toBe(perCpuValueStride(4));
    map.update(1, new Array(cpus).fill(3));
    expect(map.lookupPerCpu(1)!.map((v) => decodeU32(v))).toEqual(new Array(cpus).fill(3));
  });
});

describe.skipIf(needsRoot)('iteration', () => {
  it('keys() and entries() visit every element once', () => {
    const map = create({ name: 'it_hash', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 64 });
    for (let i = 0; i < 50; i++) map.update(i, i * 3);
    const seen = [...map.keys()].map((k) => decodeU32(k)).sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (const [k, v] of map) expect(decodeU32(v)).toBe(decodeU32(k) * 3);
  });

  it('deleting the current key while iterating restarts from the first key and empties the map', () => {
    const map = create({ name: 'it_delete', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 64 });
    for (let i = 0; i < 40; i++) map.update(i, i);
    let visits = 0;
    for (const key of map.keys()) {
      expect(map.delete(key)).toBe(true);
      visits++;
    }
    expect(visits).toBe(40);
    expect([...map.keys()]).toEqual([]);
  });

  it('arrays iterate their indexes', () => {
    const map = create({ name: 'it_array', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 5 });
    expect([...map.keys()].map((k) => decodeU32(k))).toEqual([0, 1, 2, 3, 4]);
  });
});

describe.skipIf(needsRoot)('batch operations', () => {
  it('hash: updateBatch, lookupBatch in small chunks, deleteBatch, lookupAndDeleteBatch', () => {
    const map = create({ name: 'b_hash', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 10_000 });
    const n = 5000;
    const keys = Array.from({ length: n }, (_, i) => i);
    expect(map.updateBatch(keys, keys.map((k) => BigInt(k) * 2n), { chunkSize: 777 })).toBe(n);

    const all = map.lookupBatch({ chunkSize: 100 });
    expect(all.count).toBe(n);
    const got = new Map<number, bigint>();
    for (let i = 0; i < all.count; i++) got.set(decodeU32(all.keys, i * 4), decodeU64(all.values, i * 8));
    expect(got.size).toBe(n);
    for (const [k, v] of got) expect(v).toBe(BigInt(k) * 2n);

    expect(map.deleteBatch(keys.slice(0, 1000))).toBe(1000);
    expect(map.lookup(999)).toBeUndefined();
    expect(() => map.deleteBatch([0])).toThrow(/ENOENT/);

    const drained = map.lookupAndDeleteBatch();
    expect(drained.count).toBe(n - 1000);
    expect([...map.keys()]).toEqual([]);
  });

  it('a chunk smaller than a hash bucket grows instead of failing (ENOSPC)', () => {
    const map = create({ name: 'b_tiny', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4096 });
    map.updateBatch(Array.from({ length: 3000 }, (_, i) => i), new Array(3000).fill(1));
    expect(map.lookupBatch({ chunkSize: 1 }).count).toBe(3000);
  });

  it('percpu_hash batches carry every CPU value', () => {
    const cpus = numPossibleCpus();
    const map = create({ name: 'b_pc', type: MapType.BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 100 });
    map.updateBatch([1, 2], [new Array(cpus).fill(11), new Array(cpus).fill(22)]);
    const all = map.lookupBatch();
    expect(all.count).toBe(2);
    expect(all.values.length).toBe(2 * 8 * cpus);
    expect(decodeU32(map.lookupPerCpu(2)![cpus - 1]!)).toBe(22);
  });

  it('array: batch lookup and update work; batch delete falls back and is refused per key (EINVAL)', () => {
    const map = create({ name: 'b_array', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 300 });
    map.updateBatch(Array.from({ length: 300 }, (_, i) => i), Array.from({ length: 300 }, (_, i) => i + 1));
    const all = map.lookupBatch({ chunkSize: 64 });
    expect(all.count).toBe(300);
    expect(decodeU32(all.values, 299 * 4)).toBe(300);
    expect(() => map.deleteBatch([1, 2])).toThrow(/EINVAL/);
  });

  it('maps without batch operations (lpm_trie) fall back to one element at a time', () => {
    const map = create({ name: 'b_lpm', type: MapType.BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 16, flags: 1 });
    const key = (len: number, a: number) => new Uint8Array([len, 0, 0, 0, a, 0, 0, 0]);
    expect(map.updateBatch([key(8, 10), key(8, 11)], [1, 2])).toBe(2);
    const all = map.lookupBatch();
    expect(all.count).toBe(2);
    expect(map.deleteBatch([key(8, 10)])).toBe(1);
    expect(map.lookupBatch().count).toBe(1);
  });

  it('packed buffers are checked before any syscall', () => {
    const map = create({ name: 'b_check', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 8 });
    expect(() => map.updateBatch(new Uint8Array(8), new Uint8Array(8))).toThrow(/must be 2 x 8 = 16 bytes/);
    expect(() => map.updateBatch(new Uint8Array(7), new Uint8Array(8))).toThrow(/multiple of 4/);
    expect(() => map.updateBatch([1, 2], [1])).toThrow(/2 keys but 1 values/);
  });
});
