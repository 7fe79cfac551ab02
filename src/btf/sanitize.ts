// Rewriting object BTF for kernels that do not know every kind, the way libbpf's
// bpf_object__sanitize_btf does: each unsupported kind is replaced in place by a
// kind the kernel accepts with the same size in the type section, so type ids
// (which instructions and .BTF.ext refer to) stay valid.
import { createLog } from '../util/log.ts';
import { BtfBuilder } from './marshal.ts';
import type { Btf } from './parse.ts';
import {
  BTF_KIND_INT, BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_ENUM, BTF_KIND_TYPEDEF, BTF_KIND_CONST,
  BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_VAR, BTF_KIND_DATASEC, BTF_KIND_FLOAT, BTF_KIND_DECL_TAG,
  BTF_KIND_TYPE_TAG, BTF_KIND_ENUM64, BTF_FUNC_STATIC, type BtfTypeInit,
} from './types.ts';

const log = createLog('tsbpf:btf');

/** What the running kernel's BTF loader accepts (true = supported). */
export interface BtfFeatures {
  /** BTF_KIND_DECL_TAG (5.16) */
  declTag: boolean;
  /** BTF_KIND_TYPE_TAG (5.17) */
  typeTag: boolean;
  /** BTF_KIND_ENUM64 and signed enums (6.0) */
  enum64: boolean;
  /** BTF_KIND_FLOAT (5.13) */
  float: boolean;
  /** FUNC with global linkage (5.6) */
  funcLinkage: boolean;
  /** BTF_KIND_VAR / BTF_KIND_DATASEC (5.2) */
  datasec: boolean;
  /** BTF_KIND_FUNC / FUNC_PROTO (5.0); assumed when omitted. */
  func?: boolean;
  /** DATASEC names containing '?' (6.x, "?.struct_ops"); assumed when omitted. */
  qmarkDatasec?: boolean;
}

/** Every feature present: sanitizeBtf() is then the identity. */
export const ALL_BTF_FEATURES: Readonly<BtfFeatures> = Object.freeze({
  declTag: true, typeTag: true, enum64: true, float: true, funcLinkage: true, datasec: true, func: true, qmarkDatasec: true,
});

/** Name of the INT added as member type of ENUM64s rewritten as unions. */
export const ENUM64_PLACEHOLDER = 'enum64_placeholder';

/**
 * A copy of `btf` the kernel described by `features` will accept. Pure: `btf` is
 * not modified; it is returned as is when nothing needs rewriting. Ids are kept;
 * at most one INT (ENUM64_PLACEHOLDER) is appended.
 */
export function sanitizeBtf(btf: Btf, features: BtfFeatures): Btf {
  const f = { ...ALL_BTF_FEATURES, ...features };
  if (!needsSanitization(btf, f)) return btf;
  const b = BtfBuilder.fromBtf(btf);
  let placeholder = 0;
  const rewritten: Record<string, number> = {};
  const note = (what: string) => { rewritten[what] = (rewritten[what] ?? 0) + 1; };

  const count = b.types.length;
  for (let i = 0; i < count; i++) {
    const id = b.startId + i;
    const t = b.types[i]!;
    let out: BtfTypeInit | undefined;
    if ((!f.datasec && t.kind === BTF_KIND_VAR) || (!f.declTag && t.kind === BTF_KIND_DECL_TAG)) {
      // VAR / DECL_TAG -> a 1-byte INT: bigger could exceed what the variable occupied.
      out = { kind: BTF_KIND_INT, name: t.name, size: 1, encoding: 0, bitOffset: 0, bits: 8 };
      note(t.kind === BTF_KIND_VAR ? 'VAR->INT' : 'DECL_TAG->INT');
    } else if (!f.datasec && t.kind === BTF_KIND_DATASEC) {
      // DATASEC -> STRUCT of the same size; each variable becomes a member named like it
      // (its type is the VAR id, itself rewritten to an INT above). '.' and '?' are not C.
      out = {
        kind: BTF_KIND_STRUCT, name: t.name.replace(/[.?]/g, '_'), size: t.size, kindFlag: false,
        members: t.vars.map((v) => ({ name: nameAt(b, btf, v.type), type: v.type, bitOffset: v.offset * 8, bitfieldSize: 0 })),
      };
      note('DATASEC->STRUCT');
    } else if (!f.qmarkDatasec && t.kind === BTF_KIND_DATASEC && t.name.includes('?')) {
      out = { ...t, name: t.name.replace(/\?/g, '_') };
      note('DATASEC ? -> _');
    } else if (!f.float && t.kind === BTF_KIND_FLOAT) {
      // FLOAT -> anonymous empty STRUCT of the same size ("float" is not a valid struct name).
      out = { kind: BTF_KIND_STRUCT, name: '', size: t.size, kindFlag: false, members: [] };
      note('FLOAT->STRUCT');
    } else if (!f.func && t.kind === BTF_KIND_FUNC_PROTO) {
      // FUNC_PROTO -> ENUM: one enumerator per parameter (name, value = param type).
      out = { kind: BTF_KIND_ENUM, name: t.name, size: 4, signed: false, values: t.params.map((p) => ({ name: p.name, value: p.type })) };
      note('FUNC_PROTO->ENUM');
    } else if (!f.func && t.kind === BTF_KIND_FUNC) {
      out = { kind: BTF_KIND_TYPEDEF, name: t.name, type: t.type };
      note('FUNC->TYPEDEF');
    } else if (!f.funcLinkage && t.kind === BTF_KIND_FUNC && t.linkage !== BTF_FUNC_STATIC) {
      out = { ...t, linkage: BTF_FUNC_STATIC };
      note('FUNC linkage->static');
    } else if (!f.typeTag && t.kind === BTF_KIND_TYPE_TAG) {
      out = { kind: BTF_KIND_CONST, name: '', type: t.type };
      note('TYPE_TAG->CONST');
    } else if (!f.enum64 && t.kind === BTF_KIND_ENUM && t.signed) {
      // Kernels before ENUM64 reject kind_flag on ENUM.
      out = { ...t, signed: false };
      note('ENUM kind_flag cleared');
    } else if (!f.enum64 && t.kind === BTF_KIND_ENUM64) {
      // ENUM64 -> UNION of the same size whose members (the enumerator names) are 1-byte INTs.
      if (!placeholder) placeholder = b.add({ kind: BTF_KIND_INT, name: ENUM64_PLACEHOLDER, size: 1, encoding: 0, bitOffset: 0, bits: 8 });
      out = {
        kind: BTF_KIND_UNION, name: t.name, size: t.size, kindFlag: false,
        members: t.values.map((v) => ({ name: v.name, type: placeholder, bitOffset: 0, bitfieldSize: 0 })),
      };
      note('ENUM64->UNION');
    }
    if (out) b.set(id, out);
  }
  log('%s: sanitized: %o', btf.name, rewritten);
  return b.build(btf.name);
}

/** The name of type `id`, read from the original types (rewrites above keep VAR names anyway). */
function nameAt(b: BtfBuilder, btf: Btf, id: number): string {
  return id >= b.startId ? btf.nameOf(id) : (btf.base?.nameOf(id) ?? '');
}

/** Whether any type of `btf` uses something `features` lacks (libbpf's btf_needs_sanitization, per type). */
export function needsSanitization(btf: Btf, features: BtfFeatures): boolean {
  const f = { ...ALL_BTF_FEATURES, ...features };
  for (let id = btf.startId; id <= btf.typeCount; id++) {
    switch (btf.kindOf(id)) {
      case BTF_KIND_VAR: case BTF_KIND_DATASEC:
        if (!f.datasec) return true;
        if (!f.qmarkDatasec && btf.kindOf(id) === BTF_KIND_DATASEC && btf.nameOf(id).includes('?')) return true;
        break;
      case BTF_KIND_DECL_TAG: if (!f.declTag) return true; break;
      case BTF_KIND_TYPE_TAG: if (!f.typeTag) return true; break;
      case BTF_KIND_FLOAT: if (!f.float) return true; break;
      case BTF_KIND_ENUM64: if (!f.enum64) return true; break;
      case BTF_KIND_ENUM: if (!f.enum64 && btf.kindFlagOf(id)) return true; break;
      case BTF_KIND_FUNC_PROTO: if (!f.func) return true; break;
      case BTF_KIND_FUNC: if (!f.func || (!f.funcLinkage && btf.vlenOf(id) !== BTF_FUNC_STATIC)) return true; break;
    }
  }
  return false;
}
