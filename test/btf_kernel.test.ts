// BTF into the kernel: every object's BTF loads, and still loads after each
// sanitization a kernel lacking that BTF feature would need; the object then
// loads with the same program tags.
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_BTF_FEATURES, sanitizeBtf, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_TYPE_TAG } from '../src/btf/index.ts';
import { loadBtfIntoKernel, BtfLoadError } from '../src/btf/load.ts';
import { overrideFeature, type FeatureName } from '../src/features/index.ts';
import { BpfObject } from '../src/object/index.ts';
import { NotSupportedError } from '../src/errors.ts';
import { BPF_DIR } from './helpers/oracle.ts';
import { needsRoot } from './helpers/env.ts';

const objects = readdirSync(BPF_DIR).filter((f) => f.endsWith('.bpf.o'));
const FEATURES: FeatureName[] = ['declTag', 'typeTag', 'enum64', 'float', 'funcLinkage', 'datasec'];

describe.skipIf(needsRoot)('BTF loading into the kernel', () => {
  afterEach(() => {
    for (const f of FEATURES) overrideFeature(`btf:${f}`, undefined);
  });

  it('a malformed blob is refused with the kernel log attached', () => {
    const bad = new Uint8Array(64);
    new DataView(bad.buffer).setUint16(0, 0xeb9f, true);
    bad[2] = 1;
    new DataView(bad.buffer).setUint32(4, 24, true);
    new DataView(bad.buffer).setUint32(16, 8, true); // string section runs past the end
    new DataView(bad.buffer).setUint32(20, 64, true);
    expect(() => loadBtfIntoKernel(bad, 'garbage')).toThrow(BtfLoadError);
  });

  // Objects whose programs this host cannot load (policy, no CONFIG_KALLSYMS_ALL, deliberate verifier failure) still get their BTF checked.
  // (autocreate.bpf.o: its arena map is refused here, so it is left out.)
  const loadable = (f: string) => !['broken.bpf.o', 'ksym_typed.bpf.o', 'autocreate.bpf.o'].includes(f);
  for (const f of objects) {
    it(`${f}: the BTF loads as is and after each sanitization`, async (ctx) => {
      const kinds = new Set<number>();
      const spec = BpfObject.open(`${BPF_DIR}/${f}`).spec;
      for (let id = 1; id <= spec.btf!.typeCount; id++) kinds.add(spec.btf!.kindOf(id));
      for (const feature of [undefined, ...FEATURES]) {
        for (const g of FEATURES) overrideFeature(`btf:${g}`, g === feature ? false : undefined);
        if (feature) {
          // a kind the kernel lacks is gone after sanitizing
          const gone: Record<string, number> = { declTag: BTF_KIND_DECL_TAG, typeTag: BTF_KIND_TYPE_TAG, enum64: BTF_KIND_ENUM64, float: BTF_KIND_FLOAT, datasec: BTF_KIND_DATASEC };
          const sanitized = sanitizeBtf(spec.btf!, { ...ALL_BTF_FEATURES, [feature]: false });
          if (gone[feature] !== undefined) for (let id = 1; id <= sanitized.typeCount; id++) expect(sanitized.kindOf(id)).not.toBe(gone[feature]);
        }
        const o = BpfObject.open(`${BPF_DIR}/${f}`);
        for (const p of o.programs.values()) if (!loadable(f) || /^(fentry|fexit|lsm)/.test(p.sectionName)) p.autoload = false;
        if (f === 'autocreate.bpf.o') o.map('arena').autocreate = false;
        try {
          try {
            o.load();
          } catch (e) {
            if (e instanceof NotSupportedError) ctx.skip(`${f}: ${e.feature} is not supported by the loader yet`);
            throw e;
          }
          expect(o.btfFd, `${f} BTF ${feature ? `without ${feature}` : 'as is'} refused by the kernel`).toBeGreaterThan(0);
        } finally {
          await o.destroy();
        }
      }
    });
  }

  for (const feature of FEATURES) {
    it(`core.bpf.o loads with the same tags when the kernel is said to lack ${feature}`, async () => {
      const plain = BpfObject.openAndLoad(`${BPF_DIR}/core.bpf.o`);
      const tags = [...plain.programs.values()].map((p) => p.prog!.tag());
      await plain.destroy();
      overrideFeature(`btf:${feature}`, false);
      const o = BpfObject.openAndLoad(`${BPF_DIR}/core.bpf.o`);
      try {
        expect(o.btfFd).toBeGreaterThan(0);
        expect([...o.programs.values()].map((p) => p.prog!.tag())).toEqual(tags);
      } finally {
        await o.destroy();
      }
    });
  }
});
