// `tsbpf inspect OBJ`: everything an object file says, without a kernel.
// The description (describeObject) is a plain-data function of the parsed
// CollectionSpec; the text and --json outputs both print it.
import { readFileSync } from 'node:fs';
import { BTF_KIND_NAMES, typeToC, type Btf } from '../btf/index.ts';
import { decodeToJson } from '../codegen/decode.ts';
import { mapFlagsToString, mapTypeName } from '../maps/index.ts';
import { objectNameOf, parseObject } from '../object/parse.ts';
import type { CodeReloc, CollectionSpec, FunctionSpec, ObjectMapSpec } from '../object/spec.ts';
import { BpfAttachType, BpfProgType } from '../prog/types.ts';
import { describeRelo } from '../relo/index.ts';
import { CORE_RELO_KIND_STR } from '../relo/types.ts';
import { TsbpfError } from '../errors.ts';
import { parse } from './args.ts';
import { bytesHuman, out, outJson } from './output.ts';

const SPEC = {
  usage: 'tsbpf inspect OBJ [--json]',
  summary: 'Describe a BPF object file (clang -target bpf): its programs (section, type, attach target, instruction count, relocations by kind, CO-RE relocations), maps (type, key/value types, max_entries, flags, pinning, inner map), global variables with their types and initial values, externs (kconfig, ksyms, kfuncs), license and BTF. Reads the file only: no kernel access, no root needed.',
  options: {},
  json: true,
  positionals: [1, 1] as [number, number],
  examples: ['tsbpf inspect bpf/bootstrap.bpf.o', 'tsbpf inspect bpf/core.bpf.o --json | jq \'.programs[].core\''],
};

export interface RelocDescription {
  kind: CodeReloc['kind'];
  insn: number;
  /** The map, data section, extern or subprogram offset it refers to. */
  target: string;
}

export interface CoreRelocDescription {
  insn: number;
  kind: string;
  /** C-like: "struct task_struct::real_parent (field byte offset)". */
  description: string;
  accessStr: string;
}

export interface FunctionDescription {
  name: string;
  section: string;
  insns: number;
  relocations: RelocDescription[];
  relocationsByKind: Record<string, number>;
  core: CoreRelocDescription[];
}

export interface ProgramDescription extends FunctionDescription {
  type: string;
  expectedAttachType: string | null;
  attachTarget: string;
  sleepable: boolean;
}

export interface MapDescription {
  name: string;
  kernelName: string;
  origin: string;
  type: string;
  keySize: number;
  valueSize: number;
  keyType: string | null;
  valueType: string | null;
  maxEntries: number;
  flags: string;
  pinning: 'none' | 'by-name';
  inner: MapDescription | null;
  slots: { slot: number; target: string }[];
}

export interface ObjectDescription {
  file: string;
  name: string;
  license: string;
  kernVersion: number;
  programs: ProgramDescription[];
  subprograms: FunctionDescription[];
  maps: MapDescription[];
  globals: { section: string; map: string; size: number; readonly: boolean; vars: { name: string; type: string; offset: number; size: number; value: unknown }[] }[];
  externs: { name: string; kind: string; weak: boolean; type: string }[];
  btf: { types: number; stringBytes: number; kinds: Record<string, number> } | null;
  btfExt: { funcInfo: number; lineInfo: number; coreRelos: number } | null;
}

function relocTarget(r: CodeReloc): string {
  switch (r.kind) {
    case 'call': case 'subprog_addr': return `.text+${r.symOff}`;
    case 'map': return r.map;
    case 'data': return r.symOff ? `${r.map}+${r.symOff}` : r.map;
    case 'extern': case 'kfunc': return r.extern;
  }
}

function describeFunction(spec: CollectionSpec, fn: FunctionSpec): FunctionDescription {
  const byKind: Record<string, number> = {};
  for (const r of fn.relocs) byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
  const core: CoreRelocDescription[] = [];
  const secRelos = spec.btfExt?.coreRelos.find((s) => s.secName === fn.sectionName)?.records ?? [];
  for (const r of secRelos) {
    const insn = r.insnOff / 8 - fn.secInsnOff;
    if (insn < 0 || insn >= fn.insnCount) continue;
    core.push({ insn, kind: CORE_RELO_KIND_STR[r.kind] ?? `kind ${r.kind}`, description: describeRelo(spec.btf!, r), accessStr: r.accessStr });
  }
  if (core.length) byKind.core = core.length;
  return {
    name: fn.name,
    section: fn.sectionName,
    insns: fn.insnCount,
    relocations: fn.relocs.map((r) => ({ kind: r.kind, insn: r.insnIdx, target: relocTarget(r) })),
    relocationsByKind: byKind,
    core,
  };
}

function cType(btf: Btf | undefined, id: number): string | null {
  return btf && id > 0 ? typeToC(btf, id) : null;
}

function describeMap(btf: Btf | undefined, m: ObjectMapSpec): MapDescription {
  return {
    name: m.name,
    kernelName: m.kernelName,
    origin: m.origin,
    type: mapTypeName(m.spec.type),
    keySize: m.spec.keySize,
    valueSize: m.spec.valueSize,
    keyType: cType(btf, m.btfKeyTypeId),
    valueType: m.origin === 'data' || m.origin === 'kconfig' ? null : cType(btf, m.btfValueTypeId),
    maxEntries: m.spec.maxEntries,
    flags: mapFlagsToString(m.spec.flags),
    pinning: m.pinByName ? 'by-name' : 'none',
    inner: m.inner ? describeMap(btf, m.inner) : null,
    slots: m.slots.map((s) => ({ slot: s.slot, target: s.target })),
  };
}

/** The plain-data description of a parsed object (what `inspect --json` prints). */
export function describeObject(file: string, spec: CollectionSpec): ObjectDescription {
  const btf = spec.btf;
  const kinds: Record<string, number> = {};
  if (btf) for (let id = 1; id <= btf.typeCount; id++) {
    const k = BTF_KIND_NAMES[btf.kindOf(id)] ?? String(btf.kindOf(id));
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  const count = (secs: { records: unknown[] }[] | undefined) => (secs ?? []).reduce((n, s) => n + s.records.length, 0);
  return {
    file,
    name: spec.name,
    license: spec.license,
    kernVersion: spec.kernVersion,
    programs: spec.programs.map((p) => ({
      ...describeFunction(spec, p),
      type: BpfProgType[p.type] ?? `type ${p.type}`,
      expectedAttachType: p.expectedAttachType ? (BpfAttachType[p.expectedAttachType] ?? `attach type ${p.expectedAttachType}`) : null,
      attachTarget: p.attachTarget,
      sleepable: (p.flags & 16) !== 0,
    })),
    subprograms: spec.subprograms.map((f) => describeFunction(spec, f)),
    maps: spec.maps.map((m) => describeMap(btf, m)),
    globals: spec.maps.filter((m) => m.origin === 'data').map((m) => ({
      section: m.name,
      map: m.kernelName,
      size: m.spec.valueSize,
      readonly: m.readonly === true,
      vars: spec.globals.filter((g) => g.map === m.name).sort((a, b) => a.offset - b.offset).map((g) => ({
        name: g.name,
        type: btf ? typeToC(btf, g.typeId) : '?',
        offset: g.offset,
        size: g.size,
        value: btf && m.initial ? safeDecode(btf, g.typeId, m.initial.subarray(g.offset, g.offset + g.size)) : null,
      })),
    })),
    externs: spec.externs.map((e) => ({ name: e.name, kind: e.kind, weak: e.weak, type: btf && e.typeId > 0 ? typeToC(btf, e.typeId) : e.kind === 'kfunc' && btf && e.btfId > 0 ? typeToC(btf, e.btfId) : 'void' })),
    btf: btf ? { types: btf.typeCount, stringBytes: btf.stringsLength, kinds } : null,
    btfExt: spec.btfExt ? { funcInfo: count(spec.btfExt.funcInfo), lineInfo: count(spec.btfExt.lineInfo), coreRelos: count(spec.btfExt.coreRelos) } : null,
  };
}

function safeDecode(btf: Btf, typeId: number, bytes: Uint8Array): unknown {
  try {
    return decodeToJson(btf, typeId, bytes);
  } catch {
    return Buffer.from(bytes).toString('hex');
  }
}

/** Read an input file, with the reason on one line when it cannot be read. */
export function readInput(path: string, what = 'object'): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message;
    throw new TsbpfError(`cannot read ${what} ${path}: ${why}`);
  }
}

/** Parse an object file; errors name the path (the parser names the object by its base name). */
export function parseObjectFile(path: string): CollectionSpec {
  const bytes = readInput(path);
  const name = objectNameOf(path);
  try {
    return parseObject(bytes, { name });
  } catch (e) {
    if (e instanceof Error && e.message.startsWith(`${name}: `)) e.message = `${path}: ${e.message.slice(name.length + 2)}`;
    else if (e instanceof Error && !e.message.includes(path)) e.message = `${path}: ${e.message}`;
    throw e;
  }
}

function byKindText(fn: FunctionDescription): string {
  const parts: string[] = [];
  for (const [kind, n] of Object.entries(fn.relocationsByKind)) {
    if (kind === 'core') continue;
    const targets = [...new Set(fn.relocations.filter((r) => r.kind === kind).map((r) => r.target))];
    parts.push(`${kind} ${n}${kind === 'call' || kind === 'subprog_addr' ? '' : ` (${targets.join(', ')})`}`);
  }
  if (fn.core.length) parts.push(`CO-RE ${fn.core.length}`);
  return parts.join(', ') || 'none';
}

function printText(d: ObjectDescription): void {
  const lines: string[] = [];
  lines.push(`${d.file}: object "${d.name}", license "${d.license}"${d.kernVersion ? `, version 0x${d.kernVersion.toString(16)}` : ''}`);
  lines.push(`  ${d.programs.length} program(s), ${d.subprograms.length} subprogram(s), ${d.maps.length} map(s), ${d.globals.reduce((n, g) => n + g.vars.length, 0)} global(s), ${d.externs.length} extern(s)`);
  if (d.btf) {
    const kinds = Object.entries(d.btf.kinds).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
    lines.push(`  BTF: ${d.btf.types} types (${kinds}), ${bytesHuman(d.btf.stringBytes)} of strings`);
  } else lines.push('  BTF: none');
  if (d.btfExt) lines.push(`  BTF.ext: ${d.btfExt.funcInfo} func_info, ${d.btfExt.lineInfo} line_info, ${d.btfExt.coreRelos} CO-RE relocation(s)`);

  const fn = (f: FunctionDescription, head: string) => {
    lines.push(head);
    lines.push(`      relocations: ${byKindText(f)}`);
    for (const c of f.core) lines.push(`        insn ${c.insn}: ${c.description}`);
  };
  lines.push('', 'programs:');
  for (const p of d.programs) {
    fn(p, `  ${p.name}  section ${p.section}  ${p.type.replace(/^BPF_PROG_TYPE_/, '').toLowerCase()}${p.expectedAttachType ? ` (${p.expectedAttachType})` : ''}${p.attachTarget ? `  target ${p.attachTarget}` : ''}${p.sleepable ? '  sleepable' : ''}  ${p.insns} insns`);
  }
  if (d.subprograms.length) {
    lines.push('', 'subprograms (.text):');
    for (const s of d.subprograms) fn(s, `  ${s.name}  ${s.insns} insns`);
  }
  lines.push('', 'maps:');
  const mapLine = (m: MapDescription, indent: string): void => {
    const kv = m.keyType || m.valueType || m.keySize || m.valueSize
      ? `  key ${m.keyType ?? `${m.keySize}B`}  value ${m.valueType ?? `${m.valueSize}B`}` : '';
    lines.push(`${indent}${m.name}  ${m.type}${kv}  max_entries ${m.maxEntries}${m.flags !== '0' ? `  flags ${m.flags}` : ''}${m.pinning !== 'none' ? `  pinning ${m.pinning}` : ''}${m.origin !== 'btf' ? `  (${m.origin}${m.kernelName !== m.name ? `, kernel name ${m.kernelName}` : ''})` : ''}`);
    if (m.inner) mapLine(m.inner, `${indent}  inner: `);
    for (const s of m.slots) lines.push(`${indent}  [${s.slot}] = ${s.target}`);
  };
  for (const m of d.maps) mapLine(m, '  ');
  if (d.globals.length) {
    lines.push('', 'globals:');
    for (const g of d.globals) {
      lines.push(`  ${g.section} (map ${g.map}, ${g.size} bytes${g.readonly ? ', read-only' : ''})`);
      for (const v of g.vars) lines.push(`    ${v.type.includes('(') || v.type.includes('[') ? v.type.replace(/^/, '') : v.type} ${v.name} = ${JSON.stringify(v.value)}  @${v.offset}`);
    }
  }
  if (d.externs.length) {
    lines.push('', 'externs:');
    for (const e of d.externs) lines.push(`  ${e.kind} ${e.name}: ${e.type}${e.weak ? ' (weak)' : ''}`);
  }
  out(lines.join('\n'));
}

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, SPEC);
  const path = positionals[0]!;
  const spec = parseObjectFile(path);
  const d = describeObject(path, spec);
  if (values.json) outJson(d);
  else printText(d);
  return 0;
}
