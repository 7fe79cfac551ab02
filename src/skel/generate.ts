// The skeleton generator: a compiled BPF object in, one readable TypeScript
// module out (what `bpftool gen skeleton` is to C and bpf2go to Go). The
// module exports a class named after the object:
//
//   const skel = Bootstrap.open();              // parse (the object is embedded)
//   skel.rodata.min_duration_ns = 10_000_000n;  // .rodata: before load only
//   const live = skel.load();                   // maps, programs; rodata now read-only (in the types too)
//   live.attach();                              // every program whose section names its target
//   live.maps.rb.onEvent((e) => e.comm);        // typed records (types: ['event'])
//   live.maps.exec_start.lookup(1234);          // typed keys and values
//   await live.destroy();
//
// Every type, offset and size comes from the object's BTF through generated
// codecs (src/codegen/ts_types.ts); the run-time classes are in
// src/skel/runtime.ts. Anything the generator cannot describe is a
// CodegenError naming the type, map or variable.
import { basename } from 'node:path';
import { CodegenError, TsTypeEmitter } from '../codegen/ts_types.ts';
import { BTF_KIND_VAR, BTF_VAR_STATIC, type BtfVar } from '../btf/index.ts';
import { MapType } from '../maps/index.ts';
import { objectNameOf, parseObject } from '../object/parse.ts';
import type { CollectionSpec, ObjectMapSpec } from '../object/spec.ts';
import { TsbpfError } from '../errors.ts';

export interface GenerateSkeletonOptions {
  /** Object name: the class name and the name given to the kernel objects (default: from objectPath, else "object"). */
  name?: string;
  /**
   * Types to generate even if no map or variable uses them (bpf2go's -type),
   * by name. The first struct among them is the record type of the object's
   * ring or perf buffer when it has exactly one; "MAP:TYPE" names a buffer's
   * record type explicitly ("rb:event").
   */
  types?: readonly string[];
  /** Embed the object's bytes in the module as base64 (default true); false reads objectPath at open(). */
  embed?: boolean;
  /** The object's path: named in the header, and read at open() (relative to the module) when not embedded. */
  objectPath?: string;
  /** Where the module imports tsbpf from (default 'tsbpf'). */
  importFrom?: string;
}

/** Map types that hold fds or have no keys: exposed as the BpfMap itself. */
const RAW_MAP_TYPES = new Set<number>([
  MapType.BPF_MAP_TYPE_PROG_ARRAY, MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, MapType.BPF_MAP_TYPE_HASH_OF_MAPS, MapType.BPF_MAP_TYPE_CGROUP_ARRAY,
  MapType.BPF_MAP_TYPE_STACK_TRACE, MapType.BPF_MAP_TYPE_DEVMAP, MapType.BPF_MAP_TYPE_DEVMAP_HASH, MapType.BPF_MAP_TYPE_CPUMAP,
  MapType.BPF_MAP_TYPE_XSKMAP, MapType.BPF_MAP_TYPE_SOCKMAP, MapType.BPF_MAP_TYPE_SOCKHASH, MapType.BPF_MAP_TYPE_QUEUE,
  MapType.BPF_MAP_TYPE_STACK, MapType.BPF_MAP_TYPE_USER_RINGBUF, MapType.BPF_MAP_TYPE_BLOOM_FILTER, MapType.BPF_MAP_TYPE_STRUCT_OPS,
  MapType.BPF_MAP_TYPE_ARENA, MapType.BPF_MAP_TYPE_SK_STORAGE, MapType.BPF_MAP_TYPE_INODE_STORAGE, MapType.BPF_MAP_TYPE_TASK_STORAGE,
  MapType.BPF_MAP_TYPE_CGRP_STORAGE,
].filter((t) => t !== undefined));

/** The class name for an object name: "ringbuf_bench" -> "RingbufBench". */
export function skeletonClassName(objName: string): string {
  const words = objName.split(/[^A-Za-z0-9]+/).filter(Boolean);
  let name = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  if (name === '' || /^[0-9]/.test(name)) name = `Bpf${name}`;
  return name;
}

/** The skeleton property of a global data section: ".bss" -> "bss", ".data.custom" -> "data_custom". */
function sectionProperty(section: string): string {
  return section.replace(/^\./, '').replace(/[^A-Za-z0-9_]/g, '_');
}

function ident(name: string, what: string, obj: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new CodegenError(`${what} "${name}"`, `of object ${obj} is not an identifier TypeScript can name`);
  return name;
}

/** The base64 of `bytes` in lines of 76 characters, as array elements. */
function base64Lines(bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(`  '${b64.slice(i, i + 76)}',`);
  return lines.join('\n');
}

/**
 * A TypeScript module for the object `object` (its bytes). Throws a
 * CodegenError naming what it cannot describe (and lets the parser's
 * ObjectError/ElfError/BtfError through: all TsbpfErrors).
 */
export function generateSkeleton(object: Uint8Array, opts: GenerateSkeletonOptions = {}): string {
  const objName = opts.name ?? (opts.objectPath ? objectNameOf(opts.objectPath) : 'object');
  try {
    return generate(parseObject(object, { name: objName }), object, objName, opts);
  } catch (e) {
    if (e instanceof TsbpfError) throw e;
    // a bug of ours on input we did not foresee: still a typed error, naming the object
    throw new CodegenError(`object ${objName}`, `the generator failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

function generate(spec: CollectionSpec, object: Uint8Array, objName: string, opts: GenerateSkeletonOptions): string {
  const cls = skeletonClassName(objName);
  const importFrom = opts.importFrom ?? 'tsbpf';
  const embed = opts.embed ?? true;
  if (!embed && !opts.objectPath) throw new CodegenError(`object ${objName}`, 'embed: false needs objectPath (where open() reads the object)');
  const btf = spec.btf;
  const e = btf ? new TsTypeEmitter(btf, { importFrom, reserved: [cls, `${cls}Loaded`] }) : undefined;
  const needBtf = (what: string): TsTypeEmitter => {
    if (!e) throw new CodegenError(what, `object ${objName} has no BTF (compile it with clang -g)`);
    return e;
  };

  // types asked for by name, and buffer record types
  const explicitRecord = new Map<string, string>();
  const plainTypes: string[] = [];
  for (const t of opts.types ?? []) {
    const colon = t.indexOf(':');
    if (colon > 0) explicitRecord.set(t.slice(0, colon), t.slice(colon + 1));
    else plainTypes.push(t);
  }
  const typeId = (name: string): number => {
    const id = needBtf(`type ${name}`).findType(name);
    if (!id) throw new CodegenError(`type ${name}`, `object ${objName} has no struct, union, enum or typedef named "${name}" in its BTF${name === 'event' ? ' (a type used only inside functions is not in BTF: name it in a global, e.g. `const struct event *unused __attribute__((unused));`)' : ''}`);
    return id;
  };
  // each named struct or union also gets its zero-allocation view class
  for (const t of plainTypes) {
    const id = typeId(t);
    needBtf(`type ${t}`).typeName(id);
    if (resolveComposite(e!, id)) e!.viewOf(id);
  }

  const userMaps = spec.maps.filter((m) => m.origin === 'btf' || m.origin === 'legacy');
  const buffers = userMaps.filter((m) => m.spec.type === MapType.BPF_MAP_TYPE_RINGBUF || m.spec.type === MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  for (const name of explicitRecord.keys()) {
    if (!buffers.some((b) => b.name === name)) throw new CodegenError(`map "${name}"`, `object ${objName} has no ring or perf buffer named "${name}" (buffers: ${buffers.map((b) => b.name).join(', ') || 'none'})`);
  }
  const firstStruct = plainTypes.find((t) => {
    const id = typeId(t);
    const r = resolveComposite(needBtf(t), id);
    return r;
  });
  const recordOf = (m: ObjectMapSpec): string | undefined => explicitRecord.get(m.name) ?? (buffers.length === 1 ? firstStruct : undefined);

  // maps
  const mapFields: string[] = [];
  const mapInits: string[] = [];
  for (const m of userMaps) {
    const prop = ident(m.name, 'map', objName);
    const t = m.spec.type;
    if (t === MapType.BPF_MAP_TYPE_RINGBUF || t === MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
      const kind = t === MapType.BPF_MAP_TYPE_RINGBUF ? '$RingBufMap' : '$PerfBufMap';
      const rec = recordOf(m);
      if (rec) {
        const id = typeId(rec);
        const ts = e!.typeName(id);
        const codec = e!.codecOf(id);
        const view = resolveComposite(e!, id) ? e!.viewOf(id) : undefined;
        mapFields.push(`  /** ${mapDoc(m)}; records: ${e!.cName(id)} */`, `  readonly ${prop}: ${kind}<${ts}${view ? `, ${view}` : ''}>;`);
        mapInits.push(`      ${prop}: new ${kind}(this, obj.map(${JSON.stringify(m.name)}), ${codec}${view ? `, ${view}` : ''}),`);
      } else {
        mapFields.push(`  /** ${mapDoc(m)}; records: bytes (generate with its record type for typed records) */`, `  readonly ${prop}: ${kind}<Uint8Array>;`);
        mapInits.push(`      ${prop}: new ${kind}(this, obj.map(${JSON.stringify(m.name)})),`);
      }
      continue;
    }
    if (RAW_MAP_TYPES.has(t) || m.spec.keySize === 0) {
      mapFields.push(`  /** ${mapDoc(m)} */`, `  readonly ${prop}: $RawMap;`);
      mapInits.push(`      ${prop}: new $RawMap(this, obj.map(${JSON.stringify(m.name)})),`);
      continue;
    }
    const [kts, kcodec] = keyValue(e, m.btfKeyTypeId, m.spec.keySize);
    const [vts, vcodec] = keyValue(e, m.btfValueTypeId, m.spec.valueSize);
    mapFields.push(`  /** ${mapDoc(m)}${e && m.btfKeyTypeId ? `; key ${e.cName(m.btfKeyTypeId)}` : ''}${e && m.btfValueTypeId ? `, value ${e.cName(m.btfValueTypeId)}` : ''} */`, `  readonly ${prop}: $TypedMap<${kts}, ${vts}>;`);
    mapInits.push(`      ${prop}: new $TypedMap(this, obj.map(${JSON.stringify(m.name)}), ${kcodec}, ${vcodec}),`);
  }

  // global data sections
  const sections: { section: string; prop: string; cls: string; readonly: boolean; body: string }[] = [];
  for (const m of spec.maps) {
    if (m.origin !== 'data') continue;
    // static variables (bpf_printk's formats, file-scope statics) are the object's own, as in libbpf's skeletons
    const vars = spec.globals.filter((g) => g.map === m.name && !isStaticVar(spec, g.name));
    if (vars.length === 0) continue;
    const prop = sectionProperty(m.name);
    const gcls = `${cls}$${prop}`;
    const members: string[] = [];
    for (const v of vars) {
      const name = ident(v.name, `variable (${m.name})`, objName);
      const em = needBtf(`variable ${v.name}`);
      const ts = em.typeName(v.typeId);
      const codec = em.codecOf(v.typeId);
      members.push(
        `  /** ${em.cName(v.typeId)} ${v.name} (${v.size} bytes at ${v.offset}) */`,
        `  get ${name}(): ${ts} {`,
        `    return this.$g.read(${v.offset}, ${codec});`,
        `  }`,
        `  set ${name}(value: ${ts}) {`,
        `    this.$g.write(${v.offset}, ${codec}, value, ${JSON.stringify(v.name)});`,
        `  }`,
      );
    }
    const ro = m.readonly === true;
    sections.push({
      section: m.name,
      prop,
      cls: gcls,
      readonly: ro,
      body: [
        `/** ${m.name} of ${objName}: ${ro ? 'set before load(); read-only after' : 'read and written live through the mmap\'d map after load()'}. */`,
        `export class ${gcls} {`,
        `  readonly $g: $GlobalSection;`,
        `  constructor(g: $GlobalSection) {`,
        `    this.$g = g;`,
        `  }`,
        ...members,
        `}`,
      ].join('\n'),
    });
  }

  const progs = spec.programs.map((p) => ({ prop: ident(p.name, 'program', objName), name: p.name, section: p.sectionName }));
  const types = e?.render();
  const runtimeImports = [
    'Skeleton as $Skeleton', 'type BpfObject as $BpfObject', 'type SkeletonOpenOptions as $SkeletonOpenOptions', 'type ObjectProgram as $ObjectProgram', 'type Link as $Link',
    'TypedMap as $TypedMap', 'RawMap as $RawMap', 'RingBufMap as $RingBufMap', 'PerfBufMap as $PerfBufMap', 'GlobalSection as $GlobalSection',
  ].filter((n) => {
    const local = n.split(' as ')[1]!;
    const used = [mapFields.join('\n'), sections.map((s) => s.body).join('\n')].join('\n');
    return ['$Skeleton', '$BpfObject', '$SkeletonOpenOptions', '$ObjectProgram', '$Link'].includes(local) || used.includes(`${local}`) || (local === '$GlobalSection' && sections.length > 0);
  });
  const source = opts.objectPath ? basename(opts.objectPath) : `${objName}.bpf.o`;
  const roSections = sections.filter((s) => s.readonly);

  const out: string[] = [];
  out.push(
    `// Generated by tsbpf (generateSkeleton) from ${source}: do not edit.`,
    `// Regenerate after rebuilding the object: tsbpf gen skeleton ${source}${(opts.types ?? []).map((t) => ` --type ${t}`).join('')}`,
  );
  if (!embed) out.push(`import { readFileSync } from 'node:fs';`, `import { fileURLToPath } from 'node:url';`);
  out.push(e ? e.imports(runtimeImports) : `import {\n${runtimeImports.map((n) => `  ${n},`).join('\n')}\n} from ${JSON.stringify(importFrom)};`);
  if (types?.body) out.push('', '// ---- types from the object\'s BTF', '', types.body);
  if (sections.length) out.push('', '// ---- global variables', '', sections.map((s) => s.body).join('\n\n'));
  out.push(
    '',
    '// ---- the skeleton',
    '',
    `/** ${objName}: ${progs.length} program${progs.length === 1 ? '' : 's'}, ${userMaps.length} map${userMaps.length === 1 ? '' : 's'}. */`,
    `export class ${cls} extends $Skeleton {`,
    `  /** The programs (settings such as autoload before load; .prog after). */`,
    `  readonly progs: {`,
    ...progs.map((p) => `    /** SEC(${JSON.stringify(p.section)}) */\n    readonly ${p.prop}: $ObjectProgram;`),
    `  };`,
    `  readonly maps: {`,
    ...mapFields.map((l) => `  ${l}`),
    `  };`,
    ...sections.map((s) => `  readonly ${s.prop}: ${s.cls};`),
    '',
    `  private constructor(obj: $BpfObject) {`,
    `    super(obj);`,
    `    this.progs = {`,
    ...progs.map((p) => `      ${p.prop}: obj.program(${JSON.stringify(p.name)}),`),
    `    };`,
    `    this.maps = {`,
    ...mapInits,
    `    };`,
    ...sections.map((s) => `    this.${s.prop} = new ${s.cls}(new $GlobalSection(this, ${JSON.stringify(s.section)}));`),
    `  }`,
    '',
    `  /** Parse the object (no kernel access): set .rodata and map/program settings, then load(). */`,
    `  static open(opts: $SkeletonOpenOptions = {}): ${cls} {`,
    `    return new ${cls}($Skeleton.openObject(${embed ? '$objectBytes()' : 'readFileSync(fileURLToPath(new URL(OBJECT_PATH, import.meta.url)))'}, ${JSON.stringify(objName)}, opts));`,
    `  }`,
    '',
    `  /** open() then load(). */`,
    `  static openAndLoad(opts: $SkeletonOpenOptions = {}): ${cls}Loaded {`,
    `    return ${cls}.open(opts).load();`,
    `  }`,
    '',
    `  /** Create the maps and load the programs.${roSections.length ? ` ${roSections.map((s) => s.section).join(', ')} become${roSections.length === 1 ? 's' : ''} read-only.` : ''} */`,
    `  override load(): ${cls}Loaded {`,
    `    super.load();`,
    `    return this;`,
    `  }`,
    '',
    `  /** The links made by attach(), by program. */`,
    `  override get links(): { ${progs.map((p) => `readonly ${p.prop}?: $Link`).join('; ')}${progs.length ? ';' : ''} } {`,
    `    return super.links;`,
    `  }`,
    `}`,
    '',
    `/** A loaded ${cls}: the same object, with read-only sections typed read-only. */`,
    roSections.length
      ? `export type ${cls}Loaded = Omit<${cls}, 'load' | ${roSections.map((s) => `'${s.prop}'`).join(' | ')}> & { ${roSections.map((s) => `readonly ${s.prop}: Readonly<${s.cls}>`).join('; ')} };`
      : `export type ${cls}Loaded = Omit<${cls}, 'load'>;`,
  );
  if (embed) {
    out.push(
      '',
      `/** ${source} (${object.length} bytes), base64. */`,
      `const OBJECT_BASE64 = [`,
      base64Lines(object),
      `].join('');`,
      '',
      `function $objectBytes(): Uint8Array {`,
      `  return Buffer.from(OBJECT_BASE64, 'base64');`,
      `}`,
    );
  } else {
    out.push('', `/** The object, relative to this module. */`, `const OBJECT_PATH = ${JSON.stringify(opts.objectPath!)};`);
  }
  return `${out.join('\n')}\n`;
}

function isStaticVar(spec: CollectionSpec, name: string): boolean {
  if (!spec.btf) return false;
  const ids = spec.btf.findByName(name, BTF_KIND_VAR);
  return ids.length > 0 && ids.every((id) => (spec.btf!.type(id) as BtfVar).linkage === BTF_VAR_STATIC);
}

function mapDoc(m: ObjectMapSpec): string {
  const type = Object.entries(MapType).find(([, v]) => v === m.spec.type)?.[0] ?? `type ${m.spec.type}`;
  return `${type}, max_entries ${m.spec.maxEntries}`;
}

function resolveComposite(e: TsTypeEmitter, id: number): boolean {
  let r = id;
  for (let d = 0; d < 32 && r !== 0; d++) {
    const k = e.btf.kindOf(r);
    if (k === 4 || k === 5) return true;
    if (k !== 8 && k !== 9 && k !== 10 && k !== 11 && k !== 18) return false;
    r = e.btf.sizeOrTypeOf(r);
  }
  return false;
}

/** TS type and codec of a map key or value: from BTF, or bytes of the right size without it. */
function keyValue(e: TsTypeEmitter | undefined, id: number, size: number): [string, string] {
  if (e && id) return [e.typeName(id), e.codecOf(id)];
  return ['Uint8Array', `{ name: 'bytes[${size}]', size: ${size}, decode: (dv: DataView, off: number) => new Uint8Array(dv.buffer.slice(dv.byteOffset + off, dv.byteOffset + off + ${size})), encode: (dv: DataView, off: number, v: Uint8Array) => { new Uint8Array(dv.buffer, dv.byteOffset + off, ${size}).set(v.subarray(0, ${size})); } }`];
}
