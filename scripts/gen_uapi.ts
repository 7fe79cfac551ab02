// npm run gen:uapi — writes src/uapi/kernel.ts from a pinned kernel's BTF.
//
// The kernel's vocabulary (bpf(2) commands, map/program/attach/link types,
// flag enums, the bpf_attr and perf_event_attr layouts) is read, with tsbpf's
// own BTF parser, from scripts/uapi/vmlinux.btf.gz: the types reachable from
// scripts/uapi/spec.ts's roots, cut once out of a pinned kernel's .BTF (see
// scripts/uapi/README.md). Not the host's BTF: the host kernel's build
// changes under us, and the output must be the same on every machine.
//
//   npm run gen:uapi                         regenerate src/uapi/kernel.ts
//   npm run gen:uapi -- --check              exit 1 when the committed file is stale
//   npm run gen:uapi -- --extract <vmlinux>  re-cut the blob from a vmlinux (ELF with .BTF)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FWD, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_STRUCT,
  BTF_KIND_TYPEDEF, BTF_KIND_UNION, BTF_KIND_VOLATILE, marshalBtf, parseBtf, type Btf, type BtfComposite, type BtfEnum,
  type BtfEnum64, type BtfType, type BtfTypeInit,
} from '../src/btf/index.ts';
import { BITFIELD_WORDS, CONST_ENUMS, ENUMS, EXTRA_ROOTS, LAYOUTS, type LayoutSpec } from './uapi/spec.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BLOB_PATH = join(ROOT, 'scripts', 'uapi', 'vmlinux.btf.gz');
export const OUTPUT_PATH = join(ROOT, 'src', 'uapi', 'kernel.ts');
/** Where the blob came from (also written into the output's header). */
export const PINNED_KERNEL = 'linux-image-6.12.118+deb12-amd64 (Debian 6.12.118-1~deb12u1), vmlinux .BTF';

// ---------------------------------------------------------------- extraction (once per pinned kernel)

/** The .BTF section of an ELF64 little-endian file (a vmlinux), found by walking its section headers. */
function btfSectionOf(elf: Uint8Array): Uint8Array {
  const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const shoff = Number(dv.getBigUint64(40, true));
  const shentsize = dv.getUint16(58, true);
  const shnum = dv.getUint16(60, true);
  const shstrndx = dv.getUint16(62, true);
  const header = (i: number) => {
    const o = shoff + i * shentsize;
    return { name: dv.getUint32(o, true), off: Number(dv.getBigUint64(o + 24, true)), size: Number(dv.getBigUint64(o + 32, true)) };
  };
  const names = header(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    const start = names.off + h.name;
    const end = elf.indexOf(0, start);
    if (Buffer.from(elf.subarray(start, end)).toString('latin1') === '.BTF') return elf.subarray(h.off, h.off + h.size);
  }
  throw new Error('no .BTF section: not a vmlinux built with CONFIG_DEBUG_INFO_BTF');
}

/** The ids of the roots named in spec.ts. */
function rootIds(btf: Btf): number[] {
  const ids: number[] = [];
  const named = (name: string, kinds: number[]) => {
    const id = btf.findByName(name).find((i) => kinds.includes(btf.kindOf(i)));
    if (id === undefined) throw new Error(`the kernel's BTF has no ${name}`);
    ids.push(id);
  };
  for (const e of ENUMS) named(e.btf, [BTF_KIND_ENUM, BTF_KIND_ENUM64]);
  for (const l of LAYOUTS) named(l.struct, [BTF_KIND_STRUCT, BTF_KIND_UNION]);
  for (const n of EXTRA_ROOTS) named(n, [BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_ENUM, BTF_KIND_ENUM64]);
  for (const c of CONST_ENUMS) {
    const id = anonEnumWith(btf, c.member);
    if (id === undefined) throw new Error(`the kernel's BTF has no anonymous enum with ${c.member}`);
    ids.push(id);
  }
  return ids;
}

function anonEnumWith(btf: Btf, member: string): number | undefined {
  for (const id of range(btf)) {
    const k = btf.kindOf(id);
    if ((k !== BTF_KIND_ENUM && k !== BTF_KIND_ENUM64) || btf.nameOf(id) !== '') continue;
    if ((btf.type(id) as BtfEnum | BtfEnum64).values.some((v) => v.name === member)) return id;
  }
  return undefined;
}

function* range(btf: Btf): Generator<number> {
  for (let id = 1; id <= btf.typeCount; id++) yield id;
}

/**
 * The types reachable from `roots`, renumbered 1..n in first-visit order. A
 * pointer keeps its size but not its target (a layout never follows one).
 */
function cut(btf: Btf, roots: number[]): BtfTypeInit[] {
  const order: number[] = [];
  const newId = new Map<number, number>([[0, 0]]);
  const visit = (id: number): void => {
    if (newId.has(id)) return;
    newId.set(id, order.length + 1);
    order.push(id);
    const t = btf.type(id);
    for (const ref of refsOf(t)) visit(ref);
  };
  for (const r of roots) visit(r);
  return order.map((id) => {
    const { id: _drop, ...t } = structuredClone(btf.type(id)) as BtfType;
    const m = (ref: number) => newId.get(ref)!;
    switch (t.kind) {
      case BTF_KIND_PTR:
        return { ...t, type: 0 };
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_CONST:
      case BTF_KIND_VOLATILE:
        return { ...t, type: m(t.type) };
      case BTF_KIND_ARRAY:
        return { ...t, type: m(t.type), indexType: m(t.indexType) };
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
        return { ...t, members: t.members.map((mem) => ({ ...mem, type: m(mem.type) })) };
      case BTF_KIND_INT:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
      case BTF_KIND_FWD:
        return t as BtfTypeInit;
      default:
        throw new Error(`type ${id} (${btf.kindName(id)} ${t.name}) is not expected in a uapi layout`);
    }
  }) as BtfTypeInit[];
}

function refsOf(t: BtfType): number[] {
  switch (t.kind) {
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
      return [t.type];
    case BTF_KIND_ARRAY:
      return [t.type, t.indexType];
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
      return t.members.map((m) => m.type);
    default:
      return [];
  }
}

function extract(vmlinuxPath: string): void {
  const btf = parseBtf(btfSectionOf(readFileSync(vmlinuxPath)), { name: 'vmlinux' });
  const types = cut(btf, rootIds(btf));
  const blob = marshalBtf(types);
  writeFileSync(BLOB_PATH, gzipSync(blob, { level: 9 }));
  process.stderr.write(`gen:uapi: ${types.length} types (${blob.length} bytes of BTF) cut from ${btf.typeCount} into ${BLOB_PATH}\n`);
}

// ---------------------------------------------------------------- generation

interface FieldOut { name: string; off: number; kind: string; len?: number }

/** Strip typedefs and qualifiers. */
function resolve(btf: Btf, id: number): number {
  for (;;) {
    const k = btf.kindOf(id);
    if (k !== BTF_KIND_TYPEDEF && k !== BTF_KIND_CONST && k !== BTF_KIND_VOLATILE) return id;
    id = (btf.type(id) as { type: number }).type;
  }
}

function sizeOf(btf: Btf, id: number): number {
  const r = resolve(btf, id);
  const t = btf.type(r);
  switch (t.kind) {
    case BTF_KIND_INT: case BTF_KIND_ENUM: case BTF_KIND_ENUM64: case BTF_KIND_STRUCT: case BTF_KIND_UNION:
      return t.size;
    case BTF_KIND_PTR:
      return 8;
    case BTF_KIND_ARRAY:
      return t.nelems * sizeOf(btf, t.type);
    default:
      throw new Error(`no size for type ${r}`);
  }
}

/**
 * Find member `name` of composite `id`, looking through anonymous struct and
 * union members as C does. Returns its type and bit offset from `id`'s start.
 */
function findMember(btf: Btf, id: number, name: string): { type: number; bitOffset: number; bitfieldSize: number } | undefined {
  const t = btf.type(resolve(btf, id)) as BtfComposite;
  for (const m of t.members) {
    if (m.name === name) return { type: m.type, bitOffset: m.bitOffset, bitfieldSize: m.bitfieldSize };
    if (m.name === '') {
      const k = btf.kindOf(resolve(btf, m.type));
      if (k !== BTF_KIND_STRUCT && k !== BTF_KIND_UNION) continue;
      const inner = findMember(btf, m.type, name);
      if (inner) return { ...inner, bitOffset: inner.bitOffset + m.bitOffset };
    }
  }
  return undefined;
}

function byName(btf: Btf, name: string, kinds: number[]): number {
  const id = btf.findByName(name).find((i) => kinds.includes(btf.kindOf(i)));
  if (id === undefined) throw new Error(`the blob has no ${name}: add it to spec.ts and re-extract`);
  return id;
}

/** The kind the project's Layout uses for a C field. */
function kindOf(btf: Btf, type: number, path: string): { kind: string; len?: number } {
  const size = sizeOf(btf, type);
  const r = resolve(btf, type);
  const t = btf.type(r);
  if (t.kind === BTF_KIND_ARRAY) {
    const elem = btf.type(resolve(btf, t.type));
    const isChar = elem.kind === BTF_KIND_INT && elem.name === 'char';
    return { kind: isChar ? 'chars' : 'bytes', len: size };
  }
  if (t.kind === BTF_KIND_INT || t.kind === BTF_KIND_ENUM) {
    const signed = t.kind === BTF_KIND_INT ? (t.encoding & 1) !== 0 : t.signed;
    if (size === 8) return { kind: 'u64' };
    if (size === 4) return { kind: signed ? 's32' : 'u32' };
    if (size === 2) return { kind: 'u16' };
    if (size === 1) return { kind: 'u8' };
  }
  throw new Error(`${path}: no layout kind for a ${btf.kindName(r)} of ${size} bytes`);
}

function layoutOf(btf: Btf, spec: LayoutSpec): { fields: FieldOut[]; size: number } {
  const structId = byName(btf, spec.struct, [BTF_KIND_STRUCT, BTF_KIND_UNION]);
  let base = structId;
  let baseOff = 0;
  if (spec.variant) {
    const u = btf.type(structId) as BtfComposite;
    const v = spec.variant;
    const member = 'member' in v ? u.members.find((m) => m.name === v.member) : u.members.find((m) => m.name === '' && findMember(btf, m.type, v.anonWith));
    if (!member) throw new Error(`${spec.struct} has no variant ${JSON.stringify(v)}`);
    base = member.type;
    baseOff = member.bitOffset / 8;
  }
  for (const p of spec.ptrs ?? []) if (!(p in spec.fields)) throw new Error(`${spec.title}: ptrs names ${p}, which is not a field`);
  const fields: FieldOut[] = [];
  let end = 0;
  for (const [name, what] of Object.entries(spec.fields)) {
    const [path, forced] = typeof what === 'string' ? [what, undefined] : what;
    let type = base;
    let bits = baseOff * 8;
    let bitfield = 0;
    for (const part of path.split('.')) {
      const m = findMember(btf, type, part);
      if (!m) throw new Error(`${spec.title}: no field ${path}`);
      type = m.type;
      bits += m.bitOffset;
      bitfield = m.bitfieldSize;
    }
    let k: { kind: string; len?: number };
    let width: number;
    if (forced === 'flags64') {
      // the 64-bit word holding a run of bitfields, named by its first bitfield
      if (!bitfield || bits % 64 !== 0) throw new Error(`${spec.title}: ${path} does not start a bitfield word`);
      k = { kind: 'u64' };
      width = 8;
    } else if (forced === 'u32' && bitfield && bits % 32 === 0) {
      // a one-bit field read as its whole 32-bit word (bpf_prog_info.gpl_compatible)
      k = { kind: 'u32' };
      width = 4;
    } else {
      if (bitfield || bits % 8 !== 0) throw new Error(`${spec.title}: ${path} is a bitfield`);
      k = kindOf(btf, type, `${spec.title}.${path}`);
      width = sizeOf(btf, type);
      if (spec.ptrs?.includes(name)) {
        if (k.kind !== 'u64') throw new Error(`${spec.title}: ${path} is a ${k.kind}, not a 64-bit address`);
        k = { kind: 'ptr' };
      }
    }
    const off = bits / 8;
    fields.push({ name, off, ...k });
    end = Math.max(end, off + width);
  }
  const round = spec.roundTo ?? 1;
  return { fields, size: Math.ceil(end / round) * round };
}

function enumValues(btf: Btf, id: number): { name: string; value: bigint }[] {
  const t = btf.type(id) as BtfEnum | BtfEnum64;
  return t.values.map((v) => ({ name: v.name, value: BigInt(v.value) }));
}

/** A value as TypeScript source: a number when it is one exactly (u32 flags stay unsigned). */
function lit(v: bigint, signed: boolean): string {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) return `${v}n`;
  if (!signed && v < 0n) v += 1n << 32n;
  return String(v);
}

export function generate(blob: Uint8Array): string {
  const btf = parseBtf(blob, { name: 'pinned' });
  const out: string[] = [];
  out.push('// GENERATED by scripts/gen_uapi.ts (npm run gen:uapi) from the BTF of');
  out.push(`// ${PINNED_KERNEL}.`);
  out.push('// Do not edit: change scripts/uapi/spec.ts and regenerate. test/uapi.test.ts fails when this file is stale.');
  out.push('/* eslint-disable */');
  out.push('');
  for (const e of ENUMS) {
    const id = byName(btf, e.btf, [BTF_KIND_ENUM, BTF_KIND_ENUM64]);
    const signed = (btf.type(id) as BtfEnum).signed;
    out.push(`/** ${e.doc} */`);
    out.push(`export enum ${e.ts} {`);
    for (const v of enumValues(btf, id)) {
      if (v.name.startsWith('__') || v.name.startsWith('MAX_')) continue; // __MAX_BPF_ATTACH_TYPE and friends
      out.push(`  ${v.name} = ${lit(v.value, signed)},`);
    }
    for (const [name, value, since] of e.newer ?? []) {
      if (enumValues(btf, id).some((v) => v.name === name)) throw new Error(`${name} is in the pinned kernel now: drop it from spec.ts`);
      out.push(`  /** Linux ${since}: newer than the pinned kernel. */`);
      out.push(`  ${name} = ${value},`);
    }
    out.push('}');
    out.push('');
  }
  for (const c of CONST_ENUMS) {
    const id = anonEnumWith(btf, c.member)!;
    const signed = (btf.type(id) as BtfEnum).signed;
    out.push(`// ${c.doc}`);
    for (const v of enumValues(btf, id)) out.push(`export const ${v.name} = ${lit(v.value, signed)};`);
    out.push('');
  }
  for (const b of BITFIELD_WORDS) {
    const sid = byName(btf, b.struct, [BTF_KIND_STRUCT]);
    const first = findMember(btf, sid, b.first)!;
    const word = first.bitOffset;
    out.push(`/** ${b.doc}: bit of each flag. */`);
    out.push(`export const ${b.ts} = {`);
    for (const m of (btf.type(sid) as BtfComposite).members) {
      if (!m.bitfieldSize || m.bitOffset < word || m.bitOffset >= word + 64 || m.name === '' || m.name.startsWith('__')) continue;
      if (m.bitfieldSize !== 1) continue; // multi-bit fields (precise_ip) are values, not flags
      out.push(`  ${m.name}: 1n << ${m.bitOffset - word}n,`);
    }
    out.push('} as const;');
    out.push('');
  }
  out.push('/** A field of a kernel struct: its byte offset, its kind and (arrays) its length. */');
  out.push("export interface UapiField { readonly off: number; readonly kind: 'u8' | 'u16' | 'u32' | 's32' | 'u64' | 'ptr' | 'chars' | 'bytes'; readonly len?: number }");
  out.push('');
  for (const l of LAYOUTS) {
    const { fields, size } = layoutOf(btf, l);
    out.push(`/** ${l.title}: ${size} bytes. */`);
    out.push(`export const ${l.ts} = {`);
    out.push(`  name: '${l.title}',`);
    out.push(`  size: ${size},`);
    out.push('  fields: {');
    for (const f of fields) out.push(`    ${f.name}: { off: ${f.off}, kind: '${f.kind}'${f.len !== undefined ? `, len: ${f.len}` : ''} },`);
    out.push('  },');
    out.push('} as const;');
    out.push('');
  }
  out.push('/** sizeof of kernel structs read or written whole. */');
  for (const n of ['bpf_insn', 'perf_event_header', 'bpf_link_info']) {
    const id = byName(btf, n, [BTF_KIND_STRUCT, BTF_KIND_UNION]);
    out.push(`export const SIZEOF_${n.toUpperCase()} = ${sizeOf(btf, id)};`);
  }
  const mmap = byName(btf, 'perf_event_mmap_page', [BTF_KIND_STRUCT]);
  out.push('');
  out.push('/** struct perf_event_mmap_page: where the perf ring\'s head, tail and data area are. */');
  for (const f of ['data_head', 'data_tail', 'data_offset', 'data_size']) out.push(`export const PERF_MMAP_PAGE_${f.toUpperCase()} = ${findMember(btf, mmap, f)!.bitOffset / 8};`);
  out.push('');
  return out.join('\n');
}

function main(): void {
  const args = process.argv.slice(2);
  if (args[0] === '--extract') {
    if (!args[1]) throw new Error('usage: gen:uapi --extract <vmlinux>');
    extract(args[1]);
  }
  const text = generate(gunzipSync(readFileSync(BLOB_PATH)));
  if (args[0] === '--check') {
    const current = readFileSync(OUTPUT_PATH, 'utf8');
    if (current !== text) {
      process.stderr.write(`gen:uapi: ${OUTPUT_PATH} is stale; run npm run gen:uapi\n`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(OUTPUT_PATH, text);
  process.stderr.write(`gen:uapi: wrote ${OUTPUT_PATH} (${text.length} bytes)\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
