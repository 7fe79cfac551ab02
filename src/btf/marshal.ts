// Writing BTF: a mutable builder (add/replace types, intern strings) and the
// encoder that lays types out as the kernel expects:
//   btf_header | type section (btf_type + kind-specific tail, all u32) | string section
import { createLog } from '../util/log.ts';
import { BtfError } from './errors.ts';
import { parseBtf, type Btf } from './parse.ts';
import { StringTable } from './strings.ts';
import {
  BTF_HEADER_SIZE, BTF_MAGIC, BTF_VERSION, BTF_MAX_VLEN, btfTypeWords,
  BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_ARRAY, BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_ENUM, BTF_KIND_FWD,
  BTF_KIND_TYPEDEF, BTF_KIND_VOLATILE, BTF_KIND_CONST, BTF_KIND_RESTRICT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO,
  BTF_KIND_VAR, BTF_KIND_DATASEC, BTF_KIND_FLOAT, BTF_KIND_DECL_TAG, BTF_KIND_TYPE_TAG, BTF_KIND_ENUM64,
  type BtfType, type BtfTypeInit,
} from './types.ts';

const log = createLog('tsbpf:btf');

/** info word: kind_flag << 31 | kind << 24 | vlen */
export function btfInfo(kind: number, kindFlag: boolean, vlen: number): number {
  if (vlen > BTF_MAX_VLEN || vlen < 0) throw new BtfError(`vlen ${vlen} does not fit in 16 bits`);
  return ((kindFlag ? 0x80000000 : 0) | (kind << 24) | vlen) >>> 0;
}

/** A deep copy of a decoded type without its id (what the builder stores). */
export function cloneType(t: BtfType | BtfTypeInit): BtfTypeInit {
  const c = structuredClone(t) as BtfTypeInit & { id?: number };
  delete c.id;
  return c;
}

/**
 * A mutable BTF under construction. Ids start at `startId` (1, or after the base
 * for split BTF). Strings are interned into a table that may start from an
 * existing string section, so re-encoding a parsed blob keeps every offset.
 */
export class BtfBuilder {
  readonly types: BtfTypeInit[] = [];
  readonly strings: StringTable;
  readonly startId: number;

  constructor(readonly base?: Btf, initialStrings?: Uint8Array) {
    this.strings = new StringTable(initialStrings, base);
    this.startId = base ? base.typeCount + 1 : 1;
  }

  /** A builder holding copies of every local type of `btf`, with its string section as the starting table. */
  static fromBtf(btf: Btf): BtfBuilder {
    const b = new BtfBuilder(btf.base, btf.stringBytes());
    for (let id = btf.startId; id <= btf.typeCount; id++) b.types.push(cloneType(btf.decode(id)));
    return b;
  }

  /** Highest id so far. */
  get typeCount(): number { return this.startId + this.types.length - 1; }

  /** Append a type; returns its id. */
  add(t: BtfTypeInit): number {
    this.types.push(t);
    return this.typeCount;
  }

  /** The type with this id (local ids only); mutate it in place or replace it with set(). */
  get(id: number): BtfTypeInit {
    const t = this.types[id - this.startId];
    if (!t) throw new BtfError(`builder: type id ${id} is out of range (${this.startId}..${this.typeCount})`);
    return t;
  }

  set(id: number, t: BtfTypeInit): void {
    this.get(id);
    this.types[id - this.startId] = t;
  }

  /** Ids of local types named `name` (linear; builders are small). */
  findByName(name: string, kind?: number): number[] {
    const out: number[] = [];
    this.types.forEach((t, i) => { if (t.name === name && (kind === undefined || t.kind === kind)) out.push(this.startId + i); });
    return out;
  }

  /** Encode to a BTF blob. */
  marshal(): Uint8Array {
    return encode(this.types, this.strings, this.typeCount);
  }

  /** Encode and parse back into a read-only Btf (same ids). */
  build(name?: string): Btf {
    return parseBtf(this.marshal(), { base: this.base, name });
  }
}

/**
 * Turn a type set back into BTF bytes. `source` is a parsed Btf (its local types,
 * re-encoded with its own string section: byte-identical for clang output) or a
 * list of types for ids startId.. (fresh string table).
 */
export function marshalBtf(source: Btf | Iterable<BtfTypeInit>, opts: { base?: Btf } = {}): Uint8Array {
  if (isBtf(source)) return BtfBuilder.fromBtf(source).marshal();
  const b = new BtfBuilder(opts.base);
  for (const t of source) b.add(cloneType(t));
  return b.marshal();
}

function isBtf(x: unknown): x is Btf {
  return typeof (x as Btf).typeCount === 'number' && typeof (x as Btf).stringBytes === 'function';
}

function encode(types: readonly BtfTypeInit[], strings: StringTable, lastId: number): Uint8Array {
  let nwords = 0;
  for (const t of types) nwords += btfTypeWords(t.kind, vlenOf(t));
  const w = new Uint32Array(nwords);
  let p = 0;
  const ref = (id: number, what: string): number => {
    if (!Number.isInteger(id) || id < 0 || id > lastId) throw new BtfError(`marshal: ${what} refers to type ${id} but the last type is ${lastId}`);
    return id;
  };
  for (let i = 0; i < types.length; i++) {
    const t = types[i]!;
    const where = `type #${i} (${t.name || 'anon'})`;
    w[p] = strings.intern(t.name);
    switch (t.kind) {
      case BTF_KIND_INT:
        w[p + 1] = btfInfo(t.kind, false, 0); w[p + 2] = t.size;
        w[p + 3] = ((t.encoding & 0xf) << 24 | (t.bitOffset & 0xff) << 16 | (t.bits & 0xff)) >>> 0;
        break;
      case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
        w[p + 1] = btfInfo(t.kind, false, 0); w[p + 2] = ref(t.type, where);
        break;
      case BTF_KIND_TYPE_TAG:
        w[p + 1] = btfInfo(t.kind, t.kindFlag, 0); w[p + 2] = ref(t.type, where);
        break;
      case BTF_KIND_ARRAY:
        w[p + 1] = btfInfo(t.kind, false, 0); w[p + 2] = 0;
        w[p + 3] = ref(t.type, where); w[p + 4] = ref(t.indexType, where); w[p + 5] = t.nelems;
        break;
      case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
        w[p + 1] = btfInfo(t.kind, t.kindFlag, t.members.length); w[p + 2] = t.size;
        let q = p + 3;
        for (const m of t.members) {
          if (!t.kindFlag && m.bitfieldSize) throw new BtfError(`marshal: ${where} member ${m.name} has a bitfield size but the struct's kind_flag is clear`);
          w[q] = strings.intern(m.name); w[q + 1] = ref(m.type, where);
          w[q + 2] = t.kindFlag ? ((m.bitfieldSize << 24) | (m.bitOffset & 0xffffff)) >>> 0 : m.bitOffset;
          q += 3;
        }
        break;
      }
      case BTF_KIND_ENUM: {
        w[p + 1] = btfInfo(t.kind, t.signed, t.values.length); w[p + 2] = t.size;
        let q = p + 3;
        for (const v of t.values) { w[q] = strings.intern(v.name); w[q + 1] = v.value >>> 0; q += 2; }
        break;
      }
      case BTF_KIND_ENUM64: {
        w[p + 1] = btfInfo(t.kind, t.signed, t.values.length); w[p + 2] = t.size;
        let q = p + 3;
        for (const v of t.values) {
          const u = BigInt.asUintN(64, v.value);
          w[q] = strings.intern(v.name); w[q + 1] = Number(u & 0xffffffffn); w[q + 2] = Number(u >> 32n);
          q += 3;
        }
        break;
      }
      case BTF_KIND_FWD:
        w[p + 1] = btfInfo(t.kind, t.union, 0); w[p + 2] = 0;
        break;
      case BTF_KIND_FUNC:
        w[p + 1] = btfInfo(t.kind, false, t.linkage); w[p + 2] = ref(t.type, where);
        break;
      case BTF_KIND_FUNC_PROTO: {
        w[p + 1] = btfInfo(t.kind, false, t.params.length); w[p + 2] = ref(t.type, where);
        let q = p + 3;
        for (const a of t.params) { w[q] = strings.intern(a.name); w[q + 1] = ref(a.type, where); q += 2; }
        break;
      }
      case BTF_KIND_VAR:
        w[p + 1] = btfInfo(t.kind, false, 0); w[p + 2] = ref(t.type, where); w[p + 3] = t.linkage;
        break;
      case BTF_KIND_DATASEC: {
        w[p + 1] = btfInfo(t.kind, false, t.vars.length); w[p + 2] = t.size;
        let q = p + 3;
        for (const v of t.vars) { w[q] = ref(v.type, where); w[q + 1] = v.offset; w[q + 2] = v.size; q += 3; }
        break;
      }
      case BTF_KIND_FLOAT:
        w[p + 1] = btfInfo(t.kind, false, 0); w[p + 2] = t.size;
        break;
      case BTF_KIND_DECL_TAG:
        w[p + 1] = btfInfo(t.kind, t.kindFlag, 0); w[p + 2] = ref(t.type, where); w[p + 3] = t.componentIdx >>> 0;
        break;
      default:
        throw new BtfError(`marshal: ${where} has unknown kind ${(t as { kind: number }).kind}`);
    }
    p += btfTypeWords(t.kind, vlenOf(t));
  }
  const str = strings.bytes();
  const typeLen = nwords * 4;
  const out = new Uint8Array(BTF_HEADER_SIZE + typeLen + str.length);
  const dv = new DataView(out.buffer);
  // Header offsets are relative to the end of the header: types first, then strings.
  dv.setUint16(0, BTF_MAGIC, true); dv.setUint8(2, BTF_VERSION); dv.setUint8(3, 0);
  dv.setUint32(4, BTF_HEADER_SIZE, true);
  dv.setUint32(8, 0, true); dv.setUint32(12, typeLen, true);
  dv.setUint32(16, typeLen, true); dv.setUint32(20, str.length, true);
  new Uint32Array(out.buffer, BTF_HEADER_SIZE, nwords).set(w); // host order: little-endian hosts only
  out.set(str, BTF_HEADER_SIZE + typeLen);
  log('marshal: %d types, %d bytes of types, %d bytes of strings', types.length, typeLen, str.length);
  return out;
}

function vlenOf(t: BtfTypeInit): number {
  switch (t.kind) {
    case BTF_KIND_STRUCT: case BTF_KIND_UNION: return t.members.length;
    case BTF_KIND_ENUM: case BTF_KIND_ENUM64: return t.values.length;
    case BTF_KIND_FUNC_PROTO: return t.params.length;
    case BTF_KIND_DATASEC: return t.vars.length;
    default: return 0;
  }
}
