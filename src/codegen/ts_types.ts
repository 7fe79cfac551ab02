// TypeScript declarations and straight-line codecs for BTF types.
//
// For each C type asked for, the emitter writes a TypeScript type and a Codec
// whose decode/encode are plain DataView calls at constant offsets, generated
// once from the BTF: nothing is interpreted at run time. The mapping:
//   integers up to 32 bits      number (bool: boolean)
//   64- and 128-bit integers    bigint
//   pointers                    bigint (the address; never followed)
//   floats                      number
//   char[N]                     string, up to the first NUL (UTF-8)
//   other numeric arrays        typed arrays (Int32Array, BigUint64Array, ...)
//   arrays of anything else     arrays (length checked on encode)
//   enums                       a const object of the named values + the union of its values
//   structs, unions             interfaces; anonymous members are flattened, as C reads them
//   bitfields                   shifted and masked (number up to 32 bits, else bigint)
// Padding is zeroed on encode. Union members are all decoded (they overlay the
// same bytes); encode writes those given, largest first.
// For record types (ring buffer events) a view class reads fields in place:
// getters over a DataView + offset, re-pointed per record with $at() (no
// allocation), toObject() for a copy to keep.
// A type that cannot be described (a forward declaration used by value, a
// function, a 3-byte integer, a cycle) is a CodegenError naming the type.
import { TsbpfError } from '../errors.ts';
import {
  type Btf, type BtfComposite, type BtfEnum, type BtfEnum64, type BtfMember, BtfError, memberBitfieldSize, sizeof, typeToC,
  BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT,
  BTF_KIND_INT, BTF_KIND_NAMES, BTF_KIND_PTR, BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG,
  BTF_KIND_UNION, BTF_KIND_VOLATILE, MAX_RESOLVE_DEPTH,
} from '../btf/index.ts';

/** A BTF type has no TypeScript description (or the BTF is malformed). The message names the type. */
export class CodegenError extends TsbpfError {
  constructor(
    /** The C spelling of the type ("struct event", "[12] FWD foo"). */
    readonly typeName: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${typeName}: ${message}`, options);
    this.name = 'CodegenError';
    this.code = 'EINVAL';
  }
}

export interface EmitTsOptions {
  /** Where generated code imports its run-time helpers from (default 'tsbpf'). */
  importFrom?: string;
  /** Structs (ids or names) that also get a zero-allocation view class `<name>View`. */
  views?: readonly (number | string)[];
  /** Identifiers the surrounding module uses: generated names avoid them. */
  reserved?: readonly string[];
}

/** The run-time helpers generated code may call (src/codegen/runtime.ts), imported as `$name`. */
const HELPERS = [
  'readCString', 'writeCString', 'zeroBytes', 'checkInt', 'checkBigInt', 'checkFloat', 'checkObject', 'readBits', 'readBitsBig',
  'writeBits', 'readInt128', 'writeInt128', 'readArray', 'writeArray',
] as const;
type Helper = (typeof HELPERS)[number];

/** Words TypeScript (or the globals generated code uses) would not let a declaration be named. */
const RESERVED = new Set([
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum', 'export', 'extends',
  'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'new', 'null', 'return', 'super', 'switch', 'this', 'throw',
  'true', 'try', 'typeof', 'var', 'void', 'while', 'with', 'yield', 'let', 'static', 'implements', 'interface', 'package', 'private',
  'protected', 'public', 'await', 'any', 'boolean', 'number', 'string', 'symbol', 'bigint', 'object', 'never', 'unknown', 'undefined',
  'type', 'as', 'async', 'of', 'declare', 'module', 'namespace', 'require', 'keyof', 'readonly', 'infer', 'is', 'asserts', 'global',
  'arguments', 'eval', 'DataView', 'Array', 'Number', 'BigInt', 'String', 'Object', 'Symbol', 'Math', 'Error', 'Map', 'Set', 'Promise',
  'Uint8Array', 'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array', 'BigInt64Array', 'BigUint64Array',
  'Float32Array', 'Float64Array', 'ArrayLike', 'Partial', 'Record', 'globalThis', 'Buffer', 'process', 'console',
]);

const TYPED_ARRAYS: Record<string, { ctor: string; get: string; set: string; size: number }> = {
  i8: { ctor: 'Int8Array', get: 'getInt8', set: 'setInt8', size: 1 },
  u8: { ctor: 'Uint8Array', get: 'getUint8', set: 'setUint8', size: 1 },
  i16: { ctor: 'Int16Array', get: 'getInt16', set: 'setInt16', size: 2 },
  u16: { ctor: 'Uint16Array', get: 'getUint16', set: 'setUint16', size: 2 },
  i32: { ctor: 'Int32Array', get: 'getInt32', set: 'setInt32', size: 4 },
  u32: { ctor: 'Uint32Array', get: 'getUint32', set: 'setUint32', size: 4 },
  i64: { ctor: 'BigInt64Array', get: 'getBigInt64', set: 'setBigInt64', size: 8 },
  u64: { ctor: 'BigUint64Array', get: 'getBigUint64', set: 'setBigUint64', size: 8 },
  f32: { ctor: 'Float32Array', get: 'getFloat32', set: 'setFloat32', size: 4 },
  f64: { ctor: 'Float64Array', get: 'getFloat64', set: 'setFloat64', size: 8 },
};

/** An array: its element, count, stride, and whether it reads as a string or a typed array. */
interface ArrayShape {
  elem: number;
  n: number;
  stride: number;
  chars: boolean;
  typed?: (typeof TYPED_ARRAYS)[string];
}

/** One declaration to write: a named C type (struct, union, enum, typedef) or a view class. */
interface Decl {
  id: number;
  name: string;
  what: 'type' | 'view' | 'codec';
}

/** A member as seen through anonymous struct/union members: its name, type and offset from the outer type. */
interface FlatMember {
  name: string;
  type: number;
  bitOffset: number;
  bitfield: number;
  /** True when this member overlays others (it is a union member, directly or through an anonymous union). */
  inUnion: boolean;
  /** Size of the union arm it belongs to (for encode order), or 0. */
  armSize: number;
}

/**
 * Emits TypeScript for types of one Btf. Ask for names with `typeName`,
 * `codecOf`, `viewOf`; `render()` writes every declaration those asked for
 * (and what they reference), in a stable order.
 */
export class TsTypeEmitter {
  readonly #btf: Btf;
  readonly #importFrom: string;
  readonly #decls: Decl[] = [];
  readonly #declOf = new Map<string, Decl>();
  readonly #used = new Set<string>();
  readonly #helpers = new Set<Helper>();
  #needCodecType = false;
  #needViewType = false;

  constructor(btf: Btf, opts: EmitTsOptions = {}) {
    this.#btf = btf;
    this.#importFrom = opts.importFrom ?? 'tsbpf';
    for (const r of opts.reserved ?? []) this.#used.add(r);
  }

  get btf(): Btf {
    return this.#btf;
  }

  // ---------------------------------------------------------------- naming

  /** The C spelling of `id`, for messages and codec names. */
  cName(id: number): string {
    if (id === 0) return 'void';
    const s = typeToC(this.#btf, id);
    return s.startsWith('<bad type') ? `[${id}] ${BTF_KIND_NAMES[this.#kind(id)] ?? 'kind ?'}` : s;
  }

  #fail(id: number, message: string, cause?: unknown): never {
    throw new CodegenError(this.#safeName(id), message, cause === undefined ? undefined : { cause });
  }

  #safeName(id: number): string {
    try {
      return `${this.cName(id)} [${id}]`;
    } catch {
      return `type [${id}]`;
    }
  }

  #kind(id: number): number {
    try {
      return this.#btf.kindOf(id);
    } catch (e) {
      throw new CodegenError(`type [${id}]`, e instanceof Error ? e.message : String(e), { cause: e });
    }
  }

  #allocate(base: string, suffix: string): string {
    let name = base.replace(/[^A-Za-z0-9_]/g, '_');
    if (/^[0-9]/.test(name) || name === '') name = `_${name}`;
    if (RESERVED.has(name)) name = `${name}_`;
    if (this.#used.has(name)) name = `${name}_${suffix}`;
    for (let i = 2; this.#used.has(name); i++) name = `${name.replace(/_\d+$/, '')}_${i}`;
    this.#used.add(name);
    return name;
  }

  /** `id` with const/volatile/restrict/type_tag skipped (typedefs kept). */
  #skipMods(id: number): number {
    for (let d = 0; d <= MAX_RESOLVE_DEPTH; d++) {
      if (id === 0) return 0;
      const k = this.#kind(id);
      if (k !== BTF_KIND_CONST && k !== BTF_KIND_VOLATILE && k !== BTF_KIND_RESTRICT && k !== BTF_KIND_TYPE_TAG) return id;
      id = this.#btf.sizeOrTypeOf(id);
    }
    this.#fail(id, `modifier chain longer than ${MAX_RESOLVE_DEPTH} (a cycle?)`);
  }

  /** `id` with modifiers and typedefs skipped. */
  #resolve(id: number): number {
    const start = id;
    for (let d = 0; d <= MAX_RESOLVE_DEPTH; d++) {
      id = this.#skipMods(id);
      if (id === 0 || this.#kind(id) !== BTF_KIND_TYPEDEF) return id;
      id = this.#btf.sizeOrTypeOf(id);
    }
    this.#fail(start, `typedef chain longer than ${MAX_RESOLVE_DEPTH} (a cycle?)`);
  }

  /** Does `id` (modifiers skipped) get a declaration of its own? */
  #isDeclared(id: number): boolean {
    const k = this.#kind(id);
    if (k === BTF_KIND_TYPEDEF) return this.#btf.nameOf(id) !== '';
    if (k === BTF_KIND_STRUCT || k === BTF_KIND_UNION || k === BTF_KIND_ENUM || k === BTF_KIND_ENUM64) return this.#btf.nameOf(id) !== '';
    return false;
  }

  /** The declaration name of a struct, union, enum or typedef (declared on first use). */
  #declName(id: number): string {
    const key = `type:${id}`;
    const d = this.#declOf.get(key);
    if (d) return d.name;
    const k = this.#kind(id);
    const cname = this.#btf.nameOf(id);
    if (k === BTF_KIND_TYPEDEF) {
      this.#resolve(id); // a typedef cycle is a CodegenError here, not endless recursion below
      // "typedef struct foo foo;" names one thing twice: the typedef is the struct's declaration.
      const target = this.#skipMods(this.#btf.sizeOrTypeOf(id));
      if (target !== 0 && this.#isDeclared(target) && this.#kind(target) !== BTF_KIND_TYPEDEF && this.#btf.nameOf(target) === cname) {
        const n = this.#declName(target);
        this.#declOf.set(key, { id, name: n, what: 'type' });
        return n;
      }
      // a typedef of a declared type is an alias written after its target
      if (target !== 0 && this.#isDeclared(target)) this.#declName(target);
    }
    const suffix = k === BTF_KIND_UNION ? 'union' : k === BTF_KIND_ENUM || k === BTF_KIND_ENUM64 ? 'enum' : k === BTF_KIND_TYPEDEF ? 't' : 'struct';
    const decl: Decl = { id, name: this.#allocate(cname, suffix), what: 'type' };
    this.#declOf.set(key, decl);
    this.#decls.push(decl);
    return decl.name;
  }

  /** The TypeScript type of C type `id` (declaring named types it uses). */
  typeName(id: number): string {
    return this.#wrap(id, () => this.#tsType(id, 0));
  }

  /**
   * A codec expression for C type `id`: the name of its declared codec, or an
   * inline codec object for scalars, pointers and anonymous types.
   */
  codecOf(id: number): string {
    return this.#wrap(id, () => {
      const s = this.#skipMods(id);
      if (s !== 0 && this.#isDeclared(s)) return this.#codecName(s);
      // scalars, pointers, arrays, anonymous types: one module-level codec per type, named `$<C spelling>`
      this.#tsType(s, 0);
      const key = `codec:${s}`;
      const d = this.#declOf.get(key);
      if (d) return d.name;
      let name = `$${this.cName(s).replace(/\*/g, 'ptr').replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '')}`;
      for (let i = 2; this.#used.has(name); i++) name = `${name.replace(/_\d+$/, '')}_${i}`;
      this.#used.add(name);
      const decl: Decl = { id: s, name, what: 'codec' };
      this.#declOf.set(key, decl);
      this.#decls.push(decl);
      return name;
    });
  }

  /** The view class name of struct/union `id` (declared on first use). */
  viewOf(id: number): string {
    return this.#wrap(id, () => {
      const key = `view:${id}`;
      const d = this.#declOf.get(key);
      if (d) return d.name;
      const r = this.#resolve(id);
      const k = r === 0 ? 0 : this.#kind(r);
      if (k !== BTF_KIND_STRUCT && k !== BTF_KIND_UNION) this.#fail(id, 'only structs and unions get a view class');
      this.typeName(id);
      const base = this.#isDeclared(this.#skipMods(id)) ? this.#declName(this.#skipMods(id)) : `anon_${r}`;
      const decl: Decl = { id, name: this.#allocate(`${base}View`, 'view'), what: 'view' };
      this.#declOf.set(key, decl);
      this.#decls.push(decl);
      return decl.name;
    });
  }

  /** Find a named struct/union/enum/typedef; 0 when absent. */
  findType(name: string): number {
    for (const kind of [BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_TYPEDEF, BTF_KIND_ENUM, BTF_KIND_ENUM64]) {
      const ids = this.#btf.findByName(name, kind);
      if (ids.length > 0) return ids[0]!;
    }
    return 0;
  }

  #wrap<T>(id: number, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof CodegenError) throw e;
      if (e instanceof BtfError) this.#fail(id, e.message, e);
      throw e;
    }
  }

  /** The codec const of a declared type (enums: `<name>Codec`, the name itself being the const object of values). */
  #codecName(id: number): string {
    const name = this.#declName(id);
    const k = this.#kind(id);
    if (k !== BTF_KIND_ENUM && k !== BTF_KIND_ENUM64) return name;
    const key = `enumcodec:${id}`;
    let d = this.#declOf.get(key);
    if (!d) {
      d = { id, name: this.#allocate(`${name}Codec`, 'codec'), what: 'type' };
      this.#declOf.set(key, d);
    }
    return d.name;
  }

  // ---------------------------------------------------------------- types

  #tsType(id: number, depth: number): string {
    if (depth > MAX_RESOLVE_DEPTH) this.#fail(id, `nests deeper than ${MAX_RESOLVE_DEPTH} levels`);
    id = this.#skipMods(id);
    if (id === 0) this.#fail(id, 'void has no value');
    const k = this.#kind(id);
    if (this.#isDeclared(id)) return this.#declName(id);
    const t = this.#btf.type(id);
    switch (t.kind) {
      case BTF_KIND_INT:
        this.#intShape(id);
        return t.encoding & BTF_INT_BOOL ? 'boolean' : t.size <= 4 ? 'number' : 'bigint';
      case BTF_KIND_FLOAT:
        this.#floatShape(id);
        return 'number';
      case BTF_KIND_PTR:
        return 'bigint';
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64: {
        const big = t.size > 4;
        const vals = [...new Set(t.values.map((v) => (big ? `${BigInt(v.value)}n` : String(v.value))))];
        this.#enumShape(id);
        return vals.length === 0 ? (big ? 'bigint' : 'number') : vals.join(' | ');
      }
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION: {
        const fields = this.#flatMembers(id, 0).map((m) => `${m.name}: ${this.#memberType(m, depth + 1)}`);
        return `{ ${fields.join('; ')}${fields.length ? ';' : ''} }`;
      }
      case BTF_KIND_ARRAY: {
        const a = this.#array(id);
        if (a.chars) return 'string';
        if (a.typed) return a.typed.ctor;
        const el = this.#tsType(a.elem, depth + 1);
        return /^[A-Za-z0-9_$]+$/.test(el) ? `${el}[]` : `(${el})[]`;
      }
      default:
        return this.#fail(id, `a ${BTF_KIND_NAMES[k] ?? `kind ${k}`} has no value TypeScript can hold${k === 7 ? ' (an incomplete type: the object has only its forward declaration)' : ''}`);
    }
  }

  #memberType(m: FlatMember, depth: number): string {
    if (m.bitfield) {
      const base = this.#resolve(m.type);
      const t = base === 0 ? undefined : this.#btf.type(base);
      if (t?.kind === BTF_KIND_INT && t.encoding & BTF_INT_BOOL) return 'boolean';
      return m.bitfield <= 32 ? 'number' : 'bigint';
    }
    return this.#tsType(m.type, depth);
  }

  #intShape(id: number): { size: number; signed: boolean; bool: boolean } {
    const t = this.#btf.type(id);
    if (t.kind !== BTF_KIND_INT) this.#fail(id, 'not an integer');
    if (![1, 2, 4, 8, 16].includes(t.size)) this.#fail(id, `an integer of ${t.size} bytes has no TypeScript mapping (1, 2, 4, 8 or 16)`);
    return { size: t.size, signed: (t.encoding & BTF_INT_SIGNED) !== 0, bool: (t.encoding & BTF_INT_BOOL) !== 0 };
  }

  #floatShape(id: number): number {
    const size = this.#btf.sizeOrTypeOf(id);
    if (size !== 4 && size !== 8) this.#fail(id, `a float of ${size} bytes has no TypeScript mapping (4 or 8)`);
    return size;
  }

  #enumShape(id: number): { size: number; signed: boolean } {
    const t = this.#btf.type(id) as BtfEnum | BtfEnum64;
    if (![1, 2, 4, 8].includes(t.size)) this.#fail(id, `an enum of ${t.size} bytes has no TypeScript mapping (1, 2, 4 or 8)`);
    return { size: t.size, signed: t.signed };
  }

  /** An array: its element, count, stride, and whether it reads as a string or a typed array. */
  #array(id: number): ArrayShape {
    const t = this.#btf.type(id);
    if (t.kind !== BTF_KIND_ARRAY) this.#fail(id, 'not an array');
    const elem = t.type;
    const r = this.#resolve(elem);
    if (r === 0) this.#fail(id, 'an array of void');
    let stride: number;
    try {
      stride = sizeof(this.#btf, elem);
    } catch (e) {
      return this.#fail(id, `its element has no size: ${(e as Error).message}`, e);
    }
    if (stride * t.nelems > 0xffffffff) this.#fail(id, 'is larger than 4 GiB');
    const rt = this.#btf.type(r);
    if (rt.kind === BTF_KIND_INT && rt.size === 1 && !(rt.encoding & BTF_INT_BOOL) && (rt.encoding & BTF_INT_CHAR || rt.name === 'char'))
      return { elem, n: t.nelems, stride, chars: true };
    let typed: string | undefined;
    if (rt.kind === BTF_KIND_INT && !(rt.encoding & BTF_INT_BOOL) && rt.size <= 8 && rt.bits === rt.size * 8)
      typed = `${rt.encoding & BTF_INT_SIGNED ? 'i' : 'u'}${rt.size * 8}`;
    else if (rt.kind === BTF_KIND_FLOAT && (rt.size === 4 || rt.size === 8)) typed = `f${rt.size * 8}`;
    return { elem, n: t.nelems, stride, chars: false, typed: typed ? TYPED_ARRAYS[typed] : undefined };
  }

  /** Members of struct/union `id`, anonymous struct/union members flattened, offsets from `base`. */
  #flatMembers(id: number, base: number, inUnion = false, armSize = 0, depth = 0): FlatMember[] {
    if (depth > MAX_RESOLVE_DEPTH) this.#fail(id, `anonymous members nest deeper than ${MAX_RESOLVE_DEPTH}`);
    const t = this.#btf.type(id) as BtfComposite;
    const isUnion = t.kind === BTF_KIND_UNION;
    const out: FlatMember[] = [];
    for (const m of t.members) {
      const bitfield = this.#bitfield(id, m);
      const end = m.bitOffset + (bitfield || this.#sizeOf(id, m) * 8);
      if (end > t.size * 8) this.#fail(id, `member "${m.name || '(anon)'}" ends at bit ${end}, past the end of the ${t.size}-byte ${isUnion ? 'union' : 'struct'}`);
      if (!bitfield && m.bitOffset % 8 !== 0) this.#fail(id, `member "${m.name || '(anon)'}" starts at bit ${m.bitOffset}, not on a byte, and is not a bitfield`);
      const arm = isUnion ? (bitfield ? Math.ceil(bitfield / 8) : this.#sizeOf(id, m)) : armSize;
      if (m.name === '') {
        const r = this.#resolve(m.type);
        const k = r === 0 ? 0 : this.#kind(r);
        // an anonymous struct/union is read through; an unnamed bitfield is padding
        if (k === BTF_KIND_STRUCT || k === BTF_KIND_UNION) out.push(...this.#flatMembers(r, base + m.bitOffset, inUnion || isUnion, arm, depth + 1));
        continue;
      }
      out.push({ name: m.name, type: m.type, bitOffset: base + m.bitOffset, bitfield, inUnion: inUnion || isUnion, armSize: arm });
    }
    const seen = new Set<string>();
    for (const m of out) {
      if (seen.has(m.name)) this.#fail(id, `two members are named "${m.name}"`);
      seen.add(m.name);
    }
    return out;
  }

  #bitfield(id: number, m: BtfMember): number {
    const b = memberBitfieldSize(this.#btf, m);
    if (!b) return 0;
    const r = this.#resolve(m.type);
    const k = r === 0 ? 0 : this.#kind(r);
    if (k !== BTF_KIND_INT && k !== BTF_KIND_ENUM && k !== BTF_KIND_ENUM64) this.#fail(id, `member "${m.name}" is a ${b}-bit bitfield of a ${BTF_KIND_NAMES[k] ?? 'void'}, not of an integer`);
    if (b > 64) this.#fail(id, `member "${m.name}" is a bitfield of ${b} bits (at most 64)`);
    return b;
  }

  #sizeOf(owner: number, m: BtfMember): number {
    try {
      return sizeof(this.#btf, m.type);
    } catch (e) {
      return this.#fail(owner, `member "${m.name || '(anon)'}" has no size: ${(e as Error).message}`, e);
    }
  }

  // ---------------------------------------------------------------- decode

  /** An expression reading C type `id` at `dv`/`off`. `inline` writes a declared struct out instead of calling its codec. */
  #decodeExpr(id: number, dv: string, off: string, depth: number, inline = false): string {
    if (depth > MAX_RESOLVE_DEPTH) this.#fail(id, `nests deeper than ${MAX_RESOLVE_DEPTH} levels`);
    id = this.#skipMods(id);
    if (id === 0) this.#fail(id, 'void has no value');
    const k = this.#kind(id);
    if (!inline && this.#isDeclared(id)) {
      // scalars behind typedefs and enums are read inline; composites call their codec
      const r = this.#resolve(id);
      const rk = r === 0 ? 0 : this.#kind(r);
      if (rk === BTF_KIND_STRUCT || rk === BTF_KIND_UNION) return `${this.#codecName(id)}.decode(${dv}, ${off})`;
      if (k === BTF_KIND_TYPEDEF) return this.#decodeExpr(this.#btf.sizeOrTypeOf(id), dv, off, depth + 1);
    }
    if (k === BTF_KIND_TYPEDEF) return this.#decodeExpr(this.#btf.sizeOrTypeOf(id), dv, off, depth + 1, inline);
    const t = this.#btf.type(id);
    switch (t.kind) {
      case BTF_KIND_INT: {
        const s = this.#intShape(id);
        if (s.bool) return `${dv}.getUint8(${off}) !== 0`;
        return this.#readInt(s.size, s.signed, dv, off);
      }
      case BTF_KIND_FLOAT:
        return `${dv}.getFloat${this.#floatShape(id) * 8}(${off}, true)`;
      case BTF_KIND_PTR:
        return `${dv}.getBigUint64(${off}, true)`;
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64: {
        const s = this.#enumShape(id);
        const e = this.#readInt(s.size, s.signed, dv, off);
        return `(${e} as ${this.#tsType(id, depth + 1)})`;
      }
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION: {
        const fields = this.#flatMembers(id, 0).map((m) => `${m.name}: ${this.#memberDecode(m, dv, off, depth + 1)}`);
        return `{ ${fields.join(', ')} }`;
      }
      case BTF_KIND_ARRAY: {
        const a = this.#array(id);
        if (a.chars) return `${this.#h('readCString')}(${dv}, ${off}, ${a.n})`;
        const o = `o${depth}`;
        if (a.typed) return `${a.typed.ctor}.from({ length: ${a.n} }, (_, i) => ${dv}.${a.typed.get}(${add(off, `i * ${a.stride}`)}${a.typed.size > 1 ? ', true' : ''}))`;
        return `${this.#h('readArray')}(${a.n}, ${off}, ${a.stride}, (${o}: number) => ${this.#decodeExpr(a.elem, dv, o, depth + 1)})`;
      }
      default:
        return this.#fail(id, `a ${BTF_KIND_NAMES[k] ?? `kind ${k}`} has no value TypeScript can hold`);
    }
  }

  #readInt(size: number, signed: boolean, dv: string, off: string): string {
    switch (size) {
      case 1: return `${dv}.get${signed ? 'Int8' : 'Uint8'}(${off})`;
      case 2: return `${dv}.get${signed ? 'Int16' : 'Uint16'}(${off}, true)`;
      case 4: return `${dv}.get${signed ? 'Int32' : 'Uint32'}(${off}, true)`;
      case 8: return `${dv}.get${signed ? 'BigInt64' : 'BigUint64'}(${off}, true)`;
      default: return `${this.#h('readInt128')}(${dv}, ${off}, ${signed})`;
    }
  }

  #memberDecode(m: FlatMember, dv: string, off: string, depth: number): string {
    if (!m.bitfield) return this.#decodeExpr(m.type, dv, add(off, m.bitOffset / 8), depth);
    const b = this.#bitShape(m);
    const at = add(off, b.byte);
    if (b.bool) return `${this.#h('readBits')}(${dv}, ${at}, ${b.nbytes}, ${b.shift}, ${m.bitfield}, false) !== 0`;
    if (m.bitfield > 32) return `${this.#h('readBitsBig')}(${dv}, ${at}, ${b.nbytes}, ${b.shift}, ${m.bitfield}, ${b.signed})`;
    // the common case, one to four bytes holding the whole field: shift and mask inline
    if (b.shift + m.bitfield <= 32 && b.nbytes !== 3) {
      const raw = b.nbytes === 1 ? `${dv}.getUint8(${at})` : b.nbytes === 2 ? `${dv}.getUint16(${at}, true)` : `${dv}.getUint32(${at}, true)`;
      if (b.signed) return `(${raw} << ${32 - b.shift - m.bitfield}) >> ${32 - m.bitfield}`;
      return m.bitfield === 32 ? `${raw} >>> 0` : `(${raw} >>> ${b.shift}) & 0x${((2 ** m.bitfield) - 1).toString(16)}`;
    }
    return `${this.#h('readBits')}(${dv}, ${at}, ${b.nbytes}, ${b.shift}, ${m.bitfield}, ${b.signed})`;
  }

  #bitShape(m: FlatMember): { byte: number; shift: number; nbytes: number; signed: boolean; bool: boolean } {
    const r = this.#resolve(m.type);
    const t = this.#btf.type(r);
    const signed = t.kind === BTF_KIND_INT ? (t.encoding & BTF_INT_SIGNED) !== 0 : (t as BtfEnum).signed;
    const bool = t.kind === BTF_KIND_INT && (t.encoding & BTF_INT_BOOL) !== 0;
    const byte = Math.floor(m.bitOffset / 8);
    const shift = m.bitOffset % 8;
    return { byte, shift, nbytes: Math.ceil((shift + m.bitfield) / 8), signed, bool };
  }

  // ---------------------------------------------------------------- encode

  /**
   * Statements writing `v` (an expression) as C type `id` at `dv`/`off`; the
   * bytes are already zero. `f` is an expression naming the field in errors.
   */
  #encodeStmts(id: number, dv: string, off: string, v: string, f: string, depth: number, inline = false): string[] {
    if (depth > MAX_RESOLVE_DEPTH) this.#fail(id, `nests deeper than ${MAX_RESOLVE_DEPTH} levels`);
    id = this.#skipMods(id);
    if (id === 0) this.#fail(id, 'void has no value');
    const k = this.#kind(id);
    if (!inline && this.#isDeclared(id)) {
      const r = this.#resolve(id);
      const rk = r === 0 ? 0 : this.#kind(r);
      if (rk === BTF_KIND_STRUCT || rk === BTF_KIND_UNION) return [`${this.#codecName(id)}.encode(${dv}, ${off}, ${v});`];
      if (k === BTF_KIND_TYPEDEF) return this.#encodeStmts(this.#btf.sizeOrTypeOf(id), dv, off, v, f, depth + 1);
    }
    if (k === BTF_KIND_TYPEDEF) return this.#encodeStmts(this.#btf.sizeOrTypeOf(id), dv, off, v, f, depth + 1, inline);
    const t = this.#btf.type(id);
    switch (t.kind) {
      case BTF_KIND_INT: {
        const s = this.#intShape(id);
        if (s.bool) return [`${dv}.setUint8(${off}, ${v} ? 1 : 0);`];
        return [this.#writeInt(s.size, s.signed, dv, off, v, f)];
      }
      case BTF_KIND_FLOAT:
        return [`${dv}.setFloat${this.#floatShape(id) * 8}(${off}, ${this.#h('checkFloat')}(${v}, ${f}), true);`];
      case BTF_KIND_PTR:
        return [`${dv}.setBigUint64(${off}, ${this.#h('checkBigInt')}(${v}, 64, false, ${f}), true);`];
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64: {
        const s = this.#enumShape(id);
        return [this.#writeInt(s.size, s.signed, dv, off, v, f)];
      }
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION: {
        const obj = `v${depth}`;
        const out = [`const ${obj} = ${this.#h('checkObject')}(${v}, ${f});`];
        const members = this.#flatMembers(id, 0);
        // union arms: largest first, so a smaller arm given beside it (an edited decode) wins its bytes
        const order = members.map((m, i) => ({ m, i })).sort((a, b) => (a.m.inUnion && b.m.inUnion ? b.m.armSize - a.m.armSize || a.i - b.i : a.i - b.i));
        for (const { m } of order) {
          const stmts = this.#memberEncode(m, dv, off, `${obj}.${m.name}`, fieldJoin(f, `.${m.name}`), depth + 1);
          if (m.inUnion) out.push(`if (${obj}.${m.name} !== undefined) {`, ...stmts.map((s) => `  ${s}`), '}');
          else out.push(...stmts);
        }
        return [`{`, ...out.map((s) => `  ${s}`), `}`];
      }
      case BTF_KIND_ARRAY: {
        const a = this.#array(id);
        if (a.chars) return [`${this.#h('writeCString')}(${dv}, ${off}, ${a.n}, ${v}, ${f});`];
        const o = `o${depth}`;
        const x = `x${depth}`;
        const fe = `f${depth}`;
        const body = this.#encodeStmts(a.elem, dv, o, x, fe, depth + 1);
        return [`${this.#h('writeArray')}(${v}, ${a.n}, ${off}, ${a.stride}, ${f}, (${o}: number, ${x}: ${this.#elemType(a)}, ${fe}: string) => {`, ...body.map((s) => `  ${s}`), '});'];
      }
      default:
        return this.#fail(id, `a ${BTF_KIND_NAMES[k] ?? `kind ${k}`} has no value TypeScript can hold`);
    }
  }

  #elemType(a: ArrayShape): string {
    if (a.typed) return a.typed.ctor.startsWith('Big') ? 'bigint' : 'number';
    return this.#tsType(a.elem, 0);
  }

  #writeInt(size: number, signed: boolean, dv: string, off: string, v: string, f: string): string {
    if (size === 16) return `${this.#h('writeInt128')}(${dv}, ${off}, ${signed}, ${v}, ${f});`;
    if (size === 8) return `${dv}.set${signed ? 'BigInt64' : 'BigUint64'}(${off}, ${this.#h('checkBigInt')}(${v}, 64, ${signed}, ${f}), true);`;
    const bits = size * 8;
    const min = signed ? -(2 ** (bits - 1)) : 0;
    const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
    const name = { 1: 'Int8', 2: 'Int16', 4: 'Int32' }[size as 1 | 2 | 4];
    const setter = signed ? name : `Ui${name.slice(1)}`;
    return `${dv}.set${setter}(${off}, ${this.#h('checkInt')}(${v}, ${min}, ${max}, ${f})${size > 1 ? ', true' : ''});`;
  }

  #memberEncode(m: FlatMember, dv: string, off: string, v: string, f: string, depth: number): string[] {
    if (!m.bitfield) return this.#encodeStmts(m.type, dv, add(off, m.bitOffset / 8), v, f, depth);
    const b = this.#bitShape(m);
    return [`${this.#h('writeBits')}(${dv}, ${add(off, b.byte)}, ${b.nbytes}, ${b.shift}, ${m.bitfield}, ${b.signed && !b.bool}, ${v}, ${f});`];
  }

  #h(name: Helper): string {
    this.#helpers.add(name);
    return `$${name}`;
  }

  // ---------------------------------------------------------------- declarations

  #codecLiteral(id: number, tsType: string, inline = false): string {
    this.#needCodecType = true;
    const size = this.#sizeOfType(id);
    const cname = this.cName(id);
    const decode = this.#decodeExpr(id, 'dv', 'off', 0, inline);
    const encode = this.#encodeStmts(id, 'dv', 'off', 'value', JSON.stringify(cname), 0, inline);
    return [
      `{`,
      `  name: ${JSON.stringify(cname)},`,
      `  size: ${size},`,
      `  decode(dv: DataView, off: number): ${tsType} {`,
      `    return ${decode};`,
      `  },`,
      `  encode(dv: DataView, off: number, value: ${tsType}): void {`,
      `    ${this.#h('zeroBytes')}(dv, off, ${size});`,
      ...encode.map((s) => `    ${s}`),
      `  },`,
      `}`,
    ].join('\n');
  }

  #sizeOfType(id: number): number {
    try {
      return sizeof(this.#btf, id);
    } catch (e) {
      return this.#fail(id, `has no size: ${(e as Error).message}`, e);
    }
  }

  #renderDecl(d: Decl): string {
    return this.#wrap(d.id, () => {
      if (d.what === 'view') return this.#renderView(d);
      if (d.what === 'codec') {
        const ts = this.#tsType(d.id, 0);
        return `/** ${this.cName(d.id)} */\nconst ${d.name}: $Codec<${ts}> = ${this.#codecLiteral(d.id, ts)};`;
      }
      return this.#renderType(d);
    });
  }

  #renderType(d: Decl): string {
    const id = d.id;
    const k = this.#kind(id);
    const doc = `/** ${this.cName(id)} (${this.#sizeOfType(id)} bytes) */`;
    if (k === BTF_KIND_ENUM || k === BTF_KIND_ENUM64) {
      const t = this.#btf.type(id) as BtfEnum | BtfEnum64;
      const s = this.#enumShape(id);
      const big = s.size > 4;
      const seen = new Set<string>();
      const entries = t.values.filter((v) => !seen.has(v.name) && seen.add(v.name)).map((v) => `  ${v.name}: ${big ? `${BigInt(v.value)}n` : v.value},`);
      const codec = this.#codecName(id);
      this.#needCodecType = true;
      return [
        doc,
        `export const ${d.name} = {`,
        ...entries,
        `} as const;`,
        entries.length ? `export type ${d.name} = (typeof ${d.name})[keyof typeof ${d.name}];` : `export type ${d.name} = ${big ? 'bigint' : 'number'};`,
        `export const ${codec}: $Codec<${d.name}> = {`,
        `  name: ${JSON.stringify(this.cName(id))},`,
        `  size: ${s.size},`,
        `  decode(dv: DataView, off: number): ${d.name} {`,
        `    return ${this.#readInt(s.size, s.signed, 'dv', 'off')} as ${d.name};`,
        `  },`,
        `  encode(dv: DataView, off: number, value: ${d.name}): void {`,
        `    ${this.#writeInt(s.size, s.signed, 'dv', 'off', 'value', JSON.stringify(this.cName(id)))}`,
        `  },`,
        `};`,
      ].join('\n');
    }
    if (k === BTF_KIND_TYPEDEF) {
      const target = this.#skipMods(this.#btf.sizeOrTypeOf(id));
      if (target !== 0 && this.#isDeclared(target)) {
        return [doc, `export type ${d.name} = ${this.#declName(target)};`, `export const ${d.name}: $Codec<${d.name}> = ${this.#codecName(target)};`].join('\n');
      }
      const ts = this.#tsType(target, 0);
      const r = this.#resolve(target);
      const composite = r !== 0 && (this.#kind(r) === BTF_KIND_STRUCT || this.#kind(r) === BTF_KIND_UNION);
      const typeDecl = composite ? `export interface ${d.name} ${ts}` : `export type ${d.name} = ${ts};`;
      return [doc, typeDecl, `export const ${d.name}: $Codec<${d.name}> = ${this.#codecLiteral(target, d.name)};`].join('\n');
    }
    // struct or union
    const members = this.#flatMembers(id, 0);
    const lines = members.map((m) => `  ${m.name}: ${this.#memberType(m, 1)};`);
    return [
      doc,
      `export interface ${d.name} {`,
      ...lines,
      `}`,
      `export const ${d.name}: $Codec<${d.name}> = ${this.#codecLiteral(id, d.name, true)};`,
    ].join('\n');
  }

  #renderView(d: Decl): string {
    this.#needViewType = true;
    const id = d.id;
    const r = this.#resolve(id);
    const tsName = this.#tsType(id, 0);
    const codec = this.#isDeclared(this.#skipMods(id)) ? this.#codecName(this.#skipMods(id)) : undefined;
    const members = this.#flatMembers(r, 0);
    const getters = members.flatMap((m) => [
      `  get ${m.name}(): ${this.#memberType(m, 1)} {`,
      `    return ${this.#memberDecode(m, 'this.$dv', 'this.$off', 1)};`,
      `  }`,
    ]);
    return [
      `/** ${this.cName(id)} read in place: valid while its memory is (during a ring buffer callback); toObject() keeps a copy. */`,
      `export class ${d.name} implements $RecordView<${tsName}> {`,
      `  $dv: DataView;`,
      `  $off: number;`,
      `  constructor(dv: DataView = $EMPTY_VIEW, off = 0) {`,
      `    this.$dv = dv;`,
      `    this.$off = off;`,
      `  }`,
      `  $at(dv: DataView, off: number): this {`,
      `    this.$dv = dv;`,
      `    this.$off = off;`,
      `    return this;`,
      `  }`,
      ...getters,
      `  toObject(): ${tsName} {`,
      `    return ${codec ? `${codec}.decode(this.$dv, this.$off)` : this.#decodeExpr(r, 'this.$dv', 'this.$off', 1, true)};`,
      `  }`,
      `}`,
    ].join('\n');
  }

  /** Every declaration asked for so far (and what they use), then the import line they need. */
  render(): { imports: string; body: string } {
    const parts: string[] = [];
    for (let i = 0; i < this.#decls.length; i++) parts.push(this.#renderDecl(this.#decls[i]!));
    if (this.#needViewType) parts.unshift('const $EMPTY_VIEW = new DataView(new ArrayBuffer(0));');
    return { imports: this.imports(), body: parts.join('\n\n') };
  }

  /** The import line for the helpers used so far (empty when none). */
  imports(extra: readonly string[] = []): string {
    const names = [...HELPERS.filter((h) => this.#helpers.has(h)).map((h) => `${h} as $${h}`)];
    const types: string[] = [];
    if (this.#needCodecType) types.push('type Codec as $Codec');
    if (this.#needViewType) types.push('type RecordView as $RecordView');
    const all = [...types, ...names, ...extra];
    if (all.length === 0) return '';
    return `import {\n${all.map((n) => `  ${n},`).join('\n')}\n} from ${JSON.stringify(this.#importFrom)};`;
  }
}

/** A field-name expression `f` followed by `suffix`, folded when `f` is a string literal. */
function fieldJoin(f: string, suffix: string): string {
  if (f.startsWith('"') && f.endsWith('"')) return JSON.stringify((JSON.parse(f) as string) + suffix);
  return `${f} + ${JSON.stringify(suffix)}`;
}

/** `base + n`, folded when `n` is 0. */
function add(base: string, n: number | string): string {
  if (n === 0 || n === '0') return base;
  const m = /^(.*) \+ (\d+)$/.exec(base);
  if (m && typeof n === 'number') return `${m[1]} + ${Number(m[2]) + n}`;
  return `${base} + ${n}`;
}

/**
 * TypeScript declarations and codecs for BTF types `roots` (ids), or for every
 * named struct, union, enum and typedef when 'all'. Returns a module's text.
 */
export function emitTsTypes(btf: Btf, roots: number[] | 'all', opts: EmitTsOptions = {}): string {
  const e = new TsTypeEmitter(btf, opts);
  const ids = roots === 'all' ? allNamed(btf) : roots;
  for (const id of ids) {
    const s = id;
    const k = e.btf.kindOf(s);
    if ((k === BTF_KIND_STRUCT || k === BTF_KIND_UNION || k === BTF_KIND_ENUM || k === BTF_KIND_ENUM64 || k === BTF_KIND_TYPEDEF) && btf.nameOf(s) !== '') e.typeName(s);
    else e.codecOf(s);
  }
  for (const v of opts.views ?? []) {
    const id = typeof v === 'number' ? v : e.findType(v);
    if (!id) throw new CodegenError(String(v), 'no struct, union or typedef of that name in the BTF');
    e.viewOf(id);
  }
  const { imports, body } = e.render();
  return `${imports ? `${imports}\n\n` : ''}${body}\n`;
}

function allNamed(btf: Btf): number[] {
  const out: number[] = [];
  for (let id = btf.startId; id <= btf.typeCount; id++) {
    const k = btf.kindOf(id);
    if ((k === BTF_KIND_STRUCT || k === BTF_KIND_UNION || k === BTF_KIND_ENUM || k === BTF_KIND_ENUM64 || k === BTF_KIND_TYPEDEF) && btf.nameOf(id) !== '') out.push(id);
  }
  return out;
}
