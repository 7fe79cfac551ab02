// bpf_core_spec_match: replay the local spec on one candidate target type and,
// if every step has a counterpart (same member names, in-bounds array indexes,
// compatible field types), produce the target spec with its bit offset.
import type { Btf } from '../btf/parse.ts';
import { BTF_KIND_ARRAY, type BtfArray, type BtfEnum, type BtfEnum64 } from '../btf/types.ts';
import { essentialName, essentialNameLen, isAnyEnum, isComposite, resolveSize, skipModsAndTypedefs } from './btf_util.ts';
import { fieldsAreCompat, typesAreCompat, typesMatch } from './compat.ts';
import { BPF_CORE_SPEC_MAX_LEN, emptySpec, isFlexArr, type CoreAccessor, type CoreSpec } from './spec.ts';
import {
  BPF_CORE_TYPE_MATCHES, CoreError, coreReloIsEnumvalBased, coreReloIsFieldBased, coreReloIsTypeBased,
} from './types.ts';

/** A struct/union's members by name: the first member of each name, and the anonymous ones, in member order. */
interface MemberIndex {
  byName: Map<string, number>;
  anon: number[];
  /** The members' raw words (see Btf.memberWords): name offset, type, offset word. */
  words: Uint32Array;
  /** kind_flag: offset words pack bitfield_size << 24 | bit_offset. */
  kflag: boolean;
}

/**
 * Per BTF and composite id (built on first use: a relocation set reads the same
 * few structs many times). Built from the raw member words, decoding only the
 * names: a kernel struct has hundreds of members and a relocation reads one.
 */
const memberIndexes = new WeakMap<Btf, Map<number, MemberIndex>>();

function memberIndexOf(btf: Btf, id: number): MemberIndex {
  let perBtf = memberIndexes.get(btf);
  if (!perBtf) memberIndexes.set(btf, (perBtf = new Map()));
  let idx = perBtf.get(id);
  if (!idx) {
    const words = btf.memberWords(id);
    idx = { byName: new Map(), anon: [], words, kflag: btf.kindFlagOf(id) };
    for (let i = 0, p = 0; p < words.length; i++, p += 3) {
      const nameOff = words[p]!;
      if (nameOff === 0) { idx.anon.push(i); continue; }
      const name = btf.str(nameOff);
      if (!idx.byName.has(name)) idx.byName.set(name, i);
    }
    perBtf.set(id, idx);
  }
  return idx;
}

/** How many structs/unions one member search may enter (real kernel structs need a handful). */
const MATCH_MEMBER_MAX_VISITS = 10_000;

function checkDepth(spec: CoreSpec): void {
  if (spec.raw.length === BPF_CORE_SPEC_MAX_LEN) throw new CoreError('E2BIG', `access path is deeper than ${BPF_CORE_SPEC_MAX_LEN}`);
}

/**
 * bpf_core_match_member: find the local accessor's member by name in target
 * struct/union `targId`, descending into anonymous members. Extends the target
 * spec (raw path, bit offset, accessor) as it goes and undoes speculative steps.
 * Returns the member's type id, or 0 when there is no compatible member.
 *
 * libbpf walks the members in order: an anonymous member is searched
 * recursively; the first member named like the local one ends the walk,
 * matched if the field types are compatible, failed otherwise (and then its
 * index stays on the raw path: a failed search inside an anonymous member can
 * leave steps behind, which the walk of the enclosing struct keeps). Members
 * with another name are pushed and popped again, leaving no trace. So only
 * the anonymous members before the first same-named one, then that member,
 * need visiting: the member index finds them without comparing every name.
 */
function matchMember(localBtf: Btf, localAcc: CoreAccessor, targBtf: Btf, targId: number, spec: CoreSpec, budget: { visits: number }): number {
  // Anonymous members sharing a nested type form a DAG walked once per path: bound the walk.
  if (--budget.visits < 0) throw new CoreError('E2BIG', `searching anonymous members for "${localAcc.name}" visits more than ${MATCH_MEMBER_MAX_VISITS} structs`);
  targId = skipModsAndTypedefs(targBtf, targId);
  if (!isComposite(targBtf.kindOf(targId))) return 0;
  const { byName, anon, words, kflag } = memberIndexOf(targBtf, targId);
  const count = words.length / 3;
  if (count === 0) return 0;
  const named = byName.get(localAcc.name!) ?? -1;
  // libbpf checks the depth at every member it looks at; the path changes only after an anonymous member.
  const last = named >= 0 ? named : count - 1;
  checkDepth(spec);
  for (const i of anon) {
    if (i > last) break;
    const bitOffset = kflag ? words[3 * i + 2]! & 0xffffff : words[3 * i + 2]!;
    // Speculate that the member is inside this anonymous struct/union.
    spec.bitOffset += bitOffset;
    spec.raw.push(i);
    const found = matchMember(localBtf, localAcc, targBtf, words[3 * i + 1]!, spec, budget);
    if (found) return found;
    spec.bitOffset -= bitOffset;
    spec.raw.pop();
    if (i < last) checkDepth(spec);
  }
  if (named < 0) return 0;
  const type = words[3 * named + 1]!;
  spec.bitOffset += kflag ? words[3 * named + 2]! & 0xffffff : words[3 * named + 2]!;
  spec.raw.push(named);
  spec.accessors.push({ typeId: targId, idx: named, name: localAcc.name });
  if (fieldsAreCompat(localBtf, localBtf.memberType(localAcc.typeId, localAcc.idx), targBtf, type)) return type || -1;
  spec.accessors.pop();
  // libbpf stops at the first same-named member, compatible or not (the raw path keeps it).
  return 0;
}

/** Match `local` against candidate `targId`: the target spec, or null if the candidate does not fit. */
export function specMatch(local: CoreSpec, targBtf: Btf, targId: number): CoreSpec | null {
  const targ = emptySpec(targBtf, targId, local.kind);

  if (coreReloIsTypeBased(local.kind)) {
    const ok = local.kind === BPF_CORE_TYPE_MATCHES
      ? typesMatch(local.btf, local.rootTypeId, targBtf, targId)
      : typesAreCompat(local.btf, local.rootTypeId, targBtf, targId);
    return ok ? targ : null;
  }

  if (coreReloIsEnumvalBased(local.kind)) {
    const id = skipModsAndTypedefs(targBtf, targId);
    if (!isAnyEnum(targBtf.kindOf(id))) return null;
    const essent = essentialName(local.accessors[0]!.name!);
    const e = targBtf.type(id) as BtfEnum | BtfEnum64;
    for (let i = 0; i < e.values.length; i++) {
      const name = e.values[i]!.name;
      // startsWith rejects almost every enumerator natively; the flavor check runs only on a prefix match.
      if (!name.startsWith(essent) || essentialNameLen(name) !== essent.length) continue;
      targ.accessors.push({ typeId: id, idx: i, name });
      targ.raw.push(i);
      return targ;
    }
    return null;
  }

  if (!coreReloIsFieldBased(local.kind)) throw new CoreError('EOPNOTSUPP', `unknown relocation kind ${local.kind}`);

  let id = targId;
  for (let i = 0; i < local.accessors.length; i++) {
    const acc = local.accessors[i]!;
    id = skipModsAndTypedefs(targBtf, id);
    if (acc.name !== undefined) {
      const next = matchMember(local.btf, acc, targBtf, id, targ, { visits: MATCH_MEMBER_MAX_VISITS });
      if (next === 0) return null;
      id = next === -1 ? 0 : next;
      continue;
    }
    // Array step. For i = 0 the root itself plays the element type.
    if (i > 0) {
      if (targBtf.kindOf(id) !== BTF_KIND_ARRAY) return null;
      const a = targBtf.type(id) as BtfArray;
      const flex = isFlexArr(targBtf, targ.accessors[targ.accessors.length - 1], a.nelems);
      if (!flex && acc.idx >= a.nelems) return null;
      id = skipModsAndTypedefs(targBtf, a.type);
    }
    if (targ.raw.length === BPF_CORE_SPEC_MAX_LEN) throw new CoreError('E2BIG', `access path is deeper than ${BPF_CORE_SPEC_MAX_LEN}`);
    targ.accessors.push({ typeId: id, idx: acc.idx, name: undefined });
    targ.raw.push(acc.idx);
    targ.bitOffset += acc.idx * resolveSize(targBtf, id) * 8;
  }
  return targ;
}
