// The CollectionSpec: everything an object file says, decoded and
// kernel-independent. Parsing produces it (parse.ts); loading (object.ts)
// turns it into live maps and programs. Nothing here holds a file descriptor.
// A spec is immutable: parsing copies the input bytes once and freezes the
// description (freezeSpec); loading works on copies of the instructions, the
// BTF and the data images (src/util/bytes.ts copyBytes), so one spec can be
// loaded any number of times and never changes the caller's bytes.
import type { Btf } from '../btf/index.ts';
import type { ElfFile } from '../elf/index.ts';
import type { MapSpec } from '../maps/index.ts';
import type { BpfAttachType, BpfProgType } from '../prog/types.ts';
import type { AttachTarget, SectionDef } from '../attach/sections.ts';
import type { StructOpsSpec } from './struct_ops.ts';

/** One relocation of a program's code (libbpf's `reloc_desc`), insnIdx relative to the program's first instruction. */
export type CodeReloc =
  /** bpf-to-bpf call to a function in .text; symOff = byte offset of the target symbol in .text. */
  | { kind: 'call'; insnIdx: number; symOff: number }
  /** ld_imm64 of a function's address (callbacks: BPF_PSEUDO_FUNC). */
  | { kind: 'subprog_addr'; insnIdx: number; symOff: number }
  /** ld_imm64 of a map (BTF-defined or legacy). */
  | { kind: 'map'; insnIdx: number; map: string }
  /** ld_imm64 of an address inside a global data section; symOff added to insn[0].imm. */
  | { kind: 'data'; insnIdx: number; map: string; symOff: number }
  /** ld_imm64 of an extern variable (.kconfig value, __ksym). */
  | { kind: 'extern'; insnIdx: number; extern: string }
  /** call of an extern function (kfunc). */
  | { kind: 'kfunc'; insnIdx: number; extern: string };

/** A function found in an executable section: a program, or a subprogram in .text. */
export interface FunctionSpec {
  name: string;
  sectionName: string;
  sectionIndex: number;
  /** Index of the function's first instruction inside its section. */
  secInsnOff: number;
  insnCount: number;
  /** The function's original instructions (a copy; never patched). */
  insns: Uint8Array;
  relocs: CodeReloc[];
  /** True for functions in .text (called, never loaded on their own). */
  isSubprog: boolean;
  /** STB_GLOBAL functions in .text are verified independently by the kernel (global subprograms). */
  isGlobal: boolean;
}

/** A program: a function in a program section, with what the section name says about it. */
export interface ObjectProgramSpec extends FunctionSpec {
  def: SectionDef;
  /** The section name's target part: "syscalls/sys_enter_write" for "tp/syscalls/sys_enter_write". */
  attachTarget: string;
  /** The section name parsed: what auto-attach attaches to. */
  target: AttachTarget;
  type: BpfProgType;
  expectedAttachType: BpfAttachType | 0;
  /** BPF_F_SLEEPABLE etc. implied by the section. */
  flags: number;
}

/** Where a map's definition came from. */
export type MapOrigin = 'btf' | 'legacy' | 'data' | 'kconfig' | 'struct_ops';

/** Initial slot values of a prog_array or map-in-map (`__array(values, ...)`). */
export interface MapSlotInit {
  slot: number;
  /** Name of the program (prog_array) or map (map-in-map) stored in the slot. */
  target: string;
}

export interface ObjectMapSpec {
  /** The name programs and users use: the map variable's name, or the section name for global data (".bss"). */
  name: string;
  /** The name given to the kernel (libbpf's: "<obj>.bss" for global data, truncated to 15 bytes). */
  kernelName: string;
  origin: MapOrigin;
  spec: MapSpec;
  /** BTF type ids of key and value in the object's BTF (0 when unknown). */
  btfKeyTypeId: number;
  btfValueTypeId: number;
  /** Template of the inner map for array_of_maps / hash_of_maps. */
  inner?: ObjectMapSpec;
  /** `__array(values, ...)` initial slots. */
  slots: MapSlotInit[];
  /** Pin by name under the pin root (LIBBPF_PIN_BY_NAME). */
  pinByName: boolean;
  /** Global data: the ELF section index and its initial bytes (zeros for .bss). */
  sectionIndex?: number;
  initial?: Uint8Array;
  /** Global data: .rodata and .kconfig are frozen after being filled, and read-only for programs. */
  readonly?: boolean;
  /** struct_ops maps: the struct, its bytes and the programs its members point at. */
  structOps?: StructOpsSpec;
}

/** A variable of a global data section, from the section's DATASEC. */
export interface GlobalVarSpec {
  name: string;
  /** The data map holding it (".rodata", ".bss", ".data.custom", ...). */
  map: string;
  offset: number;
  size: number;
  /** BTF type id of the variable's type. */
  typeId: number;
}

export type ExternKind = 'kconfig' | 'ksym' | 'kfunc';

export interface ExternSpec {
  name: string;
  kind: ExternKind;
  weak: boolean;
  /** BTF id of the VAR (or FUNC for kfuncs) in the object's BTF; 0 when the object has no BTF for it. */
  btfId: number;
  /** BTF id of the variable's type (resolved of modifiers for kconfig); for a typeless ksym, 0 / void. */
  typeId: number;
  /** .kconfig: byte offset of the value inside the kconfig map, and its size. */
  kconfigOffset?: number;
  kconfigSize?: number;
}

export interface CollectionSpec {
  /** Object name: the file's base name up to its first '.' (libbpf's obj->name). */
  name: string;
  elf: ElfFile;
  btf?: Btf;
  btfExt?: import('../btf/index.ts').BtfExt;
  license: string;
  kernVersion: number;
  programs: ObjectProgramSpec[];
  subprograms: FunctionSpec[];
  maps: ObjectMapSpec[];
  globals: GlobalVarSpec[];
  externs: ExternSpec[];
}

/**
 * Freeze the description: programs, subprograms, relocations, maps, globals
 * and externs become read-only objects (a write throws in strict mode). Byte
 * arrays cannot be frozen; the parser gives the spec its own copies and the
 * loader never writes into them. The ELF and BTF models are left as they are
 * (they keep lazy caches of their own).
 */
export function freezeSpec(spec: CollectionSpec): CollectionSpec {
  const deep = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || Object.isFrozen(v)) return;
    Object.freeze(v);
    for (const x of Object.values(v)) deep(x);
  };
  for (const f of [...spec.programs, ...spec.subprograms]) {
    deep(f.relocs);
    Object.freeze(f);
  }
  deep(spec.programs);
  deep(spec.subprograms);
  deep(spec.maps);
  deep(spec.globals);
  deep(spec.externs);
  return Object.freeze(spec);
}
