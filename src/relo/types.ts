// The vocabulary of CO-RE relocation: the relocation record as found in
// .BTF.ext, the relocation kinds (enum bpf_core_relo_kind), the per-relocation
// result, and the error type.
import { TsbpfError } from '../errors.ts';

/** One `struct bpf_core_relo` record of a `.BTF.ext` core_relo subsection. */
export interface CoreRelo {
  /** Byte offset of the instruction to patch inside its ELF section. */
  insnOff: number;
  /** The local (object BTF) root type id. */
  typeId: number;
  /** Access string: "0:1:2" (array-of-root index, then member / array indexes), or an enumerator index. */
  accessStr: string;
  /** BpfCoreReloKind */
  kind: number;
}

/** enum bpf_core_relo_kind, with libbpf's names (src/uapi). */
export { BpfCoreReloKind } from '../uapi/kernel.ts';

// The kind numbers themselves are defined with the .BTF.ext format that carries them.
export {
  BPF_CORE_FIELD_BYTE_OFFSET, BPF_CORE_FIELD_BYTE_SIZE, BPF_CORE_FIELD_EXISTS, BPF_CORE_FIELD_SIGNED,
  BPF_CORE_FIELD_LSHIFT_U64, BPF_CORE_FIELD_RSHIFT_U64, BPF_CORE_TYPE_ID_LOCAL, BPF_CORE_TYPE_ID_TARGET,
  BPF_CORE_TYPE_EXISTS, BPF_CORE_TYPE_SIZE, BPF_CORE_ENUMVAL_EXISTS, BPF_CORE_ENUMVAL_VALUE, BPF_CORE_TYPE_MATCHES,
} from '../btf/ext.ts';
import {
  BPF_CORE_FIELD_BYTE_OFFSET, BPF_CORE_FIELD_RSHIFT_U64, BPF_CORE_TYPE_ID_LOCAL, BPF_CORE_TYPE_SIZE,
  BPF_CORE_ENUMVAL_EXISTS, BPF_CORE_ENUMVAL_VALUE, BPF_CORE_TYPE_MATCHES,
} from '../btf/ext.ts';

/** Human names of the kinds, as used in descriptions ("field byte offset"). */
export const CORE_RELO_KIND_DESC: readonly string[] = [
  'field byte offset', 'field byte size', 'field exists', 'field signed', 'field lshift u64', 'field rshift u64',
  'local type id', 'target type id', 'type exists', 'type size', 'enumval exists', 'enumval value', 'type matches',
];

/** libbpf's short names (core_relo_kind_str), for logs that mirror libbpf's. */
export const CORE_RELO_KIND_STR: readonly string[] = [
  'byte_off', 'byte_sz', 'field_exists', 'signed', 'lshift_u64', 'rshift_u64',
  'local_type_id', 'target_type_id', 'type_exists', 'type_size', 'enumval_exists', 'enumval_value', 'type_matches',
];

export function coreReloIsFieldBased(kind: number): boolean {
  return kind >= BPF_CORE_FIELD_BYTE_OFFSET && kind <= BPF_CORE_FIELD_RSHIFT_U64;
}
export function coreReloIsTypeBased(kind: number): boolean {
  return (kind >= BPF_CORE_TYPE_ID_LOCAL && kind <= BPF_CORE_TYPE_SIZE) || kind === BPF_CORE_TYPE_MATCHES;
}
export function coreReloIsEnumvalBased(kind: number): boolean {
  return kind === BPF_CORE_ENUMVAL_EXISTS || kind === BPF_CORE_ENUMVAL_VALUE;
}

/** What happened to one relocation. */
export interface CoreReloResult {
  relo: CoreRelo;
  /** Index of the record among the relocations passed in (libbpf's "relo #N"). */
  reloIdx: number;
  section: string;
  /** Instruction index inside the section (insnOff / 8). */
  insnIdx: number;
  /** Program owning the instruction, when the caller told us (progNameAt). */
  program: string | undefined;
  /** C-like: "struct task_struct::real_parent (field byte offset)". */
  description: string;
  /** The value the instruction held before patching (imm, off, or imm64); undefined when poisoned. */
  oldValue: bigint | undefined;
  /** The value computed from the local BTF (what the instruction was expected to hold). */
  localValue: bigint;
  /** The value patched in (u64 semantics, as libbpf); 0n when poisoned. */
  newValue: bigint;
  /** The instruction (two for ld_imm64) was replaced with a call to the invalid helper 0xbad2310. */
  poisoned: boolean;
  /** Why it was poisoned ("no matching kernel type", "field size change not allowed"...). */
  poisonReason: string | undefined;
  /** Target type ids of the candidates that matched (the first one is the one used). */
  targetTypeIds: number[];
  /** Memory access size change applied to LDX/ST/STX (bytes), when the field size changed. */
  memSize?: { from: number; to: number };
}

/** A CO-RE relocation that cannot be applied: the message names section, program, instruction and relocation. */
export class RelocationError extends TsbpfError {
  override readonly name = 'RelocationError';
  constructor(
    message: string,
    readonly details: {
      section?: string;
      program?: string;
      insnIdx?: number;
      reloIdx?: number;
      relo?: CoreRelo;
      description?: string;
      /** errno-like class of the failure, as libbpf would return it: EINVAL, E2BIG, ERANGE, EOPNOTSUPP. */
      code: string;
      /** The bare reason, without the location prefix. */
      reason: string;
    },
  ) {
    super(message);
  }
}

/** Thrown inside the engine; relocateCore() turns it into a RelocationError with the location. */
export class CoreError extends TsbpfError {
  constructor(override readonly code: 'EINVAL' | 'E2BIG' | 'ERANGE' | 'EOPNOTSUPP', message: string) {
    super(message);
  }
}
