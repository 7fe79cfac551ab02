// A BPF_F_MMAPABLE array seen from both sides: a program run through
// BPF_PROG_TEST_RUN stores into the map's value, and the zero-copy view in
// this process sees the store without any lookup.
import { describe, expect, it } from 'vitest';
import { BPF_F_MMAPABLE, BpfMap, MapType, listMapIds } from '../src/maps/index.ts';
import { BPF_DW, BpfProgType, Program, asm, encodeInsns } from '../src/prog/index.ts';
import { needsRoot } from './helpers/env.ts';

describe.skipIf(needsRoot)('mmapable array map', () => {
  it('a value written by a BPF program is visible through the mapping', () => {
    const map = BpfMap.create({ name: 'mmap_view', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 32, maxEntries: 1, flags: BPF_F_MMAPABLE });
    try {
      expect(listMapIds()).toContain(map.info().id);
      const view = new BigUint64Array(map.mmap().buffer, 0, 4);
      expect(view[2]).toBe(0n);
      // r1 = &value + 16 (BPF_PSEUDO_MAP_VALUE: element 0, byte 16); *(u64 *)(r1 + 0) = 0x5eed; r0 = 0; exit
      const insns = encodeInsns([...asm.ldMapValue(1, map.fd, 16), asm.stMem(BPF_DW, 1, 0, 0x5eed), asm.mov64Imm(0, 0), asm.exit()]);
      const prog = Program.load({ name: 'mmap_writer', type: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns, license: 'GPL' });
      try {
        expect(prog.testRun({ dataIn: Buffer.alloc(64) }).retval).toBe(0);
        expect(view[2]).toBe(0x5eedn);
        // and the other direction: a store through the view is what a lookup returns
        view[1] = 77n;
        expect(Buffer.from(map.lookup(0)!).readBigUInt64LE(8)).toBe(77n);
      } finally {
        prog.close();
      }
    } finally {
      map.close();
    }
  });
});
