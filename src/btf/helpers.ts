// Questions asked of a type graph: skip modifiers, sizeof/alignof, member
// lookup, C spelling of a type for error messages, CO-RE name flavors.
import { BtfError } from './errors.ts';
import type { Btf } from './parse.ts';
import {
  BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_ARRAY, BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_ENUM, BTF_KIND_FWD,
  BTF_KIND_TYPEDEF, BTF_KIND_VOLATILE, BTF_KIND_CONST, BTF_KIND_RESTRICT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO,
  BTF_KIND_VAR, BTF_KIND_DATASEC, BTF_KIND_FLOAT, BTF_KIND_DECL_TAG, BTF_KIND_TYPE_TAG, BTF_KIND_ENUM64,
  BTF_KIND_NAMES, type BtfMember, type BtfComposite,
} from './types.ts';

/** How many typedef/modifier/array hops we follow before declaring a cycle (libbpf uses 32). */
export const MAX_RESOLVE_DEPTH = 32;
/** Pointer size of BPF targets. */
export const BPF_PTR_SIZE = 8;

function isModifier(kind: number): boolean {
  return kind === BTF_KIND_VOLATILE || kind === BTF_KIND_CONST || kind === BTF_KIND_RESTRICT || kind === BTF_KIND_TYPE_TAG;
}

/** Follow const/volatile/restrict/type_tag (and typedefs unless `keepTypedefs`) to the underlying type id. */
export function skipModsAndTypedefs(btf: Btf, id: number, keepTypedefs = false): number {
  // Raw accessors only: no type is decoded, and an id past the end is a BtfError from kindOf.
  for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
    if (id === 0) return 0;
    const kind = btf.kindOf(id);
    if (!(isModifier(kind) || (!keepTypedefs && kind === BTF_KIND_TYPEDEF))) return id;
    id = btf.sizeOrTypeOf(id);
  }
  throw new BtfError(`${btf.name}: type chain from [${id}] is longer than ${MAX_RESOLVE_DEPTH} (a typedef/modifier cycle?)`);
}

/** The underlying type id with typedefs and modifiers skipped (libbpf's skip_mods_and_typedefs). */
export function resolveType(btf: Btf, id: number): number {
  return skipModsAndTypedefs(btf, id);
}

/** sizeof(type) in bytes, like btf__resolve_size. Throws BtfError for void, FWD, FUNC or cycles. */
export function sizeof(btf: Btf, id: number): number {
  const start = id;
  let nelems = 1;
  for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
    const kind = btf.kindOf(id);
    switch (kind) {
      case BTF_KIND_INT: case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_ENUM: case BTF_KIND_ENUM64:
      case BTF_KIND_DATASEC: case BTF_KIND_FLOAT:
        return checkSize(btf, start, nelems * btf.sizeOrTypeOf(id));
      case BTF_KIND_PTR:
        return checkSize(btf, start, nelems * BPF_PTR_SIZE);
      case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG:
        id = btf.sizeOrTypeOf(id);
        break;
      case BTF_KIND_ARRAY:
        nelems *= btf.arrayNelems(id);
        if (nelems > 0xffffffff) throw new BtfError(`${btf.name}: array size of [${start}] overflows 32 bits`, undefined, 'E2BIG');
        id = btf.arrayType(id);
        break;
      default:
        throw new BtfError(`${btf.name}: cannot take the size of ${id === 0 ? 'void' : `[${id}] ${BTF_KIND_NAMES[kind] ?? kind} ${typeToC(btf, id)}`}`);
    }
  }
  throw new BtfError(`${btf.name}: size of [${start}] needs more than ${MAX_RESOLVE_DEPTH} hops (a cycle?)`);
}

function checkSize(btf: Btf, id: number, size: number): number {
  if (size > 0xffffffff) throw new BtfError(`${btf.name}: size of [${id}] overflows 32 bits`, undefined, 'E2BIG');
  return size;
}

/** alignof(type) in bytes, like btf__align_of (1 for packed structs). */
export function alignof(btf: Btf, id: number): number {
  // Memoized per call: structs whose members share a nested struct would otherwise be walked once per path.
  return alignIn(btf, id, 0, new Map());
}

function alignIn(btf: Btf, id: number, depth: number, memo: Map<number, number>): number {
  if (depth > MAX_RESOLVE_DEPTH) throw new BtfError(`${btf.name}: alignment of [${id}] needs more than ${MAX_RESOLVE_DEPTH} hops (a cycle?)`);
  const known = memo.get(id);
  if (known !== undefined) return known;
  const kind = btf.kindOf(id);
  let align: number;
  switch (kind) {
    case BTF_KIND_INT: case BTF_KIND_ENUM: case BTF_KIND_ENUM64: case BTF_KIND_FLOAT:
      align = Math.min(BPF_PTR_SIZE, btf.sizeOrTypeOf(id));
      break;
    case BTF_KIND_PTR:
      align = BPF_PTR_SIZE;
      break;
    case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG:
      align = alignIn(btf, btf.sizeOrTypeOf(id), depth + 1, memo);
      break;
    case BTF_KIND_ARRAY:
      align = alignIn(btf, btf.arrayType(id), depth + 1, memo);
      break;
    case BTF_KIND_STRUCT: case BTF_KIND_UNION:
      align = compositeAlign(btf, id, depth, memo);
      break;
    default:
      throw new BtfError(`${btf.name}: cannot take the alignment of ${id === 0 ? 'void' : `[${id}] ${BTF_KIND_NAMES[kind] ?? kind}`}`);
  }
  // A zero-sized INT/ENUM/FLOAT (malformed) would make every offset "misaligned" by a modulo of 0.
  if (align < 1) throw new BtfError(`${btf.name}: [${id}] ${BTF_KIND_NAMES[kind] ?? kind} has size 0, so no alignment`);
  memo.set(id, align);
  return align;
}

function compositeAlign(btf: Btf, id: number, depth: number, memo: Map<number, number>): number {
  const t = btf.type(id) as BtfComposite;
  let max = 1;
  for (const m of t.members) {
    const a = alignIn(btf, m.type, depth + 1, memo);
    // A member placed off its natural alignment means the struct is packed.
    if (m.bitfieldSize === 0 && !isBitfieldInt(btf, m.type) && m.bitOffset % (8 * a) !== 0) return 1;
    max = Math.max(max, a);
  }
  return t.size % max === 0 ? max : 1;
}

/** An INT whose bits do not fill its storage: the old (kind_flag = 0) way of spelling a bitfield. */
function isBitfieldInt(btf: Btf, id: number): boolean {
  const r = skipModsAndTypedefs(btf, id);
  if (btf.kindOf(r) !== BTF_KIND_INT) return false;
  const t = btf.type(r);
  return t.kind === BTF_KIND_INT && t.bits !== t.size * 8;
}

/** A member found by name, possibly inside anonymous struct/union members. */
export interface MemberLookup {
  member: BtfMember;
  /** Bit offset from the start of the outer struct. */
  bitOffset: number;
  /** Member indexes from the outer struct down to the member (anonymous levels included): a CO-RE access path. */
  path: number[];
}

/** Find member `name` of struct/union `id` (typedefs/modifiers skipped), looking through anonymous members. */
export function findMember(btf: Btf, id: number, name: string): MemberLookup | undefined {
  return findMemberIn(btf, skipModsAndTypedefs(btf, id), name, 0, [], 0, new Set());
}

/** `searched`: composites already searched in vain (a member type shared by many anonymous members is searched once). */
function findMemberIn(btf: Btf, id: number, name: string, base: number, path: number[], depth: number, searched: Set<number>): MemberLookup | undefined {
  if (depth > MAX_RESOLVE_DEPTH) throw new BtfError(`${btf.name}: anonymous members nest deeper than ${MAX_RESOLVE_DEPTH}`);
  const kind = btf.kindOf(id);
  if (kind !== BTF_KIND_STRUCT && kind !== BTF_KIND_UNION) return undefined;
  if (searched.has(id)) return undefined;
  const t = btf.type(id) as BtfComposite;
  for (let i = 0; i < t.members.length; i++) {
    const m = t.members[i]!;
    if (m.name === name) return { member: m, bitOffset: base + m.bitOffset, path: [...path, i] };
    if (m.name === '') {
      const inner = findMemberIn(btf, skipModsAndTypedefs(btf, m.type), name, base + m.bitOffset, [...path, i], depth + 1, searched);
      if (inner) return inner;
    }
  }
  searched.add(id);
  return undefined;
}

/** Bitfield size of a member: from the struct's kind_flag encoding, else from an INT narrower than its storage (0 = not a bitfield). */
export function memberBitfieldSize(btf: Btf, m: BtfMember): number {
  if (m.bitfieldSize) return m.bitfieldSize;
  const r = skipModsAndTypedefs(btf, m.type);
  if (btf.kindOf(r) !== BTF_KIND_INT) return 0;
  const t = btf.type(r);
  return t.kind === BTF_KIND_INT && t.bits !== t.size * 8 ? t.bits : 0;
}

/**
 * libbpf's bpf_core_essential_name_len: length of the name without its last
 * `___flavor` suffix. The separator is exactly three underscores between two
 * characters that are not underscores ("task_struct___old" -> 11; "___GFP_IO"
 * and "a____b" have none). Most names hold no "___" at all, so a native
 * lastIndexOf answers them without a JS loop over their characters.
 */
export function essentialNameLen(name: string): number {
  for (let p = name.lastIndexOf('___', name.length - 4); p > 0; p = name.lastIndexOf('___', p - 1))
    if (name.charCodeAt(p - 1) !== 0x5f && name.charCodeAt(p + 3) !== 0x5f) return p;
  return name.length;
}

/** The CO-RE "essential" name: a `___flavor` suffix is dropped (task_struct___v1 -> task_struct). */
export function essentialName(name: string): string {
  const n = essentialNameLen(name);
  return n === name.length ? name : name.slice(0, n);
}

/**
 * How much typeToC writes at most. A type graph may be a DAG (or, malformed,
 * a cycle) whose C spelling grows exponentially with its depth: a function
 * prototype whose parameters point back at it doubles at every level. The
 * walk is bounded by a number of visited types, and its text by a length;
 * past either the rest is spelled "...".
 */
export const TYPE_TO_C_MAX_VISITS = 256;
export const TYPE_TO_C_MAX_LENGTH = 512;

/** A type written in C syntax for error messages: "struct task_struct *", "int [16]", "int (*)(void *, ...)". */
export function typeToC(btf: Btf, id: number, declName = ''): string {
  try {
    const out = declare(btf, id, clip(declName), 0, { visits: TYPE_TO_C_MAX_VISITS }).trim();
    return out.length > TYPE_TO_C_MAX_LENGTH ? `${out.slice(0, TYPE_TO_C_MAX_LENGTH)}...` : out;
  } catch (e) {
    if (e instanceof BtfError) return `<bad type ${id}: ${e.message}>`;
    throw e;
  }
}

/** A name or partial declaration cut to the output bound. */
function clip(s: string): string {
  return s.length > TYPE_TO_C_MAX_LENGTH ? `${s.slice(0, TYPE_TO_C_MAX_LENGTH)}...` : s;
}

function named(prefix: string, name: string): string {
  return name ? `${prefix} ${name}` : `${prefix} (anon)`;
}

function join(base: string, inner: string): string {
  if (!inner) return base;
  return inner.startsWith('[') ? `${base}${inner}` : `${base} ${inner}`;
}

/** The C declaration of a `declName` of type `id` (inside-out, as C declarators are read). */
function declare(btf: Btf, id: number, inner: string, depth: number, budget: { visits: number }): string {
  inner = clip(inner);
  if (depth > MAX_RESOLVE_DEPTH || --budget.visits < 0) return join('...', inner);
  if (id === 0) return join('void', inner);
  const kind = btf.kindOf(id);
  const name = clip(btf.nameOf(id));
  switch (kind) {
    case BTF_KIND_INT: case BTF_KIND_FLOAT: case BTF_KIND_TYPEDEF:
      return join(name, inner);
    case BTF_KIND_STRUCT: return join(named('struct', name), inner);
    case BTF_KIND_UNION: return join(named('union', name), inner);
    case BTF_KIND_ENUM: case BTF_KIND_ENUM64: return join(named('enum', name), inner);
    case BTF_KIND_FWD: return join(named(btf.kindFlagOf(id) ? 'union' : 'struct', name), inner);
    case BTF_KIND_PTR: {
      const target = btf.sizeOrTypeOf(id);
      // Pointers to arrays and functions need parentheses: "int (*)[4]", "void (*)(int)".
      const wrap = btf.kindOf(target) === BTF_KIND_ARRAY || btf.kindOf(target) === BTF_KIND_FUNC_PROTO;
      return declare(btf, target, wrap ? `(*${inner})` : `*${inner}`, depth + 1, budget);
    }
    case BTF_KIND_CONST: case BTF_KIND_VOLATILE: case BTF_KIND_RESTRICT: {
      const q = kind === BTF_KIND_CONST ? 'const' : kind === BTF_KIND_VOLATILE ? 'volatile' : 'restrict';
      const target = btf.sizeOrTypeOf(id);
      // A qualified pointer is written after the star: "char *const p".
      if (target !== 0 && btf.kindOf(target) === BTF_KIND_PTR) return declare(btf, target, inner ? `${q} ${inner}` : q, depth + 1, budget);
      return `${q} ${declare(btf, target, inner, depth + 1, budget)}`;
    }
    case BTF_KIND_TYPE_TAG:
      return `__attribute__((btf_type_tag("${name}"))) ${declare(btf, btf.sizeOrTypeOf(id), inner, depth + 1, budget)}`;
    case BTF_KIND_ARRAY: {
      const a = btf.type(id) as { type: number; nelems: number };
      return declare(btf, a.type, `${inner}[${a.nelems}]`, depth + 1, budget);
    }
    case BTF_KIND_FUNC_PROTO: {
      const p = btf.type(id) as { type: number; params: { name: string; type: number }[] };
      const parts: string[] = [];
      for (const a of p.params) {
        if (budget.visits <= 0) { parts.push('...'); break; }
        parts.push(a.type === 0 && a.name === '' ? '...' : declare(btf, a.type, a.name, depth + 1, budget).trim());
      }
      const params = parts.length === 0 ? 'void' : parts.join(', ');
      return declare(btf, p.type, `${inner}(${params})`, depth + 1, budget);
    }
    case BTF_KIND_FUNC:
      return declare(btf, btf.sizeOrTypeOf(id), inner || name, depth + 1, budget);
    case BTF_KIND_VAR:
      return declare(btf, btf.sizeOrTypeOf(id), inner || name, depth + 1, budget);
    case BTF_KIND_DATASEC:
      return `SEC("${name}")`;
    case BTF_KIND_DECL_TAG:
      return `__attribute__((btf_decl_tag("${name}")))`;
    default:
      return join(`<kind ${kind}>`, inner);
  }
}
