// Parsing an object file into a CollectionSpec: a pure function of the bytes.
// The steps, in the order libbpf takes them:
//   1. ELF sections: license, version, .BTF, .BTF.ext, program sections, maps, data
//   2. functions: every STT_FUNC in an executable section (programs; .text subprograms)
//   3. maps: BTF-defined (.maps), legacy (maps), global data (.data/.rodata/.bss and .*.*)
//   4. externs: undefined symbols, described by the .kconfig / .ksyms DATASECs
//   5. code relocations: every SHT_REL entry against a program section, classified
import createDebug from 'debug';
import { alignof, parseBtf, parseBtfExt, resolveType, sizeof, type Btf, type BtfDatasec, BTF_KIND_DATASEC, BTF_KIND_FUNC, BTF_KIND_VAR } from '../btf/index.ts';
import {
  parseElf,
  type ElfFile,
  type ElfSection,
  type ElfSymbol,
  SHF_EXECINSTR,
  SHN_UNDEF,
  SHT_NOBITS,
  SHT_PROGBITS,
  STB_GLOBAL,
  STB_LOCAL,
  STB_WEAK,
  STT_FUNC,
  STT_SECTION,
  STT_NOTYPE,
  STT_OBJECT,
} from '../elf/index.ts';
import { MapType } from '../maps/index.ts';
import { CALL, BPF_PSEUDO_CALL, LD_IMM64, readInsn } from '../prog/insn.ts';
import { copyBytes } from '../util/bytes.ts';
import { step } from '../util/pipeline.ts';

import { ObjectError } from './errors.ts';
import { parseSection, unknownSectionMessage } from '../attach/sections.ts';
import { freezeSpec, type CodeReloc, type CollectionSpec, type ExternSpec, type FunctionSpec, type GlobalVarSpec, type ObjectMapSpec, type ObjectProgramSpec } from './spec.ts';
import { parseBtfMaps } from './btf_maps.ts';
import { parseStructOps } from './struct_ops.ts';

const log = createDebug('tsbpf:object');

/**
 * The largest global data section (.data/.rodata/.bss/.kconfig) we accept. Its
 * size becomes one array map value, which the kernel caps at KMALLOC_MAX_SIZE
 * (4 MiB on 4 KiB-page kernels, more with larger pages); a SHT_NOBITS size or
 * a .kconfig layout comes from the file, so it is checked before the zeros it
 * stands for are allocated.
 */
export const MAX_GLOBAL_DATA_SIZE = 64 << 20;

/** BPF_F_MMAPABLE | BPF_F_RDONLY_PROG, as libbpf sets them on global data maps. */
const BPF_F_RDONLY_PROG = 1 << 7;
const BPF_F_MMAPABLE = 1 << 10;

/** libbpf's obj->name: the file's base name up to the first '.'. */
export function objectNameOf(path: string): string {
  const base = path.split('/').pop() ?? path;
  const dot = base.indexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/**
 * libbpf's internal map naming: "<obj prefix><section>" for ".data"/".rodata"/".bss"/".kconfig"
 * (prefix cut so the whole fits in 15 bytes), the section name alone for ".data.custom" and friends.
 */
export function internalMapName(objName: string, section: string): string {
  const sfxLen = Math.max(7, section.length);
  const pfxLen = section.indexOf('.', 1) >= 0 ? 0 : Math.min(16 - sfxLen - 1, objName.length);
  const name = (objName.slice(0, Math.max(0, pfxLen)) + section.slice(0, sfxLen)).slice(0, 15);
  return name.replace(/[^A-Za-z0-9_.]/g, '_');
}

export function isDataSection(s: ElfSection): boolean {
  const n = s.name;
  if (s.type === SHT_NOBITS) return n === '.bss' || n.startsWith('.bss.');
  if (s.type !== SHT_PROGBITS || (s.flags & SHF_EXECINSTR) !== 0) return false;
  return n === '.data' || n.startsWith('.data.') || n === '.rodata' || n.startsWith('.rodata.');
}

export interface ParseOptions {
  /** Object name used in messages and internal map names (default: from the path or "object"). */
  name?: string;
}

/**
 * Parse a clang-built BPF object into a CollectionSpec. Never touches the
 * kernel. The spec is immutable and owns its bytes: the input is copied once,
 * so neither a later change to the caller's buffer nor anything loading does
 * can reach the spec (loading patches copies; see copyBytes).
 */
export function parseObject(input: Uint8Array, options: ParseOptions = {}): CollectionSpec {
  const objName = options.name ?? 'object';
  const fail = (msg: string): never => {
    throw new ObjectError(objName, msg);
  };
  const bytes = copyBytes(input);
  const elf = parseElf(bytes, objName);
  step('ELF', '%s: %d bytes, %d sections, %d symbols', objName, bytes.length, elf.sections.length, elf.symbols.length);

  // 1. metadata and BTF
  const licenseSec = elf.sectionByName('license');
  const license = licenseSec ? cString(licenseSec.data) : '';
  const versionSec = elf.sectionByName('version');
  const kernVersion = versionSec && versionSec.data.length >= 4 ? new DataView(versionSec.data.buffer, versionSec.data.byteOffset).getUint32(0, true) : 0;
  const btfSec = elf.sectionByName('.BTF');
  const btf = btfSec ? parseBtf(btfSec.data, { name: `${objName} .BTF` }) : undefined;
  const btfExtSec = elf.sectionByName('.BTF.ext');
  const btfExt = btfExtSec && btf ? parseBtfExt(btfExtSec.data, btf, `${objName} .BTF.ext`) : undefined;
  log('%s: license "%s", %s, %s', objName, license, btf ? `${btf.typeCount} BTF types` : 'no BTF', btfExt ? '.BTF.ext present' : 'no .BTF.ext');
  step('BTF', '%s: %s, %s', objName, btf ? `.BTF with ${btf.typeCount} types` : 'no .BTF', btfExt ? `.BTF.ext with ${btfExt.coreRelos.reduce((n, s) => n + s.records.length, 0)} CO-RE relocations` : 'no .BTF.ext');

  // 2. functions
  const text = elf.sectionByName('.text');
  const programs: ObjectProgramSpec[] = [];
  const subprograms: FunctionSpec[] = [];
  const functionsBySection = new Map<number, FunctionSpec[]>();
  for (const sec of elf.sections) {
    if (sec.type !== SHT_PROGBITS || (sec.flags & SHF_EXECINSTR) === 0 || sec.size === 0) continue;
    if (sec.size % 8 !== 0) fail(`section ${sec.name}: size ${sec.size} is not a multiple of the 8-byte instruction size`);
    const isText = sec === text;
    const funcs = elf
      .symbolsIn(sec.index)
      .filter((s) => s.type === STT_FUNC)
      .sort((a, b) => a.value - b.value);
    if (funcs.length === 0) fail(`section ${sec.name} holds code but no function symbol`);
    const list: FunctionSpec[] = [];
    for (const sym of funcs) {
      if (sym.value % 8 !== 0 || sym.size % 8 !== 0 || sym.value + sym.size > sec.size)
        fail(`function ${sym.name} in section ${sec.name}: offset ${sym.value} / size ${sym.size} is not within whole instructions of the section`);
      if (!isText && sym.bind === STB_LOCAL) fail(`section ${sec.name}: program "${sym.name}" is static; programs must be global functions`);
      const fn: FunctionSpec = {
        name: sym.name,
        sectionName: sec.name,
        sectionIndex: sec.index,
        secInsnOff: sym.value / 8,
        insnCount: sym.size / 8,
        insns: copyBytes(sec.data, sym.value, sym.value + sym.size),
        relocs: [],
        isSubprog: isText,
        isGlobal: sym.bind === STB_GLOBAL,
      };
      list.push(fn);
      if (isText) {
        subprograms.push(fn);
        continue;
      }
      const m = parseSection(sec.name) ?? fail(`program "${sym.name}": ${unknownSectionMessage(sec.name)}`);
      programs.push({
        ...fn,
        def: m.def,
        attachTarget: m.arg,
        target: m.target,
        type: m.def.progType,
        expectedAttachType: m.def.expectedAttachType,
        flags: m.def.progFlags,
      });
    }
    functionsBySection.set(sec.index, list);
  }

  // 3. maps
  const maps: ObjectMapSpec[] = [];
  const mapsSec = elf.sectionByName('.maps');
  if (mapsSec) maps.push(...parseBtfMaps(elf, btf, mapsSec, objName));
  maps.push(...parseStructOps(elf, btf, programs, objName));
  const legacySec = elf.sectionByName('maps');
  if (legacySec) maps.push(...parseLegacyMaps(elf, legacySec, objName));
  const globals: GlobalVarSpec[] = [];
  for (const sec of elf.sections) {
    if (!isDataSection(sec)) continue;
    const readonly = sec.name === '.rodata' || sec.name.startsWith('.rodata.');
    if (sec.size > MAX_GLOBAL_DATA_SIZE) fail(`section ${sec.name} [${sec.index}]: size ${sec.size} exceeds the ${MAX_GLOBAL_DATA_SIZE}-byte limit of a global data map value`);
    const datasecId = btf ? btf.findByNameKind(sec.name, BTF_KIND_DATASEC) : 0;
    // libbpf maps a data section into user space (BPF_F_MMAPABLE) only when it holds a non-static variable.
    const mmapable = datasecId > 0 && (btf!.type(datasecId) as BtfDatasec).vars.some((v) => btf!.kindOf(v.type) === BTF_KIND_VAR && (btf!.type(v.type) as { linkage: number }).linkage !== 0);
    maps.push({
      name: sec.name,
      kernelName: internalMapName(objName, sec.name),
      origin: 'data',
      spec: {
        name: internalMapName(objName, sec.name),
        type: MapType.BPF_MAP_TYPE_ARRAY,
        keySize: 4,
        valueSize: sec.size,
        maxEntries: 1,
        flags: (mmapable ? BPF_F_MMAPABLE : 0) | (readonly ? BPF_F_RDONLY_PROG : 0),
      },
      btfKeyTypeId: 0,
      btfValueTypeId: datasecId > 0 ? datasecId : 0,
      slots: [],
      pinByName: false,
      sectionIndex: sec.index,
      initial: sec.type === SHT_NOBITS ? new Uint8Array(sec.size) : copyBytes(sec.data),
      readonly,
    });
    globals.push(...globalsOf(elf, btf, sec, datasecId, objName));
  }

  // 4. externs
  const externs = parseExterns(elf, btf, objName);
  if (externs.some((e) => e.kind === 'kconfig')) {
    const size = externs.filter((e) => e.kind === 'kconfig').reduce((end, e) => Math.max(end, e.kconfigOffset! + e.kconfigSize!), 0);
    const name = internalMapName(objName, '.kconfig');
    maps.push({
      name: '.kconfig',
      kernelName: name,
      origin: 'kconfig',
      spec: { name, type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: Math.max(size, 1), maxEntries: 1, flags: BPF_F_MMAPABLE | BPF_F_RDONLY_PROG },
      btfKeyTypeId: 0,
      btfValueTypeId: btf ? Math.max(0, btf.findByNameKind('.kconfig', BTF_KIND_DATASEC)) : 0,
      slots: [],
      pinByName: false,
      initial: new Uint8Array(Math.max(size, 1)),
      readonly: true,
    });
  }

  // 5. code relocations
  for (const [secIndex, funcs] of functionsBySection) {
    const sec = elf.sections[secIndex]!;
    for (const rel of elf.relocationsFor(secIndex)) {
      if (rel.offset % 8 !== 0) fail(`section ${sec.name}: relocation at byte ${rel.offset} is not on an instruction boundary`);
      const secInsn = rel.offset / 8;
      const fn = funcs.find((f) => secInsn >= f.secInsnOff && secInsn < f.secInsnOff + f.insnCount);
      if (!fn) fail(`section ${sec.name}: relocation at instruction ${secInsn} is outside every function`);
      fn!.relocs.push(classifyReloc(elf, fn!, secInsn - fn!.secInsnOff, rel.symbol, maps, externs, text, objName));
    }
  }

  log('%s: %d programs, %d subprograms, %d maps, %d externs', objName, programs.length, subprograms.length, maps.length, externs.length);
  step('specs', '%s: programs %s; maps %s; %d subprograms, %d externs', objName, programs.map((p) => `${p.name} (${p.sectionName})`).join(', ') || 'none', maps.map((m) => m.name).join(', ') || 'none', subprograms.length, externs.length);
  return freezeSpec({ name: objName, elf, btf, btfExt, license, kernVersion, programs, subprograms, maps, globals, externs });
}

/** libbpf's bpf_program__record_reloc: what one relocation entry means for the instruction it patches. */
function classifyReloc(
  elf: ElfFile,
  fn: FunctionSpec,
  insnIdx: number,
  sym: ElfSymbol,
  maps: ObjectMapSpec[],
  externs: ExternSpec[],
  text: ElfSection | undefined,
  objName: string,
): CodeReloc {
  const where = `program "${fn.name}" (section ${fn.sectionName}) instruction ${insnIdx}`;
  const fail = (msg: string): never => {
    throw new ObjectError(objName, `${where}: ${msg}`);
  };
  const insn = readInsn(fn.insns, insnIdx);
  const symSec = elf.sections[sym.shndx];
  const isExtern = sym.shndx === SHN_UNDEF && sym.name !== '' && (sym.bind === STB_GLOBAL || sym.bind === STB_WEAK);

  if (insn.code === CALL) {
    if (insn.src !== BPF_PSEUDO_CALL) fail(`relocation on a call with src_reg ${insn.src} (expected BPF_PSEUDO_CALL)`);
    if (isExtern) {
      if (!externs.some((e) => e.name === sym.name)) fail(`call to unknown extern function "${sym.name}"`);
      return { kind: 'kfunc', insnIdx, extern: sym.name };
    }
    if (!text || sym.shndx !== text.index) fail(`call to "${sym.name || symSec?.name}" which is not in .text (subprograms must live in .text)`);
    return { kind: 'call', insnIdx, symOff: sym.value };
  }
  if (insn.code !== LD_IMM64) fail(`relocation against "${sym.name}" on an instruction with opcode 0x${insn.code.toString(16)} (only calls and 64-bit loads can be relocated)`);
  if (isExtern) {
    if (!externs.some((e) => e.name === sym.name)) fail(`reference to unknown extern "${sym.name}"`);
    return { kind: 'extern', insnIdx, extern: sym.name };
  }
  if (text && sym.shndx === text.index && (sym.type === STT_FUNC || (sym.type === STT_SECTION && sym.bind === STB_LOCAL))) {
    return { kind: 'subprog_addr', insnIdx, symOff: sym.value };
  }
  if (!symSec) fail(`relocation against symbol "${sym.name}" with section index ${sym.shndx}`);
  if (symSec!.name === '.maps' || symSec!.name === 'maps') {
    const m = maps.find((x) => (x.origin === 'btf' || x.origin === 'legacy') && x.name === sym.name);
    if (!m) fail(`reference to "${sym.name}" in section ${symSec!.name}, which defines no such map`);
    return { kind: 'map', insnIdx, map: m!.name };
  }
  if (isDataSection(symSec!)) return { kind: 'data', insnIdx, map: symSec!.name, symOff: sym.value };
  return fail(`reference to "${sym.name || symSec!.name}" in section ${symSec!.name}, which is neither a map nor global data`);
}

/** The legacy `SEC("maps") struct bpf_map_def` format: u32 type, key_size, value_size, max_entries, map_flags[, inner_map_idx, numa_node]. */
function parseLegacyMaps(elf: ElfFile, sec: ElfSection, objName: string): ObjectMapSpec[] {
  const syms = elf.symbolsIn(sec.index).filter((s) => s.name !== '' && s.type !== STT_SECTION && (s.bind === STB_GLOBAL || s.bind === STB_WEAK || s.type === STT_OBJECT || s.type === STT_NOTYPE));
  if (syms.length === 0) return [];
  const defSize = sec.size / syms.length;
  if (!Number.isInteger(defSize) || defSize < 20) throw new ObjectError(objName, `section maps: ${sec.size} bytes for ${syms.length} legacy map definitions is not a whole number of bpf_map_def (>= 20 bytes)`);
  const dv = new DataView(sec.data.buffer, sec.data.byteOffset, sec.data.byteLength);
  return syms.map((s): ObjectMapSpec => {
    const at = s.value;
    if (at + 20 > sec.data.length) throw new ObjectError(objName, `section maps: map "${s.name}" at offset ${at} runs past the section`);
    const u32 = (i: number) => (at + i * 4 + 4 <= Math.min(sec.data.length, at + defSize) ? dv.getUint32(at + i * 4, true) : 0);
    const numa = u32(6);
    return {
      name: s.name,
      kernelName: s.name.slice(0, 15),
      origin: 'legacy',
      spec: { name: s.name.slice(0, 15), type: u32(0), keySize: u32(1), valueSize: u32(2), maxEntries: u32(3), flags: u32(4), numaNode: numa || undefined },
      btfKeyTypeId: 0,
      btfValueTypeId: 0,
      slots: [],
      pinByName: false,
    };
  });
}

/** Variables of a data section, from its DATASEC (offsets from the symbol table, as clang may leave them 0 in BTF). */
function globalsOf(elf: ElfFile, btf: Btf | undefined, sec: ElfSection, datasecId: number, objName: string): GlobalVarSpec[] {
  if (!btf || datasecId <= 0) return [];
  const ds = btf.type(datasecId) as BtfDatasec;
  const syms = elf.symbolsIn(sec.index);
  const out: GlobalVarSpec[] = [];
  for (const v of ds.vars) {
    if (btf.kindOf(v.type) !== BTF_KIND_VAR) continue;
    const name = btf.nameOf(v.type);
    const sym = syms.find((s) => s.name === name && s.type === STT_OBJECT);
    const typeId = (btf.type(v.type) as { type: number }).type;
    const g = { name, map: sec.name, offset: sym ? sym.value : v.offset, size: sym && sym.size ? sym.size : v.size || sizeof(btf, typeId), typeId };
    if (g.offset + g.size > sec.size) throw new ObjectError(objName, `section ${sec.name}: variable "${name}" at offset ${g.offset} (${g.size} bytes) runs past the section (${sec.size} bytes)`);
    out.push(g);
  }
  return out;
}

/** Undefined global symbols are externs; the .kconfig and .ksyms DATASECs say which kind. */
function parseExterns(elf: ElfFile, btf: Btf | undefined, objName: string): ExternSpec[] {
  const undef = elf.symbols.filter((s) => s.index !== 0 && s.shndx === SHN_UNDEF && s.name !== '' && (s.bind === STB_GLOBAL || s.bind === STB_WEAK));
  if (undef.length === 0) return [];
  const inSec = new Map<string, { sec: string; id: number }>();
  if (btf) {
    for (const secName of ['.kconfig', '.ksyms']) {
      const id = btf.findByNameKind(secName, BTF_KIND_DATASEC);
      if (id <= 0) continue;
      for (const v of (btf.type(id) as BtfDatasec).vars) inSec.set(btf.nameOf(v.type), { sec: secName, id: v.type });
    }
  }
  const externs: ExternSpec[] = [];
  for (const s of undef) {
    const where = inSec.get(s.name);
    if (!where) {
      // An extern function declared without BTF (e.g. a kfunc in an object built without -g) is still a kfunc.
      if (s.type === STT_FUNC || s.type === STT_NOTYPE) {
        if (!btf) throw new ObjectError(objName, `extern "${s.name}" needs BTF to be resolved (build with -g)`);
        const fid = btf.findByNameKind(s.name, BTF_KIND_FUNC);
        if (fid > 0) {
          externs.push({ name: s.name, kind: 'kfunc', weak: s.bind === STB_WEAK, btfId: fid, typeId: (btf.type(fid) as { type: number }).type });
          continue;
        }
      }
      throw new ObjectError(objName, `extern "${s.name}" is neither a __kconfig nor a __ksym (no entry in the .kconfig or .ksyms DATASEC)`);
    }
    const t = btf!.type(where.id);
    if (where.sec === '.kconfig') {
      const typeId = resolveType(btf!, (t as { type: number }).type);
      externs.push({ name: s.name, kind: 'kconfig', weak: s.bind === STB_WEAK, btfId: where.id, typeId, kconfigSize: sizeof(btf!, typeId) });
    } else if (t.kind === BTF_KIND_FUNC) {
      externs.push({ name: s.name, kind: 'kfunc', weak: s.bind === STB_WEAK, btfId: where.id, typeId: (t as { type: number }).type });
    } else {
      const typeId = (t as { type: number }).type;
      externs.push({ name: s.name, kind: 'ksym', weak: s.bind === STB_WEAK, btfId: where.id, typeId });
    }
  }
  // Lay out .kconfig values as libbpf does: sorted by decreasing alignment,
  // then increasing size, then name; each at the next multiple of its alignment.
  const kcfg = externs
    .filter((e) => e.kind === 'kconfig')
    .map((e) => ({ e, align: alignof(btf!, e.typeId) }))
    .sort((a, b) => b.align - a.align || a.e.kconfigSize! - b.e.kconfigSize! || (a.e.name < b.e.name ? -1 : 1));
  let off = 0;
  for (const { e, align } of kcfg) {
    off = Math.ceil(off / align) * align;
    e.kconfigOffset = off;
    off += e.kconfigSize!;
    if (off > MAX_GLOBAL_DATA_SIZE) throw new ObjectError(objName, `section .kconfig: extern "${e.name}" (${e.kconfigSize} bytes) ends at byte ${off}, past the ${MAX_GLOBAL_DATA_SIZE}-byte limit of a global data map value`);
  }
  return externs;
}

function cString(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return Buffer.from(b.subarray(0, nul < 0 ? b.length : nul)).toString('utf8');
}

