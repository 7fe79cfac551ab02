// Kernel feature probes, each answered once per process by asking the kernel
// something tiny (libbpf's kernel_supports()). The cache is the only global
// state here; tests can force an answer with overrideFeature().
import createDebug from 'debug';
import { BtfBuilder, type BtfFeatures, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_TYPE_TAG, BTF_KIND_VAR, BTF_INT_SIGNED, type BtfTypeInit } from '../btf/index.ts';
import { loadBtfIntoKernel } from '../btf/load.ts';

const log = createDebug('tsbpf:features');

export type FeatureName = keyof BtfFeatures;

/** Process-wide memo of probe answers (documented cache). */
const answers = new Map<string, boolean>();
const overrides = new Map<string, boolean>();

const INT: BtfTypeInit = { kind: BTF_KIND_INT, name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 };

/** Tiny BTF blobs, each using one kind the kernel may not know (type 1 is always `int`). */
const BTF_PROBES: Record<FeatureName, BtfTypeInit[]> = {
  datasec: [INT, { kind: BTF_KIND_VAR, name: 'a', type: 1, linkage: 1 }, { kind: BTF_KIND_DATASEC, name: '.data', size: 4, vars: [{ type: 2, offset: 0, size: 4 }] }],
  func: [INT, { kind: BTF_KIND_FUNC_PROTO, name: '', type: 1, params: [] }, { kind: BTF_KIND_FUNC, name: 'f', type: 2, linkage: 0 }],
  funcLinkage: [INT, { kind: BTF_KIND_FUNC_PROTO, name: '', type: 1, params: [] }, { kind: BTF_KIND_FUNC, name: 'f', type: 2, linkage: 1 }],
  float: [INT, { kind: BTF_KIND_FLOAT, name: 'float', size: 4 }],
  declTag: [INT, { kind: BTF_KIND_VAR, name: 'a', type: 1, linkage: 0 }, { kind: BTF_KIND_DECL_TAG, name: 'tag', type: 2, componentIdx: -1, kindFlag: false }],
  typeTag: [INT, { kind: BTF_KIND_TYPE_TAG, name: 'tag', type: 1, kindFlag: false }, { kind: BTF_KIND_PTR, name: '', type: 2 }],
  enum64: [INT, { kind: BTF_KIND_ENUM64, name: 'e', size: 8, signed: false, values: [{ name: 'v', value: 1n << 40n }] }],
  qmarkDatasec: [INT, { kind: BTF_KIND_VAR, name: 'a', type: 1, linkage: 1 }, { kind: BTF_KIND_DATASEC, name: '?.data', size: 4, vars: [{ type: 2, offset: 0, size: 4 }] }],
};

function probeBtf(name: FeatureName): boolean {
  const b = new BtfBuilder();
  for (const t of BTF_PROBES[name]) b.add(structuredClone(t));
  try {
    loadBtfIntoKernel(b.marshal(), `feature probe ${name}`).close();
    return true;
  } catch {
    return false;
  }
}

/** Does the running kernel support this BTF feature? Memoized. */
export function kernelSupports(name: FeatureName): boolean {
  const forced = overrides.get(name);
  if (forced !== undefined) return forced;
  let v = answers.get(name);
  if (v === undefined) {
    v = probeBtf(name);
    answers.set(name, v);
    log('probe %s: %s', name, v ? 'supported' : 'missing');
  }
  return v;
}

/** Every BTF feature, probed (memoized). */
export function btfFeatures(): BtfFeatures {
  return {
    datasec: kernelSupports('datasec'),
    func: kernelSupports('func'),
    funcLinkage: kernelSupports('funcLinkage'),
    float: kernelSupports('float'),
    declTag: kernelSupports('declTag'),
    typeTag: kernelSupports('typeTag'),
    enum64: kernelSupports('enum64'),
    qmarkDatasec: kernelSupports('qmarkDatasec'),
  };
}

/** True when a test has forced some probe's answer (the loader then sanitizes up front). */
export function hasFeatureOverrides(): boolean {
  return overrides.size > 0;
}

/** Force a probe's answer (tests of sanitization); `undefined` removes the override. */
export function overrideFeature(name: FeatureName, value: boolean | undefined): void {
  if (value === undefined) overrides.delete(name);
  else overrides.set(name, value);
}
