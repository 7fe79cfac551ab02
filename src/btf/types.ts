// The BTF type model: numeric kinds named as in <linux/btf.h> and one decoded
// shape per kind (a discriminated union on `kind`).

export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** sizeof(struct btf_header) as of version 1. */
export const BTF_HEADER_SIZE = 24;
/** sizeof(struct btf_type): name_off, info, size/type. */
export const BTF_TYPE_SIZE = 12;
export const BTF_MAX_VLEN = 0xffff;

export const BtfKind = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;
export type BtfKind = (typeof BtfKind)[keyof typeof BtfKind];

export const BTF_KIND_UNKN = BtfKind.UNKN;
export const BTF_KIND_INT = BtfKind.INT;
export const BTF_KIND_PTR = BtfKind.PTR;
export const BTF_KIND_ARRAY = BtfKind.ARRAY;
export const BTF_KIND_STRUCT = BtfKind.STRUCT;
export const BTF_KIND_UNION = BtfKind.UNION;
export const BTF_KIND_ENUM = BtfKind.ENUM;
export const BTF_KIND_FWD = BtfKind.FWD;
export const BTF_KIND_TYPEDEF = BtfKind.TYPEDEF;
export const BTF_KIND_VOLATILE = BtfKind.VOLATILE;
export const BTF_KIND_CONST = BtfKind.CONST;
export const BTF_KIND_RESTRICT = BtfKind.RESTRICT;
export const BTF_KIND_FUNC = BtfKind.FUNC;
export const BTF_KIND_FUNC_PROTO = BtfKind.FUNC_PROTO;
export const BTF_KIND_VAR = BtfKind.VAR;
export const BTF_KIND_DATASEC = BtfKind.DATASEC;
export const BTF_KIND_FLOAT = BtfKind.FLOAT;
export const BTF_KIND_DECL_TAG = BtfKind.DECL_TAG;
export const BTF_KIND_TYPE_TAG = BtfKind.TYPE_TAG;
export const BTF_KIND_ENUM64 = BtfKind.ENUM64;
export const NR_BTF_KINDS = 20;

/** Kind names as bpftool prints them. */
export const BTF_KIND_NAMES: readonly string[] = [
  'UNKNOWN', 'INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'VOLATILE',
  'CONST', 'RESTRICT', 'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG', 'TYPE_TAG', 'ENUM64',
];

// BTF_KIND_INT encoding bits (the extra u32 after an INT: encoding<<24 | offset<<16 | bits).
export const BTF_INT_SIGNED = 1 << 0;
export const BTF_INT_CHAR = 1 << 1;
export const BTF_INT_BOOL = 1 << 2;

// FUNC linkage (stored in the FUNC's vlen field).
export const BTF_FUNC_STATIC = 0;
export const BTF_FUNC_GLOBAL = 1;
export const BTF_FUNC_EXTERN = 2;

// VAR linkage (the extra u32 after a VAR).
export const BTF_VAR_STATIC = 0;
export const BTF_VAR_GLOBAL_ALLOCATED = 1;
export const BTF_VAR_GLOBAL_EXTERN = 2;

/** Number of 32-bit words a type occupies, including its 3-word btf_type header. -1 for an unknown kind. */
export function btfTypeWords(kind: number, vlen: number): number {
  switch (kind) {
    case BTF_KIND_INT: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG: return 4;
    case BTF_KIND_ARRAY: return 6;
    case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_DATASEC: case BTF_KIND_ENUM64: return 3 + 3 * vlen;
    case BTF_KIND_ENUM: case BTF_KIND_FUNC_PROTO: return 3 + 2 * vlen;
    case BTF_KIND_PTR: case BTF_KIND_FWD: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT: case BTF_KIND_FUNC: case BTF_KIND_FLOAT: case BTF_KIND_TYPE_TAG: return 3;
    default: return -1;
  }
}

// ---- decoded types -------------------------------------------------------
// `id` is the type id inside its Btf; `name` is '' for anonymous types.

interface Common { id: number; name: string }

export interface BtfInt extends Common {
  kind: typeof BTF_KIND_INT;
  /** Bytes of storage. */
  size: number;
  /** BTF_INT_SIGNED | BTF_INT_CHAR | BTF_INT_BOOL */
  encoding: number;
  /** Bit offset of the value inside its storage (BTF_INT_OFFSET; 0 in practice). */
  bitOffset: number;
  /** Number of value bits (BTF_INT_BITS). */
  bits: number;
}
export interface BtfPtr extends Common { kind: typeof BTF_KIND_PTR; type: number }
export interface BtfArray extends Common { kind: typeof BTF_KIND_ARRAY; type: number; indexType: number; nelems: number }

export interface BtfMember {
  name: string;
  type: number;
  /** Bit offset of the member from the start of the struct. */
  bitOffset: number;
  /** Bitfield width in bits when the struct's kind_flag is set; 0 means "not a bitfield" (or: ask the INT). */
  bitfieldSize: number;
}
export interface BtfComposite extends Common {
  kind: typeof BTF_KIND_STRUCT | typeof BTF_KIND_UNION;
  size: number;
  /** kind_flag: member offsets are encoded as bitfield_size << 24 | bit_offset. */
  kindFlag: boolean;
  members: BtfMember[];
}
export interface BtfStruct extends BtfComposite { kind: typeof BTF_KIND_STRUCT }
export interface BtfUnion extends BtfComposite { kind: typeof BTF_KIND_UNION }

export interface BtfEnumValue { name: string; value: number }
export interface BtfEnum extends Common {
  kind: typeof BTF_KIND_ENUM;
  size: number;
  /** kind_flag: values are signed (otherwise unsigned 32-bit). */
  signed: boolean;
  values: BtfEnumValue[];
}
export interface BtfEnum64Value { name: string; value: bigint }
export interface BtfEnum64 extends Common {
  kind: typeof BTF_KIND_ENUM64;
  size: number;
  signed: boolean;
  values: BtfEnum64Value[];
}
export interface BtfFwd extends Common {
  kind: typeof BTF_KIND_FWD;
  /** kind_flag: forward declaration of a union (otherwise of a struct). */
  union: boolean;
}
export interface BtfTypedef extends Common { kind: typeof BTF_KIND_TYPEDEF; type: number }
export interface BtfVolatile extends Common { kind: typeof BTF_KIND_VOLATILE; type: number }
export interface BtfConst extends Common { kind: typeof BTF_KIND_CONST; type: number }
export interface BtfRestrict extends Common { kind: typeof BTF_KIND_RESTRICT; type: number }
export interface BtfFunc extends Common {
  kind: typeof BTF_KIND_FUNC;
  /** The FUNC_PROTO. */
  type: number;
  /** BTF_FUNC_STATIC / BTF_FUNC_GLOBAL / BTF_FUNC_EXTERN (stored in vlen). */
  linkage: number;
}
export interface BtfParam { name: string; type: number }
export interface BtfFuncProto extends Common {
  kind: typeof BTF_KIND_FUNC_PROTO;
  /** Return type (0 = void). */
  type: number;
  /** A last param with name '' and type 0 means "...". */
  params: BtfParam[];
}
export interface BtfVar extends Common {
  kind: typeof BTF_KIND_VAR;
  type: number;
  /** BTF_VAR_STATIC / BTF_VAR_GLOBAL_ALLOCATED / BTF_VAR_GLOBAL_EXTERN */
  linkage: number;
}
/** struct btf_var_secinfo */
export interface BtfVarSecinfo { type: number; offset: number; size: number }
export interface BtfDatasec extends Common {
  kind: typeof BTF_KIND_DATASEC;
  size: number;
  vars: BtfVarSecinfo[];
}
export interface BtfFloat extends Common { kind: typeof BTF_KIND_FLOAT; size: number }
export interface BtfDeclTag extends Common {
  kind: typeof BTF_KIND_DECL_TAG;
  type: number;
  /** -1 tags the type/var/func itself; otherwise the member or parameter index. */
  componentIdx: number;
  /** kind_flag: the tag is an __attribute__ to emit verbatim (newer kernels). */
  kindFlag: boolean;
}
export interface BtfTypeTag extends Common {
  kind: typeof BTF_KIND_TYPE_TAG;
  type: number;
  kindFlag: boolean;
}

export type BtfType =
  | BtfInt | BtfPtr | BtfArray | BtfStruct | BtfUnion | BtfEnum | BtfFwd | BtfTypedef | BtfVolatile
  | BtfConst | BtfRestrict | BtfFunc | BtfFuncProto | BtfVar | BtfDatasec | BtfFloat | BtfDeclTag
  | BtfTypeTag | BtfEnum64;

/** A type description without its id, as given to the builder. */
export type BtfTypeInit = DistributiveOmit<BtfType, 'id'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Kinds whose third header word is a type id (not a size). */
export function kindHasTypeRef(kind: number): boolean {
  return kind === BTF_KIND_PTR || kind === BTF_KIND_TYPEDEF || kind === BTF_KIND_VOLATILE || kind === BTF_KIND_CONST
    || kind === BTF_KIND_RESTRICT || kind === BTF_KIND_FUNC || kind === BTF_KIND_FUNC_PROTO || kind === BTF_KIND_VAR
    || kind === BTF_KIND_DECL_TAG || kind === BTF_KIND_TYPE_TAG;
}
