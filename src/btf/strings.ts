// BTF string tables: the name index used by lookups, and the growable,
// deduplicating table used by the builder.
import type { Btf } from './parse.ts';
import { UsageError } from '../errors.ts';

/** FNV-1a over the NUL-terminated name at arr[p..] (one JS loop, no native call per name). */
function hashCString(arr: Uint8Array, p: number): number {
  let h = 0x811c9dc5;
  for (let c = arr[p]!; c !== 0; c = arr[++p]!) h = Math.imul(h ^ c, 0x01000193);
  return h >>> 0;
}

/** FNV-1a over a query's bytes: equal to hashCString of the same name. */
function hashBytes(q: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < q.length; i++) h = Math.imul(h ^ q[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * An open-addressing hash table (linear probing) from name bytes to the ids of
 * one kind, stored in one Int32Array: slot = id, 0 = empty. Keys are never
 * materialized as JS strings; a probe compares the query's bytes with the string
 * section. Ids are inserted in ascending order, so a probe meets equal names in
 * id order.
 */
export class NameIndex {
  private constructor(
    private readonly table: Int32Array,
    private readonly mask: number,
    /** Number of named types indexed. */
    readonly size: number,
    private readonly words: Uint32Array,
    private readonly offsets: Uint32Array,
    private readonly strings: Uint8Array,
    private readonly startStrOff: number,
    private readonly base: Btf | undefined,
  ) {}

  /**
   * Index the types of kind `kind` (the header pass must be complete). Slots of
   * `kinds` past the recorded types hold 0.
   */
  static build(words: Uint32Array, offsets: Uint32Array, kinds: Uint8Array, kind: number, strings: Uint8Array, startStrOff: number, base: Btf | undefined): NameIndex {
    // kinds.indexOf is native: it skips the (many) types of other kinds without running JS per type.
    const members: number[] = [];
    for (let i = kinds.indexOf(kind); i !== -1; i = kinds.indexOf(kind, i + 1)) members.push(i);
    let cap = 16;
    while (cap < members.length * 2) cap <<= 1;
    const table = new Int32Array(cap);
    const mask = cap - 1;
    const startId = base ? base.typeCount + 1 : 1;
    const strLen = strings.length;
    let named = 0;
    for (const i of members) {
      const off = words[offsets[i]!]!;
      if (off === 0) continue;
      let arr = strings;
      let p = off - startStrOff;
      if (p < 0) {
        const r = baseString(base, off);
        if (!r) continue;
        [arr, p] = r;
      } else if (p >= strLen) continue; // a bad name_off: unreachable by name, reported when decoded
      const h = hashCString(arr, p); // the section ends with NUL (checked on parse), so this stops
      let slot = h & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = startId + i;
      named++;
    }
    return new NameIndex(table, mask, named, words, offsets, strings, startStrOff, base);
  }

  /** Append to `out` every id named `name`. */
  lookup(name: string, startId: number, out: number[]): void {
    const q = Buffer.from(name, 'utf8');
    for (let slot = hashBytes(q) & this.mask, id = this.table[slot]!; id !== 0; slot = (slot + 1) & this.mask, id = this.table[slot]!)
      if (this.#equals(id, startId, q)) out.push(id);
  }

  /** The first id named `name`, or -1. */
  first(name: string, startId: number): number {
    const q = Buffer.from(name, 'utf8');
    for (let slot = hashBytes(q) & this.mask, id = this.table[slot]!; id !== 0; slot = (slot + 1) & this.mask, id = this.table[slot]!)
      if (this.#equals(id, startId, q)) return id;
    return -1;
  }

  #equals(id: number, startId: number, q: Uint8Array): boolean {
    return nameEquals(this.words[this.offsets[id - startId]!]!, q, this.strings, this.startStrOff, this.base);
  }
}

/**
 * Whether the NUL-terminated string at offset `off` (of a string section that
 * starts at `startStrOff`, continuing `base`'s for split BTF) is `q`'s bytes.
 */
export function nameEquals(off: number, q: Uint8Array, strings: Uint8Array, startStrOff: number, base: Btf | undefined): boolean {
  let arr = strings;
  let p = off - startStrOff;
  if (p < 0) {
    const r = baseString(base, off);
    if (!r) return false;
    [arr, p] = r;
  }
  const n = q.length;
  if (p + n >= arr.length || arr[p + n] !== 0) return false;
  for (let i = 0; i < n; i++) if (arr[p + i] !== q[i]) return false;
  return true;
}

/** How the string at some offset relates to a query `q` (see nameStartsWith). */
export const NAME_OTHER = 0;
/** The string is `q`. */
export const NAME_EQUAL = 1;
/** The string is `q` followed by "___" and more: a flavored name ("task_struct___v1"), possibly. */
export const NAME_FLAVORED = 2;

/**
 * Compare the NUL-terminated string at offset `off` with `q`: NAME_EQUAL,
 * NAME_FLAVORED when it continues with "___", NAME_OTHER otherwise. Only bytes
 * are compared; whether the "___" really starts the name's flavor is the
 * caller's question (essentialNameLen).
 */
export function nameStartsWith(off: number, q: Uint8Array, strings: Uint8Array, startStrOff: number, base: Btf | undefined): number {
  let arr = strings;
  let p = off - startStrOff;
  if (p < 0) {
    const r = baseString(base, off);
    if (!r) return NAME_OTHER;
    [arr, p] = r;
  }
  const n = q.length;
  if (p + n >= arr.length) return NAME_OTHER;
  for (let i = 0; i < n; i++) if (arr[p + i] !== q[i]) return NAME_OTHER;
  const next = arr[p + n];
  if (next === 0) return NAME_EQUAL;
  return next === 0x5f && arr[p + n + 1] === 0x5f && arr[p + n + 2] === 0x5f ? NAME_FLAVORED : NAME_OTHER;
}

/**
 * The first two bytes of the name at offset `off` (b0 | b1 << 8; 0 for bytes
 * past the end), wherever in the base chain it lives. For the header pass's keys.
 */
export function namePrefix(off: number, strings: Uint8Array, startStrOff: number, base: Btf | undefined): number {
  let arr = strings;
  let p = off - startStrOff;
  if (p < 0) {
    const r = baseString(base, off);
    if (!r) return 0;
    [arr, p] = r;
  }
  return (arr[p] ?? 0) | (arr[p + 1] ?? 0) << 8;
}

/** Where string offset `off` lives in a base BTF chain: [bytes, index]. */
function baseString(base: Btf | undefined, off: number): [Uint8Array, number] | undefined {
  for (let b = base; b; b = b.base) {
    if (off >= b.startStrOff) {
      const p = off - b.startStrOff;
      const s = b.stringBytes();
      return p < s.length ? [s, p] : undefined;
    }
  }
  return undefined;
}

const baseStringMaps = new WeakMap<Btf, Map<string, number>>();

/** string -> first offset, over every string of `btf` and its bases (built once per Btf; for split marshalling). */
function stringMapOf(btf: Btf): Map<string, number> {
  let m = baseStringMaps.get(btf);
  if (!m) {
    m = btf.base ? new Map(stringMapOf(btf.base)) : new Map();
    const s = btf.stringBytes();
    for (let p = 0; p < s.length;) {
      const end = s.indexOf(0, p);
      const str = Buffer.from(s.buffer, s.byteOffset + p, end - p).toString('utf8');
      if (!m.has(str)) m.set(str, btf.startStrOff + p);
      p = end + 1;
    }
    baseStringMaps.set(btf, m);
  }
  return m;
}

/**
 * A growable, deduplicated BTF string section. Offset 0 is the empty string.
 * For split BTF, strings already in the base are referenced at their base offset
 * and new strings get offsets after the base's string section.
 */
export class StringTable {
  #buf: Uint8Array;
  #len: number;
  #map: Map<string, number> | undefined;
  readonly #base: Btf | undefined;
  /** Absolute offset of this table's first byte (0, or the base's string length). */
  readonly start: number;

  /** Start from an existing string section (copied) or from "\0". */
  constructor(initial?: Uint8Array, base?: Btf) {
    this.#base = base;
    this.start = base ? base.startStrOff + base.stringsLength : 0;
    const init = initial ?? (base ? new Uint8Array(0) : new Uint8Array(1));
    this.#buf = new Uint8Array(Math.max(64, init.length * 2));
    this.#buf.set(init);
    this.#len = init.length;
  }

  get length(): number { return this.#len; }

  /** The section bytes (a copy). */
  bytes(): Uint8Array { return this.#buf.slice(0, this.#len); }

  /** The offset of `s`, adding it if missing. '' is always 0. */
  intern(s: string): number {
    if (s === '') return 0;
    if (this.#base) {
      const off = stringMapOf(this.#base).get(s);
      if (off !== undefined) return off;
    }
    const map = this.#ownMap();
    const known = map.get(s);
    if (known !== undefined) return known;
    const enc = Buffer.from(s, 'utf8');
    if (enc.includes(0)) throw new UsageError(`BTF string ${JSON.stringify(s)} contains NUL`);
    this.#grow(enc.length + 1);
    const off = this.start + this.#len;
    this.#buf.set(enc, this.#len);
    this.#buf[this.#len + enc.length] = 0;
    this.#len += enc.length + 1;
    map.set(s, off);
    return off;
  }

  #ownMap(): Map<string, number> {
    if (!this.#map) {
      this.#map = new Map();
      const b = this.#buf;
      for (let p = 0; p < this.#len;) {
        let end = b.indexOf(0, p);
        if (end < 0 || end >= this.#len) end = this.#len;
        const str = Buffer.from(b.buffer, b.byteOffset + p, end - p).toString('utf8');
        if (!this.#map.has(str) && str !== '') this.#map.set(str, this.start + p);
        p = end + 1;
      }
    }
    return this.#map;
  }

  #grow(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + extra));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }
}
