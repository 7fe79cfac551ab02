// BTF features: which BTF kinds the kernel's BTF loader accepts. Each probe
// loads a tiny blob using one kind (BPF_BTF_LOAD); the object loader
// sanitizes an object's BTF for the kinds that are missing.
import { BtfBuilder, type BtfFeatures, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_TYPE_TAG, BTF_KIND_VAR, BTF_INT_SIGNED, BTF_KIND_NAMES, NR_BTF_KINDS, type BtfTypeInit } from '../btf/index.ts';
import { loadBtfIntoKernel } from '../btf/load.ts';
import { UsageError } from '../errors.ts';
import { cached, overriddenFeatures } from './cache.ts';

export type FeatureName = keyof BtfFeatures;

const INT: BtfTypeInit = { kind: BTF_KIND_INT, name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 };

/** Tiny BTF blobs, each using one kind the kernel may not know (type 1 is always `int`). */
const BTF_PROBES: Record<FeatureName | 'base', BtfTypeInit[]> = {
  base: [INT],
  datasec: [INT, { kind: BTF_KIND_VAR, name: 'a', type: 1, linkage: 1 }, { kind: BTF_KIND_DATASEC, name: '.data', size: 4, vars: [{ type: 2, offset: 0, size: 4 }] }],
  func: [INT, { kind: BTF_KIND_FUNC_PROTO, name: '', type: 1, params: [] }, { kind: BTF_KIND_FUNC, name: 'f', type: 2, linkage: 0 }],
  funcLinkage: [INT, { kind: BTF_KIND_FUNC_PROTO, name: '', type: 1, params: [] }, { kind: BTF_KIND_FUNC, name: 'f', type: 2, linkage: 1 }],
  float: [INT, { kind: BTF_KIND_FLOAT, name: 'float', size: 4 }],
  declTag: [INT, { kind: BTF_KIND_VAR, name: 'a', type: 1, linkage: 0 }, { kind: BTF_KIND_DECL_TAG, name: 'tag', type: 2, componentIdx: -1, kindFlag: false }],
  typeTag: [INT, { kind: BTF_KIND_TYPE_TAG, name: 'tag', type: 1, kindFlag: false }, { kind: BTF_KIND_PTR, name: '', type: 2 }],
  enum64: [INT, { kind: BTF_KIND_ENUM64, name: 'e', size: 8, signed: false, values: [{ name: 'v', value: 1n << 40n }] }],
  qmarkDatasec: [INT, { kind: BTF_KIND_VAR, name: 'a', type: 1, linkage: 1 }, { kind: BTF_KIND_DATASEC, name: '?.data', size: 4, vars: [{ type: 2, offset: 0, size: 4 }] }],
};

function probeBtf(name: FeatureName | 'base'): boolean {
  const b = new BtfBuilder();
  for (const t of BTF_PROBES[name]) b.add(structuredClone(t));
  try {
    loadBtfIntoKernel(b.marshal(), `feature probe ${name}`).close();
    return true;
  } catch {
    return false;
  }
}

/** Does the running kernel support this BTF feature? Memoized; overridable as 'btf:<name>'. */
export function kernelSupports(name: FeatureName): boolean {
  return cached(`btf:${name}`, () => probeBtf(name));
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

/** The probe that answers for each BTF kind (the basic kinds came with BTF itself, Linux 4.18). */
const KIND_FEATURE: Partial<Record<number, FeatureName>> = {
  [BTF_KIND_FUNC]: 'func',
  [BTF_KIND_FUNC_PROTO]: 'func',
  [BTF_KIND_VAR]: 'datasec',
  [BTF_KIND_DATASEC]: 'datasec',
  [BTF_KIND_FLOAT]: 'float',
  [BTF_KIND_DECL_TAG]: 'declTag',
  [BTF_KIND_TYPE_TAG]: 'typeTag',
  [BTF_KIND_ENUM64]: 'enum64',
};

/** Does the kernel's BTF loader accept BTF kind `kind` (BTF_KIND_*, or its name: 'ENUM64', 'enum64')? */
export function haveBtfKind(kind: number | string): boolean {
  if (typeof kind === 'string') {
    const name = kind.toUpperCase().replace(/^BTF_KIND_/, '');
    const i = BTF_KIND_NAMES.indexOf(name);
    if (i <= 0) throw new UsageError(`haveBtfKind: "${kind}" is not a BTF kind (${BTF_KIND_NAMES.slice(1).join(', ')})`);
    kind = i;
  }
  if (!Number.isInteger(kind) || kind <= 0 || kind >= NR_BTF_KINDS) throw new UsageError(`haveBtfKind: ${kind} is not a BTF kind (1..${NR_BTF_KINDS - 1})`);
  const feature = KIND_FEATURE[kind];
  return feature ? kernelSupports(feature) : cached(`btf:${BTF_KIND_NAMES[kind]}`, () => probeBtf('base'));
}

/** True when a test has forced some BTF probe's answer (the loader then sanitizes up front). */
export function hasFeatureOverrides(): boolean {
  return overriddenFeatures().some((k) => k.startsWith('btf:'));
}
