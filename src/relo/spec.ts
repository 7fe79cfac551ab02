// bpf_core_spec: the parsed form of a relocation's access string against one
// BTF. The low-level spec (`raw`) has one index per access-string element,
// anonymous struct/union levels included; the high-level spec (`accessors`)
// keeps only the meaningful steps: the array-of-root index, each named member
// and each array index. `bitOffset` is where the accessed field starts.
import type { Btf } from '../btf/parse.ts';
import { BTF_KIND_ARRAY, BTF_KIND_ENUM, type BtfEnum, type BtfEnum64 } from '../btf/types.ts';
import { isAnyEnum, isComposite, resolveSize, skipModsAndTypedefs, typeHead } from './btf_util.ts';
import {
  CoreError, CORE_RELO_KIND_DESC, coreReloIsEnumvalBased, coreReloIsFieldBased, coreReloIsTypeBased,
  type CoreRelo,
} from './types.ts';

/** libbpf's BPF_CORE_SPEC_MAX_LEN: deepest access path supported. */
export const BPF_CORE_SPEC_MAX_LEN = 64;

/** struct bpf_core_accessor: one high-level step. */
export interface CoreAccessor {
  /** The struct/union owning the member (named step), or the element type (array step). */
  typeId: number;
  /** Member index, array index, or enumerator index. */
  idx: number;
  /** Member or enumerator name; undefined for an array step. */
  name: string | undefined;
}

/** struct bpf_core_spec */
export interface CoreSpec {
  btf: Btf;
  /** The relocation's root type (local), or the candidate's id (target). */
  rootTypeId: number;
  kind: number;
  /** High-level spec. */
  accessors: CoreAccessor[];
  /** Low-level spec: every index of the access path. */
  raw: number[];
  /** Bit offset of the accessed field from the root. */
  bitOffset: number;
}

export function emptySpec(btf: Btf, rootTypeId: number, kind: number): CoreSpec {
  return { btf, rootTypeId, kind, accessors: [], raw: [], bitOffset: 0 };
}

/** "0:1:2" -> [0, 1, 2], strictly as libbpf's sscanf loop accepts it (no empty elements). */
export function parseAccessString(s: string): number[] {
  // One pass over the characters; anything unusual goes to the strict parser below for its message.
  const out: number[] = [];
  let v = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x3a; // the end closes the last element like a ':'
    if (c >= 0x30 && c <= 0x39 && digits < 10) {
      v = v * 10 + c - 0x30;
      digits++;
    } else if (c === 0x3a && digits > 0 && v <= 0x7fffffff && out.length < BPF_CORE_SPEC_MAX_LEN) {
      out.push(v);
      v = 0;
      digits = 0;
    } else {
      return parseAccessStringStrict(s);
    }
  }
  return out;
}

/** parseAccessString with the checks spelled out one by one: what a malformed string is refused for. */
function parseAccessStringStrict(s: string): number[] {
  if (s === '' || s[0] === ':') throw new CoreError('EINVAL', `access string "${s}" is malformed`);
  const parts = s.split(':');
  if (parts.length > BPF_CORE_SPEC_MAX_LEN) throw new CoreError('E2BIG', `access string "${s}" is longer than ${BPF_CORE_SPEC_MAX_LEN} elements`);
  return parts.map((p) => {
    if (!/^\d{1,10}$/.test(p) || Number(p) > 0x7fffffff) throw new CoreError('EINVAL', `access string "${s}" is malformed (element "${p}")`);
    return Number(p);
  });
}

/**
 * A flexible array: no elements, and the last member of the struct the
 * previous (named) accessor points into.
 */
export function isFlexArr(btf: Btf, parent: CoreAccessor | undefined, nelems: number): boolean {
  if (!parent || parent.name === undefined || nelems > 0) return false;
  return parent.idx === btf.vlenOf(parent.typeId) - 1;
}

/** bpf_core_parse_spec: validate the access string against the local BTF and compute the local spec. */
export function parseSpec(btf: Btf, relo: CoreRelo): CoreSpec {
  const spec = emptySpec(btf, relo.typeId, relo.kind);
  if (relo.typeId <= 0 || relo.typeId > btf.typeCount) throw new CoreError('EINVAL', `type id ${relo.typeId} is out of range (1..${btf.typeCount})`);

  // Type-based relocations carry no access path: the string is always "0".
  if (coreReloIsTypeBased(relo.kind)) {
    if (relo.accessStr !== '0') throw new CoreError('EINVAL', `type-based relocation has access string "${relo.accessStr}" (expected "0")`);
    return spec;
  }
  const raw = parseAccessString(relo.accessStr);
  spec.raw = raw;

  let id = skipModsAndTypedefs(btf, relo.typeId);
  if (id === 0) throw new CoreError('EINVAL', `root type [${relo.typeId}] resolves to void`);
  let accessIdx = raw[0]!;
  spec.accessors.push({ typeId: id, idx: accessIdx, name: undefined });

  if (coreReloIsEnumvalBased(relo.kind)) {
    const k = btf.kindOf(id);
    if (!isAnyEnum(k) || raw.length > 1 || accessIdx >= btf.vlenOf(id))
      throw new CoreError('EINVAL', `enum value relocation "${relo.accessStr}" does not name an enumerator of [${id}] ${typeHead(btf, id)}`);
    const t = btf.type(id) as BtfEnum | BtfEnum64;
    spec.accessors[0]!.name = t.values[accessIdx]!.name;
    return spec;
  }
  if (!coreReloIsFieldBased(relo.kind)) throw new CoreError('EOPNOTSUPP', `unknown relocation kind ${relo.kind}`);

  let sz = resolveSize(btf, id);
  spec.bitOffset = accessIdx * sz * 8;

  for (let i = 1; i < raw.length; i++) {
    id = skipModsAndTypedefs(btf, id);
    if (id === 0) throw new CoreError('EINVAL', `access path "${relo.accessStr}" reaches void at element ${i}`);
    accessIdx = raw[i]!;
    const k = btf.kindOf(id);
    if (isComposite(k)) {
      const vlen = btf.vlenOf(id);
      if (accessIdx >= vlen)
        throw new CoreError('EINVAL', `access path "${relo.accessStr}": member #${accessIdx} of ${typeHead(btf, id)} does not exist (it has ${vlen})`);
      spec.bitOffset += btf.memberBitOffset(id, accessIdx);
      // Anonymous struct/union members are traversed but are not high-level steps.
      const nameOff = btf.memberNameOff(id, accessIdx);
      if (nameOff !== 0) spec.accessors.push({ typeId: id, idx: accessIdx, name: btf.str(nameOff) });
      id = btf.memberType(id, accessIdx);
    } else if (k === BTF_KIND_ARRAY) {
      const nelems = btf.arrayNelems(id);
      const flex = isFlexArr(btf, spec.accessors[spec.accessors.length - 1], nelems);
      id = skipModsAndTypedefs(btf, btf.arrayType(id));
      if (id === 0) throw new CoreError('EINVAL', `access path "${relo.accessStr}": array of void`);
      if (!flex && accessIdx >= nelems)
        throw new CoreError('EINVAL', `access path "${relo.accessStr}": index ${accessIdx} is out of bounds of an array of ${nelems}`);
      spec.accessors.push({ typeId: id, idx: accessIdx, name: undefined });
      sz = resolveSize(btf, id);
      spec.bitOffset += accessIdx * sz * 8;
    } else {
      throw new CoreError('EINVAL', `access path "${relo.accessStr}" (element ${i}) goes into [${id}] ${typeHead(btf, id)}, which has no members or elements`);
    }
  }
  return spec;
}

/**
 * A C-like rendering of a spec: "struct task_struct::real_parent",
 * "struct task_struct::se.vruntime", "struct foo[2]::arr[3]", "enum pid_type::PIDTYPE_PID",
 * "struct task_struct" (type-based). With `offsets`, the low-level path and bit offset follow
 * as libbpf prints them: " (0:57 @ offset 2344)".
 */
export function formatSpec(spec: CoreSpec, offsets = false): string {
  const { btf } = spec;
  let s = typeHead(btf, spec.rootTypeId);
  if (coreReloIsTypeBased(spec.kind)) return s;
  if (coreReloIsEnumvalBased(spec.kind)) {
    const acc = spec.accessors[0];
    if (!acc) return s;
    s += `::${acc.name}`;
    if (offsets) {
      const t = btf.type(acc.typeId) as BtfEnum | BtfEnum64;
      s += ` = ${t.kind === BTF_KIND_ENUM ? t.values[acc.idx]!.value : t.values[acc.idx]!.value}`;
    }
    return s;
  }
  let first = true;
  spec.accessors.forEach((acc, i) => {
    if (acc.name !== undefined) {
      s += (first ? '::' : '.') + acc.name;
      first = false;
    } else if (i > 0 || acc.idx > 0) {
      s += `[${acc.idx}]`;
    }
  });
  if (offsets) {
    const bo = spec.bitOffset;
    s += ` (${spec.raw.join(':')} @ offset ${Math.floor(bo / 8)}${bo % 8 ? `.${bo % 8}` : ''})`;
  }
  return s;
}

/** "<spec> (<kind>)": the description used in logs, results and error messages. */
export function describeSpec(spec: CoreSpec): string {
  return `${formatSpec(spec)} (${CORE_RELO_KIND_DESC[spec.kind] ?? `kind ${spec.kind}`})`;
}

/** Describe a relocation record against the local BTF; falls back to the raw record if it does not parse. */
export function describeRelo(localBtf: Btf, relo: CoreRelo): string {
  try {
    return describeSpec(parseSpec(localBtf, relo));
  } catch {
    let head: string;
    try { head = typeHead(localBtf, relo.typeId); } catch { head = '?'; }
    return `[${relo.typeId}] ${head} + "${relo.accessStr}" (${CORE_RELO_KIND_DESC[relo.kind] ?? `kind ${relo.kind}`})`;
  }
}
