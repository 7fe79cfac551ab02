// src/uapi/kernel.ts is generated from the pinned kernel BTF committed under
// scripts/uapi/: it must be current, and its values must agree with the
// running kernel's own BTF wherever that kernel knows the name.
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BLOB_PATH, OUTPUT_PATH, generate } from '../scripts/gen_uapi.ts';
import { ENUMS } from '../scripts/uapi/spec.ts';
import { BTF_KIND_ENUM, BTF_KIND_ENUM64, loadKernelBtf, type BtfEnum } from '../src/btf/index.ts';
import * as uapi from '../src/uapi/index.ts';
import { ARCHES, archInfo } from '../src/uapi/arch.ts';
import { NotSupportedError } from '../src/errors.ts';

describe('src/uapi', () => {
  it('kernel.ts is what npm run gen:uapi writes (stale otherwise: run it)', () => {
    const text = generate(gunzipSync(readFileSync(BLOB_PATH)));
    expect(text).toBe(readFileSync(OUTPUT_PATH, 'utf8'));
    // the same input gives the same bytes
    expect(generate(gunzipSync(readFileSync(BLOB_PATH)))).toBe(text);
  });

  it('agrees with the running kernel\'s BTF on every enumerator both know', (ctx) => {
    if (!existsSync('/sys/kernel/btf/vmlinux')) return ctx.skip('no /sys/kernel/btf/vmlinux');
    const btf = loadKernelBtf();
    let compared = 0;
    for (const e of ENUMS) {
      const id = btf.findByName(e.btf).find((i) => btf.kindOf(i) === BTF_KIND_ENUM || btf.kindOf(i) === BTF_KIND_ENUM64);
      if (id === undefined) continue;
      const ours = (uapi as unknown as Record<string, Record<string, number>>)[e.ts]!;
      for (const v of (btf.type(id) as BtfEnum).values) {
        if (!(v.name in ours)) continue; // newer than the pinned kernel
        expect(`${v.name}=${ours[v.name]}`).toBe(`${v.name}=${Number(v.value) >>> 0 === Number(v.value) ? Number(v.value) : v.value}`);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(300);
  });

  it('layouts the kernel relies on', () => {
    expect(uapi.PROG_LOAD_ATTR.fields.log_true_size).toEqual({ off: 140, kind: 'u32' });
    expect(uapi.MAP_CREATE_ATTR.fields.map_name).toEqual({ off: 28, kind: 'chars', len: 16 });
    expect(uapi.PERF_EVENT_ATTR.size).toBe(136);
    expect(uapi.PERF_ATTR_FLAGS.watermark).toBe(1n << 14n);
    expect(uapi.BPF_F_MMAPABLE).toBe(1 << 10);
    expect(uapi.SIZEOF_BPF_INSN).toBe(8);
  });

  it('one row per architecture; an unknown one is refused by name', () => {
    expect(archInfo(process.arch)).toBe(uapi.ARCH);
    expect(ARCHES.x64!.SYS_bpf).toBe(321);
    expect(ARCHES.arm64!.SYS_bpf).toBe(280);
    expect(() => archInfo('mips')).toThrow(NotSupportedError);
    expect(() => archInfo('mips')).toThrow(/unsupported architecture "mips" \(supported: x64, arm64\)/);
  });
});
