// Wrong input is refused with a clear error before the kernel is asked, and
// creating and closing maps leaks nothing.
import { UsageError } from '../src/errors.ts';
import { describe, expect, it } from 'vitest';
import { BPF_F_MMAPABLE, BpfMap, MapError, type MapSpec, MapType, defineMapSpec, validateMapSpec } from '../src/maps/index.ts';
import { fdCount, needsRoot } from './helpers/env.ts';

const base: MapSpec = { name: 'good', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 16, flags: 0 };

function reason(spec: Partial<MapSpec> & Record<string, unknown>): string {
  try {
    validateMapSpec({ ...base, ...spec } as MapSpec);
  } catch (err) {
    expect(err).toBeInstanceOf(MapError);
    return (err as Error).message;
  }
  return 'accepted';
}

describe('MapSpec validation', () => {
  it('accepts a good spec and fills defaults', () => {
    expect(reason({})).toBe('accepted');
    expect(defineMapSpec({ type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 })).toMatchObject({ name: '', flags: 0 });
  });

  it('names the map and the reason', () => {
    expect(reason({ type: 99 as MapType })).toBe('map "good": unknown map type 99 (known: 1..33)');
    expect(reason({ type: 0 })).toMatch(/unknown map type 0/);
    expect(reason({ keySize: -1 })).toMatch(/^map "good": keySize must be an integer in \[0, 4294967295\], got -1$/);
    expect(reason({ valueSize: 2 ** 32 })).toMatch(/valueSize must be an integer/);
    expect(reason({ maxEntries: 1.5 })).toMatch(/maxEntries must be an integer/);
    expect(reason({ maxEntries: Number.NaN })).toMatch(/maxEntries must be an integer/);
    expect(reason({ keySize: '4' as unknown as number })).toMatch(/got string 4/);
    expect(reason({ maxEntries: 0 })).toMatch(/maxEntries must be at least 1/);
    expect(reason({ keySize: 0 })).toMatch(/keySize must be at least 1 for a hash map/);
    expect(reason({ type: MapType.BPF_MAP_TYPE_QUEUE, keySize: 4 })).toMatch(/keySize must be 0 for a queue map \(it has no keys\)/);
    expect(reason({ type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 8 })).toMatch(/keySize must be 4 \(a u32 index\) for a array map/);
    expect(reason({ type: MapType.BPF_MAP_TYPE_PROG_ARRAY, valueSize: 8 })).toMatch(/valueSize must be 4 \(a file descriptor\)/);
    expect(reason({ type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 5000 })).toMatch(/power of two/);
    expect(reason({ flags: 1 << 30 })).toMatch(/unknown flag bits 0x40000000/);
    expect(reason({ name: 'bad name!' })).toMatch(/name may contain only/);
    expect(reason({ type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, innerMap: { ...base, type: MapType.BPF_MAP_TYPE_HASH_OF_MAPS } })).toMatch(
      /one level/,
    );
    expect(reason({ type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, innerMap: { ...base, keySize: 0 } })).toMatch(/inner map: keySize/);
    expect(reason({ innerMap: base })).toMatch(/innerMap is only meaningful/);
    expect(reason({ pinning: 'always' as never })).toMatch(/pinning must be/);
  });
});

describe.skipIf(needsRoot)('bad operands never reach the kernel', () => {
  it('wrong-size keys, values and out buffers are UsageErrors naming the map', () => {
    const map = BpfMap.create(base);
    try {
      expect(() => map.lookup(new Uint8Array(3))).toThrow(UsageError);
      expect(() => map.lookup(new Uint8Array(5))).toThrow(/must be 4 bytes, got a Uint8Array of 5/);
      expect(() => map.lookup(1, new Uint8Array(4))).toThrow(/out buffer .* must be a Uint8Array of 8 bytes/);
      expect(() => map.update(1, new Uint8Array(7))).toThrow(UsageError);
      expect(() => map.update(1, new Uint8Array(4096))).toThrow(UsageError);
      expect(() => map.update(1.5, 1)).toThrow(/must be an integer/);
      expect(() => map.update(2 ** 32, 1)).toThrow(UsageError);
      expect(() => map.update(1, 2 ** 60)).toThrow(/not a safe integer/);
      expect(() => map.update(1, [1, 2])).toThrow(/not an array/);
      expect(() => map.update('1' as never, 1)).toThrow(UsageError);
      expect(() => map.delete(new Uint8Array(0))).toThrow(UsageError);
      expect(() => map.push(1)).toThrow(UsageError);
      expect(() => map.lookup(-1)).toThrow(/key of map "good" \(hash\) -1 is negative; keys are unsigned/);
      expect(() => map.update(-1n, 1)).toThrow(UsageError);
      expect(() => map.lookup(new Uint8Array(3))).toThrow(/map "good"/);
      map.update(0xffff_ffff, -1n); // a negative value is two's complement
      expect(map.lookup(0xffff_ffff)).toEqual(new Uint8Array(8).fill(0xff));
    } finally {
      map.close();
    }
  });

  it('numbers are only for 4- and 8-byte operands', () => {
    const map = BpfMap.create({ ...base, keySize: 16 });
    try {
      expect(() => map.lookup(1)).toThrow(/only 4- and 8-byte/);
    } finally {
      map.close();
    }
  });

  it('the kernel refusing a spec is a MapError with the syscall error as cause', () => {
    let error: unknown;
    try {
      BpfMap.create({ ...base, flags: BPF_F_MMAPABLE }); // hash maps cannot be mmapable
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MapError);
    expect(String(error)).toMatch(/map "good": the kernel refused to create the hash map: .*EINVAL/);
    expect((error as Error).cause).toBeDefined();
    expect(() => BpfMap.create({ ...base, type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4 })).toThrow(/needs an inner map/);
  });

  it('a closed map refuses use, and close() is idempotent', () => {
    const map = BpfMap.create(base);
    map.close();
    map.close();
    expect(map.closed).toBe(true);
    expect(() => map.lookup(1)).toThrow(/used after close/);
  });

  it('10,000 create/close cycles leave the fd count unchanged', () => {
    const before = fdCount();
    for (let i = 0; i < 10_000; i++) {
      const map = BpfMap.create(i % 2 === 0 ? base : { ...base, type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, innerMap: { ...base, type: MapType.BPF_MAP_TYPE_ARRAY } });
      map.close();
    }
    // Failed creations must not leak either.
    for (let i = 0; i < 100; i++) expect(() => BpfMap.create({ ...base, flags: BPF_F_MMAPABLE })).toThrow(MapError);
    expect(fdCount()).toBe(before);
  });
});
