// Every map type on the real kernel: created from a spec, checked through
// BPF_OBJ_GET_INFO_BY_FD, and exercised with the operations it supports.
import { UsageError } from '../src/errors.ts';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BPF_EXIST,
  BPF_F_NO_PREALLOC,
  BPF_F_RDONLY_PROG,
  BPF_NOEXIST,
  BpfMap,
  type MapSpec,
  MapType,
  decodeU32,
  decodeU64,
  mapTypeName,
} from '../src/maps/index.ts';
import {
  BpfSyscallError,
  FD,
  MapInfo,
  PERF_COUNT_SW_CPU_CLOCK,
  PERF_TYPE_SOFTWARE,
  ProgInfo,
  ProgLoadAttr,
  objGetInfo,
  perfEventOpen,
  progLoadRaw,
} from '../src/syscall/index.ts';
import { numPossibleCpus } from '../src/util/cpus.ts';
import { kernelRefusal, needsRoot } from './helpers/env.ts';

const opened: BpfMap[] = [];
function create(spec: Omit<MapSpec, 'flags'> & { flags?: number }): BpfMap {
  const map = BpfMap.create({ flags: 0, ...spec });
  opened.push(map);
  return map;
}
afterAll(() => opened.forEach((m) => m.close()));

/** A socket filter that returns 0: the smallest program a prog_array can hold. */
function loadTrivialProgram(): FD {
  const insns = new Uint8Array(16);
  insns[0] = 0xb7; // r0 = 0
  insns[8] = 0x95; // exit
  const license = Buffer.from('GPL\0');
  const attr = ProgLoadAttr.create({ prog_type: 1 /* BPF_PROG_TYPE_SOCKET_FILTER */, insn_cnt: 2, insns, license, prog_name: 'maps_test' });
  const { ret, errno } = progLoadRaw(attr);
  if (ret < 0) throw new BpfSyscallError('BPF_PROG_LOAD', errno, 'loading the trivial test program');
  return new FD(ret, 'trivial program');
}

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);

describe.skipIf(needsRoot)('map types: create + info', () => {
  const cases: Array<Omit<MapSpec, 'flags'> & { flags?: number }> = [
    { name: 'hash', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 16 },
    { name: 'array', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 16 },
    { name: 'percpu_hash', type: MapType.BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 16 },
    { name: 'percpu_array', type: MapType.BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 12, maxEntries: 4 },
    { name: 'lru_hash', type: MapType.BPF_MAP_TYPE_LRU_HASH, keySize: 8, valueSize: 8, maxEntries: 128 },
    { name: 'lru_percpu_hash', type: MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH, keySize: 8, valueSize: 8, maxEntries: 128 },
    { name: 'lpm_trie', type: MapType.BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 16, flags: BPF_F_NO_PREALLOC },
    { name: 'queue', type: MapType.BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 4, maxEntries: 8 },
    { name: 'stack', type: MapType.BPF_MAP_TYPE_STACK, keySize: 0, valueSize: 4, maxEntries: 8 },
    { name: 'bloom', type: MapType.BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, valueSize: 8, maxEntries: 100, mapExtra: 3 },
    { name: 'prog_array', type: MapType.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 },
    { name: 'perf_events', type: MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 0 },
    { name: 'ringbuf', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 16384 },
    { name: 'user_ringbuf', type: MapType.BPF_MAP_TYPE_USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 16384 },
    { name: 'stack_trace', type: MapType.BPF_MAP_TYPE_STACK_TRACE, keySize: 4, valueSize: 8 * 127, maxEntries: 64 },
    { name: 'cgroup_array', type: MapType.BPF_MAP_TYPE_CGROUP_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 },
    { name: 'devmap', type: MapType.BPF_MAP_TYPE_DEVMAP, keySize: 4, valueSize: 4, maxEntries: 4 },
    { name: 'devmap_hash', type: MapType.BPF_MAP_TYPE_DEVMAP_HASH, keySize: 4, valueSize: 4, maxEntries: 4 },
    { name: 'cpumap', type: MapType.BPF_MAP_TYPE_CPUMAP, keySize: 4, valueSize: 4, maxEntries: 2 },
    { name: 'sockmap', type: MapType.BPF_MAP_TYPE_SOCKMAP, keySize: 4, valueSize: 4, maxEntries: 4 },
    { name: 'sockhash', type: MapType.BPF_MAP_TYPE_SOCKHASH, keySize: 4, valueSize: 4, maxEntries: 4 },
    { name: 'xskmap', type: MapType.BPF_MAP_TYPE_XSKMAP, keySize: 4, valueSize: 4, maxEntries: 4 },
    { name: 'reuseport', type: MapType.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, keySize: 4, valueSize: 4, maxEntries: 4 },
    {
      name: 'array_of_maps',
      type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS,
      keySize: 4,
      valueSize: 4,
      maxEntries: 4,
      innerMap: { name: 'inner', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 },
    },
    {
      name: 'hash_of_maps',
      type: MapType.BPF_MAP_TYPE_HASH_OF_MAPS,
      keySize: 8,
      valueSize: 4,
      maxEntries: 4,
      innerMap: { name: 'inner', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 },
    },
  ];

  for (const spec of cases) {
    it(`creates a ${mapTypeName(spec.type)} map the kernel describes back`, () => {
      const map = create(spec);
      const info = map.info();
      expect(info.type).toBe(spec.type);
      expect(info.id).toBeGreaterThan(0);
      expect(info.name).toBe(spec.name.slice(0, 15));
      expect(info.keySize).toBe(spec.keySize);
      expect(info.valueSize).toBe(spec.valueSize);
      expect(info.maxEntries).toBe(spec.maxEntries === 0 ? numPossibleCpus() : spec.maxEntries);
      // The kernel marks devmaps read-only for programs on its own.
      const kernelAdded = spec.type === MapType.BPF_MAP_TYPE_DEVMAP || spec.type === MapType.BPF_MAP_TYPE_DEVMAP_HASH ? BPF_F_RDONLY_PROG : 0;
      expect(info.flags).toBe((spec.flags ?? 0) | kernelAdded);
      if (spec.mapExtra !== undefined) expect(info.mapExtra).toBe(BigInt(spec.mapExtra));
      expect(map.maxEntries).toBe(info.maxEntries);
    });
  }

  it('creates an mmapable arena when the kernel has arenas', (ctx) => {
    // Arenas are new (6.9) and a kernel's policy may refuse them even to root:
    // a refusal is a skip that names the errno, never a failure.
    let map: BpfMap;
    try {
      map = create({ name: 'arena', type: MapType.BPF_MAP_TYPE_ARENA, keySize: 0, valueSize: 0, maxEntries: 4, flags: 1 << 10 });
    } catch (e) {
      const refused = kernelRefusal(e);
      if (refused) ctx.skip(`this kernel refuses BPF_MAP_TYPE_ARENA (${refused}): missing, or forbidden by its policy`);
      throw e;
    }
    expect(map.info().type).toBe(MapType.BPF_MAP_TYPE_ARENA);
  });

  it('truncates names to the 15 characters the kernel keeps', () => {
    const map = create({ name: 'a_rather_long_map_name', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(map.info().name).toBe('a_rather_long_m');
    expect(map.name).toBe('a_rather_long_map_name');
  });
});

describe.skipIf(needsRoot)('element operations', () => {
  it('hash: update/lookup/delete/lookupAndDelete with NOEXIST and EXIST', () => {
    const map = create({ name: 'ops_hash', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 4 });
    expect(map.lookup(1)).toBeUndefined();
    map.update(1, 100n, BPF_NOEXIST);
    expect(decodeU64(map.lookup(1)!)).toBe(100n);
    expect(() => map.update(1, 5, BPF_NOEXIST)).toThrow(/EEXIST/);
    expect(() => map.update(2, 5, BPF_EXIST)).toThrow(/ENOENT/);
    map.update(u32(1), new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0]), BPF_EXIST);
    const out = new Uint8Array(8);
    expect(map.lookup(1, out)).toBe(out);
    expect(out[0]).toBe(7);
    expect(map.delete(1)).toBe(true);
    expect(map.delete(1)).toBe(false);
    map.update(3, 33);
    expect(decodeU64(map.lookupAndDelete(3)!)).toBe(33n);
    expect(map.lookupAndDelete(3)).toBeUndefined();
    for (let i = 0; i < 4; i++) map.update(i, i);
    expect(() => map.update(9, 9)).toThrow(/E2BIG/);
  });

  it('array: every index exists, an index out of range is a UsageError, deletion is refused', () => {
    const map = create({ name: 'ops_array', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
    expect(decodeU32(map.lookup(3)!)).toBe(0);
    expect(() => map.lookup(4)).toThrow(/key 4 of map "ops_array" \(array\) is out of range: its indexes are 0\.\.3/);
    expect(() => map.update(new Uint8Array([4, 0, 0, 0]), 1)).toThrow(UsageError);
    map.update(2, 0xdeadbeef);
    expect(decodeU32(map.lookup(2)!)).toBe(0xdeadbeef);
    expect(() => map.delete(2)).toThrow(/EINVAL/);
    expect(() => map.update(2, 1, BPF_NOEXIST)).toThrow(/EEXIST/);
  });

  it('lru_hash evicts instead of failing when full', () => {
    const map = create({ name: 'ops_lru', type: MapType.BPF_MAP_TYPE_LRU_HASH, keySize: 8, valueSize: 8, maxEntries: 64 });
    for (let i = 0; i < 1000; i++) map.update(BigInt(i), i);
    const count = [...map.keys()].length;
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThanOrEqual(64);
    expect(decodeU64(map.lookup(999n)!)).toBe(999n);
  });

  it('lpm_trie: the longest matching prefix wins', () => {
    const map = create({ name: 'ops_lpm', type: MapType.BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 16, flags: BPF_F_NO_PREALLOC });
    const prefix = (len: number, a: number, b: number, c: number, d: number) => new Uint8Array([len, 0, 0, 0, a, b, c, d]);
    map.update(prefix(8, 10, 0, 0, 0), 8);
    map.update(prefix(24, 10, 1, 2, 0), 24);
    expect(decodeU32(map.lookup(prefix(32, 10, 1, 2, 3))!)).toBe(24);
    expect(decodeU32(map.lookup(prefix(32, 10, 9, 9, 9))!)).toBe(8);
    expect(map.lookup(prefix(32, 11, 0, 0, 0))).toBeUndefined();
  });

  it('queue: push/peek/pop in FIFO order, BPF_EXIST overwrites the oldest when full', () => {
    const map = create({ name: 'ops_queue', type: MapType.BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 4, maxEntries: 3 });
    expect(map.pop()).toBeUndefined();
    [1, 2, 3].forEach((v) => map.push(v));
    expect(() => map.push(4)).toThrow(/E2BIG/);
    map.push(4, BPF_EXIST);
    expect(decodeU32(map.peek()!)).toBe(2);
    expect([map.pop(), map.pop(), map.pop()].map((v) => decodeU32(v!))).toEqual([2, 3, 4]);
    expect(map.peek()).toBeUndefined();
    expect(() => map.lookup(0)).toThrow(UsageError);
  });

  it('stack: LIFO order', () => {
    const map = create({ name: 'ops_stack', type: MapType.BPF_MAP_TYPE_STACK, keySize: 0, valueSize: 4, maxEntries: 3 });
    [1, 2, 3].forEach((v) => map.push(v));
    expect([map.pop(), map.pop(), map.pop()].map((v) => decodeU32(v!))).toEqual([3, 2, 1]);
    expect(map.pop()).toBeUndefined();
  });

  it('bloom_filter: pushed values are found, absent ones (almost always) not', () => {
    const map = create({ name: 'ops_bloom', type: MapType.BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, valueSize: 8, maxEntries: 1000, mapExtra: 5 });
    for (let i = 0; i < 100; i++) map.push(BigInt(i) * 7919n);
    for (let i = 0; i < 100; i++) expect(map.has(BigInt(i) * 7919n)).toBe(true);
    let falsePositives = 0;
    for (let i = 0; i < 1000; i++) if (map.has(1_000_000n + BigInt(i))) falsePositives++;
    expect(falsePositives).toBeLessThan(50);
    expect(() => map.pop()).toThrow(UsageError);
  });

  it('array_of_maps and hash_of_maps: update with an inner map, lookup gives its id', () => {
    const inner = create({ name: 'inner_a', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
    const innerSpec = { name: 'tmpl', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 };
    const outer = create({ name: 'outer_a', type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMap: innerSpec });
    outer.update(1, inner);
    expect(decodeU32(outer.lookup(1)!)).toBe(inner.info().id);
    expect(outer.lookup(0)).toBeUndefined();
    expect(outer.delete(1)).toBe(true);

    // An inner map template given as an fd instead of a spec.
    const byFd = BpfMap.create({ name: 'outer_h', type: MapType.BPF_MAP_TYPE_HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 }, { innerMapFd: inner.fd });
    opened.push(byFd);
    byFd.update(42, inner.fd);
    expect(decodeU32(byFd.lookup(42)!)).toBe(inner.info().id);
    // An inner map of another shape is refused.
    const other = create({ name: 'inner_b', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 });
    expect(() => byFd.update(43, other)).toThrow(/EINVAL/);
  });

  it('prog_array: update with a program fd, lookup gives the program id', () => {
    const prog = loadTrivialProgram();
    try {
      const map = create({ name: 'ops_progs', type: MapType.BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
      map.update(2, prog.value);
      const progId = objGetInfo(prog.value, ProgInfo, 'prog info').get('id');
      expect(decodeU32(map.lookup(2)!)).toBe(progId);
      expect(map.lookup(1)).toBeUndefined();
      expect(map.delete(2)).toBe(true);
    } finally {
      prog.close();
    }
  });

  it('perf_event_array: update with a perf event fd per CPU; lookups are not offered by the kernel', () => {
    const map = create({ name: 'ops_perf', type: MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 0 });
    const event = perfEventOpen({ type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_CPU_CLOCK, sample_period: 1_000_000 }, -1, 0, 'cpu clock on CPU 0');
    try {
      map.update(0, event.value);
      expect(() => map.lookup(0)).toThrow(/ENOTSUPP|EOPNOTSUPP|EINVAL/);
      expect(map.delete(0)).toBe(true);
    } finally {
      event.close();
    }
  });

  it('stack_trace: empty until a program records stacks', () => {
    const map = create({ name: 'ops_stacks', type: MapType.BPF_MAP_TYPE_STACK_TRACE, keySize: 4, valueSize: 8 * 127, maxEntries: 64 });
    expect(map.lookup(0)).toBeUndefined();
    expect([...map.keys()]).toEqual([]);
  });

  it('ringbuf: no element access', () => {
    const map = create({ name: 'ops_ring', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
    expect(() => map.lookup(0)).toThrow(UsageError);
    expect(() => map.push(1)).toThrow(UsageError);
  });

  it('writes spec.contents at creation and freezes when asked', () => {
    const map = create({
      name: 'contents',
      type: MapType.BPF_MAP_TYPE_ARRAY,
      keySize: 4,
      valueSize: 4,
      maxEntries: 4,
      contents: [
        { key: 0, value: 10 },
        { key: 3, value: 13 },
      ],
      freeze: true,
    });
    expect(decodeU32(map.lookup(3)!)).toBe(13);
    expect(map.frozen).toBe(true);
    expect(() => map.update(1, 1)).toThrow(/EPERM/);
  });
});

describe.skipIf(needsRoot)('map info and reopening', () => {
  it('fromFd duplicates a raw fd and reads the shape from the kernel', () => {
    const map = create({ name: 'reopen', type: MapType.BPF_MAP_TYPE_HASH, keySize: 8, valueSize: 16, maxEntries: 7 });
    const again = BpfMap.fromFd(map.fd);
    try {
      expect(again.fd).not.toBe(map.fd);
      expect([again.name, again.type, again.keySize, again.valueSize, again.maxEntries]).toEqual(['reopen', MapType.BPF_MAP_TYPE_HASH, 8, 16, 7]);
      again.update(5n, new Uint8Array(16).fill(9));
      expect(map.lookup(5n)![15]).toBe(9);
    } finally {
      again.close();
    }
    expect(map.lookup(5n)).toBeDefined();
  });

  it('fromId opens the same map by id', () => {
    const map = create({ name: 'by_id', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
    map.update(1, 77);
    const again = BpfMap.fromId(map.info().id);
    try {
      expect(decodeU32(again.lookup(1)!)).toBe(77);
      expect(objGetInfo(again.fd, MapInfo, 'info').get('id')).toBe(map.info().id);
    } finally {
      again.close();
    }
  });
});
