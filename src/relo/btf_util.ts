// The few BTF questions CO-RE asks, answered exactly as libbpf answers them
// (skip_mods_and_typedefs, btf__resolve_size, bpf_core_essential_name_len...).
// Raw accessors (kindOf, sizeOrTypeOf) are used so hot paths decode nothing.
import type { Btf } from '../btf/parse.ts';
import {
  BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_ENUM, BTF_KIND_ENUM64,
  BTF_KIND_TYPEDEF, BTF_KIND_VOLATILE, BTF_KIND_CONST, BTF_KIND_RESTRICT, BTF_KIND_TYPE_TAG,
  BTF_KIND_FLOAT, BTF_KIND_FWD, BTF_KIND_NAMES,
} from '../btf/types.ts';
import { CoreError } from './types.ts';

/** libbpf's MAX_RESOLVE_DEPTH / the "depth = 32" of its recursive walks. */
export { MAX_RESOLVE_DEPTH } from '../btf/helpers.ts';
import { MAX_RESOLVE_DEPTH } from '../btf/helpers.ts';

// The flavor rules live with the other BTF helpers; CO-RE re-exports them.
import { essentialName, essentialNameLen, sizeof, skipModsAndTypedefs as skipMods } from '../btf/helpers.ts';
import { BtfError } from '../btf/errors.ts';
export { essentialName, essentialNameLen };

/** Both names equal once their flavors are dropped. */
export function essentialNamesEqual(a: string, b: string): boolean {
  const n = essentialNameLen(a);
  return n === essentialNameLen(b) && (n === a.length && n === b.length ? a === b : a.slice(0, n) === b.slice(0, n));
}

export function isModKind(kind: number): boolean {
  return kind === BTF_KIND_VOLATILE || kind === BTF_KIND_CONST || kind === BTF_KIND_RESTRICT || kind === BTF_KIND_TYPE_TAG;
}
export function isComposite(kind: number): boolean {
  return kind === BTF_KIND_STRUCT || kind === BTF_KIND_UNION;
}
export function isAnyEnum(kind: number): boolean {
  return kind === BTF_KIND_ENUM || kind === BTF_KIND_ENUM64;
}
/** btf_kind_core_compat: same kind, or ENUM vs ENUM64. */
export function kindCoreCompat(k1: number, k2: number): boolean {
  return k1 === k2 || (isAnyEnum(k1) && isAnyEnum(k2));
}

// skip_mods_and_typedefs and btf__resolve_size are the BTF helpers' (one
// implementation); CO-RE only reclassifies their BtfError as the CoreError
// libbpf's relocation code would return (EINVAL, or E2BIG for overflowing sizes).
function asCoreError<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof BtfError) throw new CoreError(e.errnoClass, e.message);
    throw e;
  }
}

/** skip_mods_and_typedefs: the id under const/volatile/restrict/type_tag/typedef (0 = void). */
export function skipModsAndTypedefs(btf: Btf, id: number): number {
  return asCoreError(() => skipMods(btf, id));
}

/** btf__resolve_size: sizeof the type in bytes; CoreError(EINVAL) for void, FWD, FUNC...; E2BIG on overflow. */
export function resolveSize(btf: Btf, id: number): number {
  return asCoreError(() => sizeof(btf, id));
}

/** "struct task_struct", "enum pid_type", "typedef u32", "int": a type's head in C spelling. */
export function typeHead(btf: Btf, id: number, depth = 0): string {
  if (id === 0) return 'void';
  // A pointer to itself (malformed BTF) must not recurse forever.
  if (depth > MAX_RESOLVE_DEPTH) return '...';
  const k = btf.kindOf(id);
  const name = btf.nameOf(id) || '<anon>';
  switch (k) {
    case BTF_KIND_STRUCT: return `struct ${name}`;
    case BTF_KIND_UNION: return `union ${name}`;
    case BTF_KIND_ENUM: case BTF_KIND_ENUM64: return `enum ${name}`;
    case BTF_KIND_FWD: return `${btf.kindFlagOf(id) ? 'union' : 'struct'} ${name}`;
    case BTF_KIND_TYPEDEF: return `typedef ${name}`;
    case BTF_KIND_INT: case BTF_KIND_FLOAT: return name;
    case BTF_KIND_PTR: return `${typeHead(btf, btf.sizeOrTypeOf(id), depth + 1)} *`;
    default: return `${(BTF_KIND_NAMES[k] ?? String(k)).toLowerCase()} ${name}`;
  }
}
