// The three compatibility relations of CO-RE, as libbpf defines them:
//   bpf_core_fields_are_compat  - may a local field be relocated to a target field?
//   bpf_core_types_are_compat   - TYPE_EXISTS / TYPE_SIZE / TYPE_ID_TARGET candidates
//   bpf_core_types_match        - TYPE_MATCHES (stricter: layouts must agree)
// Each returns true/false; malformed input (cycles) throws CoreError.
import type { Btf } from '../btf/parse.ts';
import {
  BTF_KIND_UNKN, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_ARRAY, BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_ENUM,
  BTF_KIND_ENUM64, BTF_KIND_FWD, BTF_KIND_FLOAT, BTF_KIND_FUNC_PROTO, BTF_INT_SIGNED,
  type BtfArray, type BtfFuncProto, type BtfInt, type BtfEnum, type BtfEnum64,
} from '../btf/types.ts';
import {
  MAX_RESOLVE_DEPTH, essentialName, essentialNameLen, isAnyEnum, isComposite, kindCoreCompat, skipModsAndTypedefs,
} from './btf_util.ts';
import { CoreError } from './types.ts';

function intOffset(btf: Btf, id: number): number {
  return (btf.type(id) as BtfInt).bitOffset;
}

/** Names equal modulo flavor, or one of them anonymous (used by fields_are_compat for enums/fwds). */
function flavorlessNamesCompat(a: string, b: string): boolean {
  const la = essentialNameLen(a);
  const lb = essentialNameLen(b);
  return la === 0 || lb === 0 || (la === lb && a.slice(0, la) === b.slice(0, lb));
}

/**
 * bpf_core_fields_are_compat: any two structs/unions, any two pointers, any two
 * floats; enums/fwds with the same essential name (or one anonymous); ints
 * that are not old-style bitfield ints; arrays with compatible elements.
 */
export function fieldsAreCompat(localBtf: Btf, localId: number, targBtf: Btf, targId: number): boolean {
  for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
    localId = skipModsAndTypedefs(localBtf, localId);
    targId = skipModsAndTypedefs(targBtf, targId);
    const lk = localBtf.kindOf(localId);
    const tk = targBtf.kindOf(targId);
    if (isComposite(lk) && isComposite(tk)) return true;
    if (!kindCoreCompat(lk, tk)) return false;
    switch (lk) {
      case BTF_KIND_PTR: case BTF_KIND_FLOAT:
        return true;
      case BTF_KIND_FWD: case BTF_KIND_ENUM: case BTF_KIND_ENUM64:
        return flavorlessNamesCompat(localBtf.nameOf(localId), targBtf.nameOf(targId));
      case BTF_KIND_INT:
        return intOffset(localBtf, localId) === 0 && intOffset(targBtf, targId) === 0;
      case BTF_KIND_ARRAY:
        localId = (localBtf.type(localId) as BtfArray).type;
        targId = (targBtf.type(targId) as BtfArray).type;
        continue;
      default:
        return false;
    }
  }
  throw new CoreError('EINVAL', 'field type chain is too deep (a cycle?)');
}

/**
 * bpf_core_types_are_compat: kinds must agree (ENUM ~ ENUM64); structs, unions,
 * enums, fwds are compatible by name alone (the caller matched names);
 * pointers/arrays recurse into their targets; function prototypes need the
 * same arity and compatible parameter/return types.
 */
export function typesAreCompat(localBtf: Btf, localId: number, targBtf: Btf, targId: number, level = MAX_RESOLVE_DEPTH): boolean {
  return typesAreCompatAt(localBtf, localId, targBtf, targId, level, new Map());
}

/**
 * Answers already computed for (local, target) pairs, per top-level question:
 * prototypes whose parameters share a prototype form a DAG that a plain
 * recursion walks once per path, exponential in its depth.
 */
type PairMemo = Map<string, boolean>;

function typesAreCompatAt(localBtf: Btf, localId: number, targBtf: Btf, targId: number, level: number, memo: PairMemo): boolean {
  const key = `${localId}:${targId}`;
  const known = memo.get(key);
  if (known !== undefined) return known;
  const ok = typesAreCompatWalk(localBtf, localId, targBtf, targId, level, memo);
  memo.set(key, ok);
  return ok;
}

function typesAreCompatWalk(localBtf: Btf, localId: number, targBtf: Btf, targId: number, level: number, memo: PairMemo): boolean {
  if (!kindCoreCompat(localBtf.kindOf(localId), targBtf.kindOf(targId))) return false;
  for (let depth = MAX_RESOLVE_DEPTH; ; ) {
    if (--depth < 0) throw new CoreError('EINVAL', 'type chain is too deep (a cycle?)');
    localId = skipModsAndTypedefs(localBtf, localId);
    targId = skipModsAndTypedefs(targBtf, targId);
    const lk = localBtf.kindOf(localId);
    const tk = targBtf.kindOf(targId);
    if (!kindCoreCompat(lk, tk)) return false;
    switch (lk) {
      case BTF_KIND_UNKN: case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_ENUM: case BTF_KIND_FWD: case BTF_KIND_ENUM64:
        return true;
      case BTF_KIND_INT:
        return intOffset(localBtf, localId) === 0 && intOffset(targBtf, targId) === 0;
      case BTF_KIND_PTR:
        localId = localBtf.sizeOrTypeOf(localId);
        targId = targBtf.sizeOrTypeOf(targId);
        continue;
      case BTF_KIND_ARRAY:
        localId = (localBtf.type(localId) as BtfArray).type;
        targId = (targBtf.type(targId) as BtfArray).type;
        continue;
      case BTF_KIND_FUNC_PROTO: {
        const lp = localBtf.type(localId) as BtfFuncProto;
        const tp = targBtf.type(targId) as BtfFuncProto;
        if (lp.params.length !== tp.params.length) return false;
        for (let i = 0; i < lp.params.length; i++) {
          if (level <= 0) throw new CoreError('EINVAL', 'function prototype nesting is too deep');
          const l = skipModsAndTypedefs(localBtf, lp.params[i]!.type);
          const t = skipModsAndTypedefs(targBtf, tp.params[i]!.type);
          if (!typesAreCompatAt(localBtf, l, targBtf, t, level - 1, memo)) return false;
        }
        localId = lp.type;
        targId = tp.type;
        continue;
      }
      default:
        return false;
    }
  }
}

/** bpf_core_names_match: an anonymous target matches only an anonymous local; else essential names agree. */
function namesMatch(localName: string, targName: string): boolean {
  if (targName === '') return localName === '';
  const lt = essentialNameLen(targName);
  const ll = essentialNameLen(localName);
  return lt === ll && localName.slice(0, ll) === targName.slice(0, lt);
}

function enumsMatch(localBtf: Btf, localId: number, targBtf: Btf, targId: number): boolean {
  const l = localBtf.type(localId) as BtfEnum | BtfEnum64;
  const t = targBtf.type(targId) as BtfEnum | BtfEnum64;
  if (l.size !== t.size || l.values.length > t.values.length) return false;
  // Every local enumerator needs a target one of the same (essential) name; values are not compared.
  return l.values.every((lv) => t.values.some((tv) => namesMatch(lv.name, tv.name)));
}

function compositesMatch(localBtf: Btf, localId: number, targBtf: Btf, targId: number, behindPtr: boolean, level: number, memo: PairMemo): boolean {
  // Raw member words (name offset, type, offset; see Btf.memberWords): a kernel struct has hundreds of members.
  const l = localBtf.memberWords(localId);
  if (l.length > targBtf.vlenOf(targId) * 3) return false;
  // Every local member needs a same-named (modulo flavor) target member whose type matches.
  // Target members grouped by essential name, in member order: the members namesMatch()
  // accepts for a local name are exactly those under its essential name ('' = anonymous).
  const byName = targetMembersByEssentialName(targBtf, targId);
  for (let p = 0; p < l.length; p += 3) {
    const cands = byName.get(essentialName(localBtf.str(l[p]!)));
    const type = l[p + 1]!;
    if (!cands?.some((tm) => typesMatchAt(localBtf, type, targBtf, tm, behindPtr, level - 1, memo))) return false;
  }
  return true;
}

/** Per target BTF and composite id: essential member name -> member type ids, in member order. */
const membersByName = new WeakMap<Btf, Map<number, Map<string, number[]>>>();
function targetMembersByEssentialName(btf: Btf, id: number): Map<string, number[]> {
  let perBtf = membersByName.get(btf);
  if (!perBtf) membersByName.set(btf, (perBtf = new Map()));
  let m = perBtf.get(id);
  if (!m) {
    m = new Map();
    const words = btf.memberWords(id);
    for (let p = 0; p < words.length; p += 3) {
      const key = essentialName(btf.str(words[p]!));
      const list = m.get(key);
      if (list) list.push(words[p + 1]!); else m.set(key, [words[p + 1]!]);
    }
    perBtf.set(id, m);
  }
  return m;
}

/** __bpf_core_types_match */
function typesMatchAt(localBtf: Btf, localId: number, targBtf: Btf, targId: number, behindPtr: boolean, level: number, memo: PairMemo): boolean {
  if (level <= 0) throw new CoreError('EINVAL', 'type match nesting is too deep');
  const key = `${localId}:${targId}:${behindPtr ? 1 : 0}`;
  const known = memo.get(key);
  if (known !== undefined) return known;
  const ok = typesMatchWalk(localBtf, localId, targBtf, targId, behindPtr, level, memo);
  memo.set(key, ok);
  return ok;
}

function typesMatchWalk(localBtf: Btf, localId: number, targBtf: Btf, targId: number, behindPtr: boolean, level: number, memo: PairMemo): boolean {
  for (let depth = MAX_RESOLVE_DEPTH; ; ) {
    if (--depth < 0) throw new CoreError('EINVAL', 'type chain is too deep (a cycle?)');
    localId = skipModsAndTypedefs(localBtf, localId);
    targId = skipModsAndTypedefs(targBtf, targId);
    if (!namesMatch(localBtf.nameOf(localId), targBtf.nameOf(targId))) return false;
    const lk = localBtf.kindOf(localId);
    const tk = targBtf.kindOf(targId);
    switch (lk) {
      case BTF_KIND_UNKN:
        return lk === tk;
      case BTF_KIND_FWD: {
        const lf = localBtf.kindFlagOf(localId);
        if (behindPtr) {
          if (lk === tk) return lf === targBtf.kindFlagOf(targId);
          // A forward declaration's kind_flag says struct (0) or union (1).
          return (tk === BTF_KIND_STRUCT && !lf) || (tk === BTF_KIND_UNION && lf);
        }
        return lk === tk && lf === targBtf.kindFlagOf(targId);
      }
      case BTF_KIND_ENUM: case BTF_KIND_ENUM64:
        return isAnyEnum(tk) && enumsMatch(localBtf, localId, targBtf, targId);
      case BTF_KIND_STRUCT: case BTF_KIND_UNION:
        if (behindPtr) {
          if (lk === tk) return true;
          return tk === BTF_KIND_FWD && (lk === BTF_KIND_UNION) === targBtf.kindFlagOf(targId);
        }
        return lk === tk && compositesMatch(localBtf, localId, targBtf, targId, behindPtr, level, memo);
      case BTF_KIND_INT: {
        if (lk !== tk) return false;
        const l = localBtf.type(localId) as BtfInt;
        const t = targBtf.type(targId) as BtfInt;
        return l.size === t.size && (l.encoding & BTF_INT_SIGNED) === (t.encoding & BTF_INT_SIGNED);
      }
      case BTF_KIND_PTR:
        if (lk !== tk) return false;
        behindPtr = true;
        localId = localBtf.sizeOrTypeOf(localId);
        targId = targBtf.sizeOrTypeOf(targId);
        continue;
      case BTF_KIND_ARRAY: {
        if (lk !== tk) return false;
        const l = localBtf.type(localId) as BtfArray;
        const t = targBtf.type(targId) as BtfArray;
        if (l.nelems !== t.nelems) return false;
        localId = l.type;
        targId = t.type;
        continue;
      }
      case BTF_KIND_FUNC_PROTO: {
        if (lk !== tk) return false;
        const l = localBtf.type(localId) as BtfFuncProto;
        const t = targBtf.type(targId) as BtfFuncProto;
        if (l.params.length !== t.params.length) return false;
        for (let i = 0; i < l.params.length; i++)
          if (!typesMatchAt(localBtf, l.params[i]!.type, targBtf, t.params[i]!.type, behindPtr, level - 1, memo)) return false;
        localId = l.type;
        targId = t.type;
        continue;
      }
      default:
        return false;
    }
  }
}

/** bpf_core_types_match (TYPE_MATCHES). */
export function typesMatch(localBtf: Btf, localId: number, targBtf: Btf, targId: number): boolean {
  return typesMatchAt(localBtf, localId, targBtf, targId, false, MAX_RESOLVE_DEPTH, new Map());
}
