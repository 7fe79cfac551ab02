// bpf_core_calc_relo and bpf_core_calc_relo_insn: from a local spec and the
// matching target spec(s), the value the instruction holds (orig) and the value
// it must hold on the target (new), or a request to poison the instruction.
import { createLog } from '../util/log.ts';
import type { Btf } from '../btf/parse.ts';
import {
  BTF_KIND_ENUM, BTF_KIND_INT, BTF_KIND_NAMES, BTF_KIND_PTR, BTF_INT_SIGNED, type BtfEnum, type BtfEnum64,
} from '../btf/types.ts';
import { essentialName, isAnyEnum, resolveSize, skipModsAndTypedefs, typeHead } from './btf_util.ts';
import type { CoreCand } from './candidates.ts';
import { specMatch } from './match.ts';
import { formatSpec, parseSpec, type CoreSpec } from './spec.ts';
import {
  BPF_CORE_ENUMVAL_EXISTS, BPF_CORE_ENUMVAL_VALUE, BPF_CORE_FIELD_BYTE_OFFSET, BPF_CORE_FIELD_BYTE_SIZE,
  BPF_CORE_FIELD_EXISTS, BPF_CORE_FIELD_LSHIFT_U64, BPF_CORE_FIELD_RSHIFT_U64, BPF_CORE_FIELD_SIGNED,
  BPF_CORE_TYPE_EXISTS, BPF_CORE_TYPE_ID_LOCAL, BPF_CORE_TYPE_ID_TARGET, BPF_CORE_TYPE_MATCHES, BPF_CORE_TYPE_SIZE,
  CoreError, coreReloIsEnumvalBased, coreReloIsFieldBased, coreReloIsTypeBased, type CoreRelo,
} from './types.ts';

const detail = createLog('tsbpf:relo:detail');

/** struct bpf_core_relo_res */
export interface CoreReloRes {
  /** Expected value in the instruction (from the local BTF); u64 semantics. */
  origVal: bigint;
  /** Value to patch in (from the target BTF); u64 semantics. */
  newVal: bigint;
  poison: boolean;
  /** Why poisoned (for messages). */
  poisonReason?: string;
  /** Check the instruction holds origVal before patching. */
  validate: boolean;
  /** The field's size changed in a way a load/store cannot follow (LDX/ST/STX are poisoned then). */
  failMemszAdjust: boolean;
  origSz: number;
  newSz: number;
  origTypeId: number;
  newTypeId: number;
}

const u64 = (n: number | bigint): bigint => BigInt.asUintN(64, BigInt(n));

/** Raised by the calc helpers instead of libbpf's -EUCLEAN: the instruction must be poisoned. */
const POISON = Symbol('poison');

interface FieldVal { val: bigint; fieldSz: number; typeId: number; validate: boolean }

/** bpf_core_calc_field_relo: the field-based value of `spec` (null spec: the field does not exist). */
function calcFieldRelo(relo: CoreRelo, spec: CoreSpec | null): FieldVal | typeof POISON {
  const out: FieldVal = { val: 0n, fieldSz: 0, typeId: 0, validate: true };
  if (relo.kind === BPF_CORE_FIELD_EXISTS) {
    out.val = spec ? 1n : 0n;
    return out;
  }
  if (!spec) return POISON;
  const { btf } = spec;
  const acc = spec.accessors[spec.accessors.length - 1]!;

  // The access ends with an array index: a[n].
  if (acc.name === undefined) {
    if (relo.kind === BPF_CORE_FIELD_BYTE_OFFSET) {
      out.val = BigInt(Math.floor(spec.bitOffset / 8));
      out.fieldSz = resolveSize(btf, acc.typeId);
      out.typeId = acc.typeId;
    } else if (relo.kind === BPF_CORE_FIELD_BYTE_SIZE) {
      out.val = BigInt(resolveSize(btf, acc.typeId));
    } else {
      throw new CoreError('EINVAL', `a ${relo.kind === BPF_CORE_FIELD_SIGNED ? 'signedness' : 'bitfield shift'} relocation cannot be applied to an array element access`);
    }
    return out;
  }

  const fieldTypeId = skipModsAndTypedefs(btf, btf.memberType(acc.typeId, acc.idx));
  const bitOff = spec.bitOffset;
  let bitSz = btf.memberBitfieldSize(acc.typeId, acc.idx); // btf_member_bitfield_size: kind_flag encoding only
  const bitfield = bitSz > 0;
  let byteSz: number;
  let byteOff: number;
  if (bitfield) {
    // The smallest naturally aligned load (of at least the declared type's size) covering the bits.
    byteSz = btf.sizeOrTypeOf(fieldTypeId);
    // Only an integer (or enum) of 1 to 8 bytes can hold a bitfield: any other size would divide by 0 or never fit a load.
    const fk = btf.kindOf(fieldTypeId);
    if (!(fk === BTF_KIND_INT || isAnyEnum(fk)) || byteSz < 1 || byteSz > 8)
      throw new CoreError('EINVAL', `bitfield ${acc.name} has type [${fieldTypeId}] ${BTF_KIND_NAMES[fk] ?? fk} of ${byteSz} bytes, not an integer of 1 to 8 bytes`);
    byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    while (bitOff + bitSz - byteOff * 8 > byteSz * 8) {
      if (byteSz >= 8) throw new CoreError('E2BIG', `bitfield ${acc.name} (${bitSz} bits at bit ${bitOff}) cannot be read with one 64-bit load`);
      byteSz *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    }
  } else {
    byteSz = resolveSize(btf, fieldTypeId);
    byteOff = Math.floor(bitOff / 8);
    bitSz = byteSz * 8;
  }
  // The compiler and we may legitimately disagree on how to load a bitfield: only
  // the unambiguous values (signedness, right shift) are validated for bitfields.
  out.validate = !bitfield;

  switch (relo.kind) {
    case BPF_CORE_FIELD_BYTE_OFFSET:
      out.val = BigInt(byteOff);
      if (!bitfield) { out.fieldSz = byteSz; out.typeId = fieldTypeId; }
      break;
    case BPF_CORE_FIELD_BYTE_SIZE:
      out.val = BigInt(byteSz);
      break;
    case BPF_CORE_FIELD_SIGNED: {
      const k = btf.kindOf(fieldTypeId);
      const signed = (isAnyEnum(k) && btf.kindFlagOf(fieldTypeId))
        || (k === BTF_KIND_INT && ((btf.intInfo(fieldTypeId) >>> 24) & BTF_INT_SIGNED) !== 0);
      out.val = signed ? 1n : 0n;
      out.validate = true;
      break;
    }
    case BPF_CORE_FIELD_LSHIFT_U64:
      // Little-endian: shift the field's top bit up to bit 63.
      out.val = BigInt(64 - (bitOff + bitSz - byteOff * 8));
      break;
    case BPF_CORE_FIELD_RSHIFT_U64:
      out.val = BigInt(64 - bitSz);
      out.validate = true;
      break;
    default:
      throw new CoreError('EOPNOTSUPP', `unknown field relocation kind ${relo.kind}`);
  }
  return out;
}

/** bpf_core_calc_type_relo (null spec: the type does not exist -> 0, never poison). */
function calcTypeRelo(relo: CoreRelo, spec: CoreSpec | null): { val: bigint; validate: boolean } {
  if (!spec) return { val: 0n, validate: true };
  switch (relo.kind) {
    case BPF_CORE_TYPE_ID_TARGET:
      // Type ids move when objects are linked: the compiler's value is not checked.
      return { val: BigInt(spec.rootTypeId), validate: false };
    case BPF_CORE_TYPE_EXISTS: case BPF_CORE_TYPE_MATCHES:
      return { val: 1n, validate: true };
    case BPF_CORE_TYPE_SIZE:
      return { val: BigInt(resolveSize(spec.btf, spec.rootTypeId)), validate: true };
    default:
      throw new CoreError('EOPNOTSUPP', `unknown type relocation kind ${relo.kind}`);
  }
}

/** bpf_core_calc_enumval_relo. A 32-bit enumerator is sign-extended to 64 bits, as libbpf does. */
function calcEnumvalRelo(relo: CoreRelo, spec: CoreSpec | null): bigint | typeof POISON {
  switch (relo.kind) {
    case BPF_CORE_ENUMVAL_EXISTS:
      return spec ? 1n : 0n;
    case BPF_CORE_ENUMVAL_VALUE: {
      if (!spec) return POISON;
      const acc = spec.accessors[0]!;
      const t = spec.btf.type(acc.typeId) as BtfEnum | BtfEnum64;
      if (t.kind === BTF_KIND_ENUM) return u64(t.values[acc.idx]!.value | 0);
      return u64(t.values[acc.idx]!.value);
    }
    default:
      throw new CoreError('EOPNOTSUPP', `unknown enum value relocation kind ${relo.kind}`);
  }
}

/** bpf_core_calc_relo: values for one (local, target) pair; a null target means "no candidate matched". */
export function calcRelo(relo: CoreRelo, local: CoreSpec, targ: CoreSpec | null): CoreReloRes {
  const res: CoreReloRes = {
    origVal: 0n, newVal: 0n, poison: false, validate: true, failMemszAdjust: false,
    origSz: 0, newSz: 0, origTypeId: 0, newTypeId: 0,
  };
  if (coreReloIsFieldBased(relo.kind)) {
    const o = calcFieldRelo(relo, local);
    if (o === POISON) throw new CoreError('EINVAL', 'local spec did not resolve'); // cannot happen: local spec is never null
    res.origVal = o.val; res.origSz = o.fieldSz; res.origTypeId = o.typeId; res.validate = o.validate;
    const n = calcFieldRelo(relo, targ);
    if (n === POISON) {
      res.poison = true;
      res.poisonReason = 'no matching field in the target BTF';
      return res;
    }
    res.newVal = n.val; res.newSz = n.fieldSz; res.newTypeId = n.typeId;
    if (res.origSz !== res.newSz) {
      // A load/store may change width only for pointers (32-bit kernels) and unsigned
      // integers: zero extension keeps their value. Anything else would read garbage.
      const lb = local.btf;
      const tb = targ!.btf;
      const lk = lb.kindOf(res.origTypeId);
      const tk = tb.kindOf(res.newTypeId);
      const ok = (lk === BTF_KIND_PTR && tk === BTF_KIND_PTR)
        || (lk === BTF_KIND_INT && tk === BTF_KIND_INT
          && (lb.intInfo(res.origTypeId) >>> 24 & 0x0f) !== BTF_INT_SIGNED
          && (tb.intInfo(res.newTypeId) >>> 24 & 0x0f) !== BTF_INT_SIGNED);
      if (!ok) res.failMemszAdjust = true;
    }
  } else if (coreReloIsTypeBased(relo.kind)) {
    const o = calcTypeRelo(relo, local);
    res.origVal = o.val; res.validate = o.validate;
    res.newVal = calcTypeRelo(relo, targ).val;
  } else if (coreReloIsEnumvalBased(relo.kind)) {
    const o = calcEnumvalRelo(relo, local);
    if (o === POISON) throw new CoreError('EINVAL', 'local spec did not resolve');
    res.origVal = o;
    const n = calcEnumvalRelo(relo, targ);
    if (n === POISON) {
      res.poison = true;
      res.poisonReason = 'no matching enumerator in the target BTF';
    } else {
      res.newVal = n;
    }
  } else {
    throw new CoreError('EOPNOTSUPP', `unrecognized CO-RE relocation kind ${relo.kind}`);
  }
  return res;
}

/** The outcome of bpf_core_calc_relo_insn for one relocation. */
export interface CalcOutcome {
  local: CoreSpec;
  res: CoreReloRes;
  /** Matching candidates (target specs), in candidate order; empty if none matched. */
  matched: CoreSpec[];
}

/**
 * bpf_core_calc_relo_insn: parse the local spec, match it against every
 * candidate, and require all matching candidates to agree (same bit offset,
 * same decision, same value). `cands` is undefined only for TYPE_ID_LOCAL.
 */
export function calcReloInsn(relo: CoreRelo, localBtf: Btf, cands: readonly CoreCand[] | undefined, whereArg: string | (() => string), local = parseSpec(localBtf, relo)): CalcOutcome {
  // `where` names the relocation in debug logs; a function renders it only when they are enabled.
  const where = detail.enabled ? (typeof whereArg === 'string' ? whereArg : whereArg()) : '';
  if (detail.enabled) detail('%s: %s', where, formatSpec(local, true));

  // TYPE_ID_LOCAL needs no target: the local id, not validated (linking renumbers ids).
  if (relo.kind === BPF_CORE_TYPE_ID_LOCAL) {
    const id = BigInt(local.rootTypeId);
    return {
      local, matched: [],
      res: { origVal: id, newVal: id, poison: false, validate: false, failMemszAdjust: false, origSz: 0, newSz: 0, origTypeId: 0, newTypeId: 0 },
    };
  }
  if (localBtf.nameOf(relo.typeId) === '')
    throw new CoreError('EOPNOTSUPP', `relocations against anonymous types are not supported ([${relo.typeId}] ${typeHead(localBtf, relo.typeId)})`);

  let res: CoreReloRes | undefined;
  const matched: CoreSpec[] = [];
  for (let i = 0; i < (cands?.length ?? 0); i++) {
    const c = cands![i]!;
    const cand = specMatch(local, c.btf, c.id);
    if (!cand) {
      if (detail.enabled) detail('%s: candidate #%d [%d] %s does not match', where, i, c.id, typeHead(c.btf, c.id));
      continue;
    }
    if (detail.enabled) detail('%s: candidate #%d matches: [%d] %s', where, i, c.id, formatSpec(cand, true));
    const r = calcRelo(relo, local, cand);
    if (!res) {
      res = r;
    } else if (cand.bitOffset !== matched[0]!.bitOffset) {
      throw new CoreError('EINVAL', `ambiguous: candidates disagree on the field offset: ${describeCands([...matched, cand])}`);
    } else if (r.poison !== res.poison || r.newVal !== res.newVal) {
      throw new CoreError('EINVAL', `ambiguous: candidates disagree on the value (${res.poison ? 'poison' : res.newVal} vs ${r.poison ? 'poison' : r.newVal}): ${describeCands([...matched, cand])}`);
    }
    matched.push(cand);
  }
  if (!res) {
    detail('%s: no matching target', where);
    res = calcRelo(relo, local, null);
    if (res.poison && !cands?.length) res.poisonReason = `no ${typeHead(localBtf, relo.typeId).split(' ')[0]} named "${essentialName(localBtf.nameOf(relo.typeId))}" in the target BTF`;
  }
  return { local, res, matched };
}

function describeCands(specs: CoreSpec[]): string {
  return specs.map((s) => `[${s.rootTypeId}] ${formatSpec(s, true)}`).join(', ');
}
