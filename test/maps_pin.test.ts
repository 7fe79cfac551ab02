// Pinning on bpffs, freezing, and the mmap view of BPF_F_MMAPABLE arrays.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BpfMap, DEFAULT_BPFFS, MapError, MapType, bpffsProblem, decodeU32, isOnBpffs } from '../src/maps/index.ts';
import { needsRoot } from './helpers/env.ts';

const pinDir = `${DEFAULT_BPFFS}/tsbpf_maps_test_${process.pid}`;

describe.skipIf(needsRoot)('pinning', () => {
  beforeAll(() => {
    // CI runs as root on a machine where bpffs may not be mounted yet.
    if (!isOnBpffs(DEFAULT_BPFFS)) execFileSync('mount', ['-t', 'bpf', 'bpf', DEFAULT_BPFFS]);
    mkdirSync(pinDir, { recursive: true });
  });
  afterAll(() => rmSync(pinDir, { recursive: true, force: true }));

  it('pin, reopen from the pin, unpin', () => {
    const map = BpfMap.create({ name: 'pinned', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 });
    const path = `${pinDir}/pinned`;
    try {
      map.update(1, 11);
      map.pin(path);
      expect(map.pinnedPath).toBe(path);
      expect(existsSync(path)).toBe(true);
      const again = BpfMap.fromPinned(path);
      try {
        expect(again.info().id).toBe(map.info().id);
        expect(decodeU32(again.lookup(1)!)).toBe(11);
        again.update(2, 22);
        expect(decodeU32(map.lookup(2)!)).toBe(22);
      } finally {
        again.close();
      }
      // Read-only opening: reads work, writes are refused by the kernel.
      const readOnly = BpfMap.fromPinned(path, { readOnly: true });
      try {
        expect(decodeU32(readOnly.lookup(2)!)).toBe(22);
        expect(() => readOnly.update(3, 3)).toThrow(/EPERM/);
      } finally {
        readOnly.close();
      }
      map.unpin();
      expect(existsSync(path)).toBe(false);
      expect(map.pinnedPath).toBeUndefined();
    } finally {
      map.close();
    }
  });

  it('the pin keeps the map alive after every fd is closed', () => {
    const path = `${pinDir}/survivor`;
    const map = BpfMap.create({ name: 'survivor', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 });
    map.update(0, 5);
    map.pin(path);
    map.close();
    const again = BpfMap.fromPinned(path);
    expect(decodeU32(again.lookup(0)!)).toBe(5);
    again.pin(`${pinDir}/survivor2`);
    again.unpin();
    again.close();
    rmSync(path);
  });

  it('pinning outside bpffs says what is wrong', () => {
    const map = BpfMap.create({ name: 'nowhere', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 });
    try {
      expect(() => map.pin('/tmp/tsbpf_not_bpffs')).toThrow(MapError);
      expect(() => map.pin('/tmp/tsbpf_not_bpffs')).toThrow(/not on a bpffs mount/);
      expect(() => BpfMap.fromPinned(`${pinDir}/absent`)).toThrow(/ENOENT/);
    } finally {
      map.close();
    }
  });

  it('names the mount command when /sys/fs/bpf is not bpffs', () => {
    // The real mount point stays mounted; a plain directory stands in for an unmounted one.
    const fakeRoot = `/tmp/tsbpf_fake_bpffs_${process.pid}`;
    mkdirSync(fakeRoot, { recursive: true });
    try {
      expect(bpffsProblem(`${fakeRoot}/m`, fakeRoot)).toBe(`bpffs is not mounted at ${fakeRoot}: mount -t bpf bpf ${fakeRoot}`);
    } finally {
      rmSync(fakeRoot, { recursive: true });
    }
    expect(bpffsProblem('/tmp/x')).toMatch(/not on a bpffs mount/);
    expect(bpffsProblem(`${pinDir}/x`)).toBeUndefined();
  });
});

describe.skipIf(needsRoot)('freeze', () => {
  it('after freeze, user-space writes fail with EPERM and reads still work', () => {
    const map = BpfMap.create({ name: 'frozen', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 });
    try {
      map.update(0, 1);
      map.freeze();
      expect(map.frozen).toBe(true);
      expect(() => map.update(0, 2)).toThrow(/EPERM/);
      expect(decodeU32(map.lookup(0)!)).toBe(1);
    } finally {
      map.close();
    }
  });
});

describe.skipIf(needsRoot)('mmapable arrays', () => {
  it('a write through update() is visible in the view, and a write to the view in lookup()', () => {
    const map = BpfMap.create({ name: 'mm', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1000, flags: BPF_F_MMAPABLE });
    try {
      const mapping = map.mmap();
      expect(mapping.writable).toBe(true);
      expect(mapping.length).toBe(8192); // 1000 x round_up(4, 8) bytes, page-rounded
      expect(map.mmap()).toBe(mapping);
      const words = new Uint32Array(mapping.buffer);
      map.update(3, 0xabcd);
      expect(words[3 * 2]).toBe(0xabcd); // stride 8 bytes = 2 words
      words[999 * 2] = 4242;
      expect(decodeU32(map.lookup(999)!)).toBe(4242);
      expect(() => map.freeze()).toThrow(/EBUSY/); // a writable mapping blocks freezing
    } finally {
      map.close();
    }
    map.close(); // idempotent
  });

  it('frozen and program-read-only maps are mapped read-only', () => {
    const frozen = BpfMap.create({ name: 'mm_frozen', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, flags: BPF_F_MMAPABLE });
    const rdonly = BpfMap.create({ name: 'mm_rdonly', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, flags: BPF_F_MMAPABLE | BPF_F_RDONLY_PROG });
    try {
      frozen.update(1, 77n);
      frozen.freeze();
      const view = frozen.mmap();
      expect(view.writable).toBe(false);
      expect(new BigUint64Array(view.buffer)[1]).toBe(77n);
      expect(rdonly.mmap().writable).toBe(false);
      // Reopened by fd (frozen state unknown to the new object): falls back to read-only.
      const again = BpfMap.fromFd(frozen.fd);
      expect(again.mmap().writable).toBe(false);
      again.close();
    } finally {
      frozen.close();
      rdonly.close();
    }
  });

  it('maps without BPF_F_MMAPABLE cannot be mapped', () => {
    const map = BpfMap.create({ name: 'not_mm', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 });
    try {
      expect(() => map.mmap()).toThrow(/BPF_F_MMAPABLE/);
    } finally {
      map.close();
    }
  });
});
