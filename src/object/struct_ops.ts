// struct_ops: `.struct_ops` / `.struct_ops.link` sections hold kernel
// structures of function pointers (tcp_congestion_ops, ...) whose members
// point at programs in `struct_ops/` sections. Each variable of such a
// section becomes a BPF_MAP_TYPE_STRUCT_OPS map, as libbpf does it:
//
//  - parse (pure): the variable's local struct type and bytes, and which
//    program each function-pointer member points at (the section's
//    relocations);
//  - resolve against the kernel's BTF: the kernel struct of the same name, the
//    map value type `bpf_struct_ops_<name>` (a common header, then the struct
//    as member `data`), and for every local member the kernel member of the
//    same name: its index (a program's expected_attach_type) and offset;
//  - build the value once the programs are loaded: data members copied, each
//    function pointer replaced by its program's fd. Writing that value with
//    BPF_MAP_UPDATE_ELEM registers the structure (src/attach/struct_ops.ts).
import { BTF_KIND_DATASEC, BTF_KIND_FUNC_PROTO, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_VAR, sizeof, skipModsAndTypedefs, type Btf, type BtfComposite, type BtfDatasec } from '../btf/index.ts';
import { STT_OBJECT, type ElfFile } from '../elf/index.ts';
import { MapType } from '../maps/index.ts';
// BPF_F_LINK on a struct_ops map: registered through a BPF link (`.struct_ops.link`, Linux 6.4+)
import { BPF_F_LINK } from '../maps/types.ts';
import { BpfProgType } from '../prog/types.ts';
import { copyBytes } from '../util/bytes.ts';
import { ObjectError } from './errors.ts';
import type { ObjectMapSpec, ObjectProgramSpec } from './spec.ts';


/** `.struct_ops`, `.struct_ops.link`, and their `?`-prefixed (not auto-created) forms. */
export function isStructOpsSection(name: string): boolean {
  const n = name.startsWith('?') ? name.slice(1) : name;
  return n === '.struct_ops' || n === '.struct_ops.link' || n.startsWith('.struct_ops.');
}

/** One struct_ops variable of the object, before any kernel is consulted. */
export interface StructOpsSpec {
  /** The ELF section (".struct_ops" or ".struct_ops.link"). */
  section: string;
  /** Registered through a BPF link (`.struct_ops.link`). */
  link: boolean;
  /** The struct's name, e.g. "tcp_congestion_ops". */
  typeName: string;
  /** The struct's id in the object's BTF. */
  localTypeId: number;
  /** The variable's bytes, in the local struct's layout. */
  data: Uint8Array;
  /** Function-pointer member name -> the program it points at. */
  programs: ReadonlyMap<string, string>;
}

/** Parse every struct_ops variable of an object into its map spec. */
export function parseStructOps(elf: ElfFile, btf: Btf | undefined, programs: readonly ObjectProgramSpec[], objName: string): ObjectMapSpec[] {
  const out: ObjectMapSpec[] = [];
  for (const sec of elf.sections) {
    if (!isStructOpsSection(sec.name)) continue;
    const fail = (msg: string): never => {
      throw new ObjectError(objName, `section ${sec.name}: ${msg}`);
    };
    if (!btf) fail('struct_ops needs BTF (build with -g)');
    const datasecId = btf!.findByNameKind(sec.name, BTF_KIND_DATASEC);
    if (datasecId <= 0) fail(`no DATASEC "${sec.name}" in the object's BTF`);
    const syms = elf.symbolsIn(sec.index).filter((s) => s.type === STT_OBJECT && s.name !== '');
    const vars: { name: string; offset: number; size: number; typeId: number; programs: Map<string, string>; members: BtfComposite }[] = [];
    for (const v of (btf!.type(datasecId) as BtfDatasec).vars) {
      if (btf!.kindOf(v.type) !== BTF_KIND_VAR) continue;
      const name = btf!.nameOf(v.type);
      const typeId = skipModsAndTypedefs(btf!, (btf!.type(v.type) as { type: number }).type);
      if (btf!.kindOf(typeId) !== BTF_KIND_STRUCT) fail(`variable "${name}" is not a struct (a struct_ops variable is a kernel struct such as tcp_congestion_ops)`);
      const sym = syms.find((s) => s.name === name);
      const offset = sym ? sym.value : v.offset;
      const size = sizeof(btf!, typeId);
      if (offset + size > sec.data.length) fail(`variable "${name}" (${size} bytes at ${offset}) runs past the section's ${sec.data.length} bytes`);
      vars.push({ name, offset, size, typeId, programs: new Map(), members: btf!.type(typeId) as BtfComposite });
    }
    for (const rel of elf.relocationsFor(sec.index)) {
      const v = vars.find((x) => rel.offset >= x.offset && rel.offset < x.offset + x.size);
      if (!v) fail(`relocation at byte ${rel.offset} is outside every struct_ops variable`);
      const at = (rel.offset - v!.offset) * 8;
      const member = v!.members.members.find((m) => m.bitOffset === at);
      if (!member) fail(`variable "${v!.name}": relocation at byte ${rel.offset - v!.offset} is not at a member`);
      if (!isFuncPointer(btf!, member!.type)) fail(`variable "${v!.name}": member "${member!.name}" points at "${rel.symbol.name}" but is not a function pointer`);
      const prog = programs.find((p) => p.sectionIndex === rel.symbol.shndx && p.secInsnOff * 8 === rel.symbol.value);
      if (!prog) fail(`variable "${v!.name}": member "${member!.name}" points at "${rel.symbol.name}", which is not a program`);
      if (prog!.type !== BpfProgType.BPF_PROG_TYPE_STRUCT_OPS)
        fail(`variable "${v!.name}": member "${member!.name}" points at program "${prog!.name}" of section ${prog!.sectionName}, which is not a struct_ops program`);
      v!.programs.set(member!.name, prog!.name);
    }
    const link = sec.name.replace(/^\?/, '') === '.struct_ops.link';
    for (const v of vars) {
      const data = copyBytes(sec.data.subarray(v.offset, v.offset + v.size));
      // the function pointers are relocation targets, not values
      for (const name of v.programs.keys()) {
        const m = v.members.members.find((x) => x.name === name)!;
        data.fill(0, m.bitOffset / 8, m.bitOffset / 8 + 8);
      }
      out.push({
        name: v.name,
        kernelName: v.name.slice(0, 15),
        origin: 'struct_ops',
        spec: { name: v.name.slice(0, 15), type: MapType.BPF_MAP_TYPE_STRUCT_OPS, keySize: 4, valueSize: 0, maxEntries: 1, flags: link ? BPF_F_LINK : 0 },
        btfKeyTypeId: 0,
        btfValueTypeId: 0,
        slots: [],
        pinByName: false,
        sectionIndex: sec.index,
        structOps: { section: sec.name, link, typeName: btf!.nameOf(v.typeId), localTypeId: v.typeId, data, programs: v.programs },
      });
    }
  }
  return out;
}

function isFuncPointer(btf: Btf, typeId: number): boolean {
  const t = skipModsAndTypedefs(btf, typeId);
  return btf.kindOf(t) === BTF_KIND_PTR && btf.kindOf(skipModsAndTypedefs(btf, (btf.type(t) as { type: number }).type)) === BTF_KIND_FUNC_PROTO;
}

/** Where one local member goes in the kernel's struct. */
export interface StructOpsMemberPlan {
  name: string;
  /** The kernel member's index: a program's expected_attach_type. */
  kernIndex: number;
  /** Byte offset in the map value (the `data` member's offset included). */
  valueOffset: number;
  /** The program for a function pointer; undefined for data. */
  program?: string;
  /** Data members: the local bytes to copy. */
  bytes?: Uint8Array;
}

/** A struct_ops map resolved against the kernel's BTF. */
export interface StructOpsLayout {
  /** The kernel struct's BTF id: every program's attach_btf_id. */
  kernTypeId: number;
  /** `bpf_struct_ops_<name>`'s BTF id: the map's btf_vmlinux_value_type_id. */
  valueTypeId: number;
  /** The map's value size. */
  valueSize: number;
  members: StructOpsMemberPlan[];
}

/**
 * Match a struct_ops variable's members with the kernel's struct of the same
 * name, member by member (by name, as libbpf). A local member the kernel
 * lacks is an error unless it is zero; kernel members the object does not
 * set stay zero.
 */
export function resolveStructOps(spec: StructOpsSpec, local: Btf, kernel: Btf, objName: string, mapName: string): StructOpsLayout {
  const fail = (msg: string): never => {
    throw new ObjectError(objName, `struct_ops map "${mapName}" (section ${spec.section}): ${msg}`);
  };
  const kernTypeId = kernel.findByNameKind(spec.typeName, BTF_KIND_STRUCT);
  if (kernTypeId <= 0) fail(`the kernel's BTF has no struct ${spec.typeName}`);
  const valueName = `bpf_struct_ops_${spec.typeName}`;
  const valueTypeId = kernel.findByNameKind(valueName, BTF_KIND_STRUCT);
  if (valueTypeId <= 0) fail(`the kernel has no struct_ops type ${valueName}: ${spec.typeName} cannot be implemented in BPF on this kernel`);
  const vt = kernel.type(valueTypeId) as BtfComposite;
  const dataMember = vt.members.find((m) => skipModsAndTypedefs(kernel, m.type) === kernTypeId);
  if (!dataMember) fail(`${valueName} has no member of type struct ${spec.typeName}`);
  const dataOff = dataMember!.bitOffset / 8;
  const kt = kernel.type(kernTypeId) as BtfComposite;
  const lt = local.type(spec.localTypeId) as BtfComposite;
  const members: StructOpsMemberPlan[] = [];
  lt.members.forEach((m) => {
    const off = m.bitOffset / 8;
    const size = sizeof(local, m.type);
    const bytes = spec.data.subarray(off, off + size);
    const program = spec.programs.get(m.name);
    const ki = kt.members.findIndex((k) => k.name === m.name);
    if (ki < 0) {
      if (program || bytes.some((b) => b !== 0)) fail(`member "${m.name}" is set, but the kernel's struct ${spec.typeName} has no such member`);
      return;
    }
    const km = kt.members[ki]!;
    if (km.bitOffset % 8 !== 0 || m.bitOffset % 8 !== 0 || m.bitfieldSize || km.bitfieldSize) fail(`member "${m.name}" is a bitfield, which struct_ops cannot fill`);
    const lk = local.kindOf(skipModsAndTypedefs(local, m.type));
    const kk = kernel.kindOf(skipModsAndTypedefs(kernel, km.type));
    if (lk !== kk) fail(`member "${m.name}" is a ${local.kindName(skipModsAndTypedefs(local, m.type))} here but a ${kernel.kindName(skipModsAndTypedefs(kernel, km.type))} in the kernel`);
    const valueOffset = dataOff + km.bitOffset / 8;
    if (program) {
      if (!isFuncPointer(kernel, km.type)) fail(`member "${m.name}" points at program "${program}" but is not a function pointer in the kernel`);
      members.push({ name: m.name, kernIndex: ki, valueOffset, program });
      return;
    }
    if (isFuncPointer(local, m.type)) return; // a function pointer left NULL
    const ksize = sizeof(kernel, km.type);
    if (ksize !== size) {
      if (bytes.some((b) => b !== 0)) fail(`member "${m.name}" is ${size} bytes here but ${ksize} in the kernel`);
      return;
    }
    members.push({ name: m.name, kernIndex: ki, valueOffset, bytes });
  });
  return { kernTypeId, valueTypeId, valueSize: vt.size, members };
}

/** The map value: data members copied, function pointers as their programs' fds. */
export function buildStructOpsValue(layout: StructOpsLayout, programFd: (name: string) => number | undefined, objName: string, mapName: string): Uint8Array {
  const value = new Uint8Array(layout.valueSize);
  const dv = new DataView(value.buffer);
  for (const m of layout.members) {
    if (m.program) {
      const fd = programFd(m.program);
      if (fd === undefined) throw new ObjectError(objName, `struct_ops map "${mapName}": member "${m.name}" points at program "${m.program}", which is not loaded (autoload off?)`);
      dv.setBigUint64(m.valueOffset, BigInt(fd), true);
    } else if (m.bytes) {
      value.set(m.bytes, m.valueOffset);
    }
  }
  return value;
}
