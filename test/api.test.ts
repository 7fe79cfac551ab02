// The public API: an explicit export list without test hooks or internals,
// a testing entry with them, and one way to release every owner (close(),
// Symbol.dispose, Symbol.asyncDispose where closing sleeps in the kernel).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.ts';
import * as testing from '../src/testing.ts';
import { BpfMap, MapType } from '../src/maps/index.ts';
import { BpfObject } from '../src/object/index.ts';
import { Link } from '../src/attach/index.ts';
import { TsbpfError } from '../src/errors.ts';
import { BPF_DIR } from './helpers/oracle.ts';
import { fdCount, needsRoot } from './helpers/env.ts';

describe('the export list', () => {
  it('names every export of src/index.ts explicitly', () => {
    const src = readFileSync(new URL('../src/index.ts', import.meta.url), 'utf8');
    expect(src).not.toMatch(/export \*/);
  });

  it('keeps test hooks and internals out of the main entry, and the hooks in tsbpf/testing', () => {
    const names = Object.keys(api);
    for (const hook of ['setPerfLinkSupport', 'resetProbePmuCache', 'overrideFeature', 'clearKernelBtfCache']) {
      expect(names).not.toContain(hook);
      expect(Object.keys(testing)).toContain(hook);
    }
    for (const internal of ['log', 'watchFd', 'PollSet', 'resolveMap', 'POLLIN', 'BPF_MAP_TYPE_RINGBUF', 'matchSection', 'readInsn', 'encodeInto'])
      expect(names).not.toContain(internal);
    for (const name of ['BpfObject', 'BpfMap', 'Program', 'RingBuffer', 'PerfBuffer', 'UserRingBuffer', 'attachKprobe', 'TsbpfError', 'NotSupportedError', 'UsageError', 'MapType', 'BpfProgType'])
      expect(names).toContain(name);
  });
});

describe.skipIf(needsRoot)('owners release with close() and Symbol.dispose', () => {
  it('a map: [Symbol.dispose] closes it, and a second close is a no-op', () => {
    const before = fdCount();
    const map = BpfMap.create({ name: 'dispose', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 });
    expect(fdCount()).toBe(before + 1);
    map[Symbol.dispose]();
    expect(fdCount()).toBe(before);
    expect(() => map.lookup(0)).toThrow(TsbpfError);
    map.close();
  });

  it('an object: obj.links are Links; [Symbol.asyncDispose] and [Symbol.dispose] release links, programs and maps', async () => {
    const before = fdCount();
    const a = BpfObject.open(`${BPF_DIR}/minimal.bpf.o`);
    a.load();
    a.attachAll({ mount: true });
    expect(a.links.length).toBe(1);
    const link: Link = a.links[0]!;
    expect(link).toBeInstanceOf(Link);
    expect(typeof link.target).toBe('string');
    await a[Symbol.asyncDispose]();
    expect(link.destroyed).toBe(true);
    expect(fdCount()).toBe(before);

    const b = BpfObject.open(`${BPF_DIR}/minimal.bpf.o`);
    b.load();
    const l = b.attachAll({ mount: true })[0]!;
    b[Symbol.dispose]();
    expect(l.destroyed).toBe(true);
    expect(fdCount()).toBe(before);
    await b.close(); // idempotent
  });

  it('a link: close(), [Symbol.dispose] and [Symbol.asyncDispose] are destroy()', async () => {
    const o = BpfObject.open(`${BPF_DIR}/minimal.bpf.o`);
    o.load();
    try {
      const before = fdCount();
      const [l1] = o.attachAll({ mount: true });
      await l1![Symbol.asyncDispose]();
      expect(l1!.destroyed).toBe(true);
      const [l2] = o.attachAll({ mount: true });
      l2![Symbol.dispose]();
      const [l3] = o.attachAll({ mount: true });
      l3!.close();
      expect(l2!.destroyed && l3!.destroyed).toBe(true);
      expect(fdCount()).toBe(before);
    } finally {
      await o.destroy();
    }
  });
});
