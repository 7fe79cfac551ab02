// Mutations for ELF objects, BTF blobs and .BTF.ext sections. Generic byte
// mutations (bit/byte flips, boundary values, truncation, chunk copies,
// splices with another seed) plus structure-aware ones found by a lenient walk
// of the input (it never trusts the input, and never uses src/): ELF header
// and section header fields set to boundary values, section headers swapped
// or duplicated, symbol fields, BTF header fields, BTF type records pointed at
// themselves, vlen/size/nelems at boundary values, .BTF.ext record sizes and counts.
import type { Rng } from './rng.ts';

const U32_BOUNDARY = [0, 1, 2, 3, 4, 7, 8, 12, 16, 24, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** A boundary value for a field of an input `len` bytes long. */
function boundary(rng: Rng, len: number): number {
  switch (rng.below(4)) {
    case 0: return rng.pick([len - 1, len, len + 1, len >>> 1, len + 8].map((v) => v >>> 0));
    case 1: return rng.below(64);
    default: return rng.pick(U32_BOUNDARY);
  }
}

function dv(b: Uint8Array): DataView { return new DataView(b.buffer, b.byteOffset, b.byteLength); }
function setU32(b: Uint8Array, at: number, v: number): void { if (at >= 0 && at + 4 <= b.length) dv(b).setUint32(at, v >>> 0, true); }
function getU32(b: Uint8Array, at: number): number { return at >= 0 && at + 4 <= b.length ? dv(b).getUint32(at, true) : 0; }
function setU64(b: Uint8Array, at: number, v: bigint): void { if (at >= 0 && at + 8 <= b.length) dv(b).setBigUint64(at, BigInt.asUintN(64, v), true); }
function setU16(b: Uint8Array, at: number, v: number): void { if (at >= 0 && at + 2 <= b.length) dv(b).setUint16(at, v & 0xffff, true); }

function u64Boundary(rng: Rng, len: number): bigint {
  return rng.chance(0.25) ? rng.pick([0xffffffffffffffffn, 1n << 53n, (1n << 53n) - 1n, 1n << 32n, 0x8000000000000000n]) : BigInt(boundary(rng, len));
}

// ---- lenient structure walks ---------------------------------------------

export interface ElfSectionView { hdrAt: number; type: number; offset: number; size: number; name: string; link: number }

/** The section headers of a little-endian ELF64 file, as far as they can be read (at most 512). */
export function elfSections(b: Uint8Array): ElfSectionView[] {
  if (b.length < 64 || b[0] !== 0x7f || b[1] !== 0x45 || b[4] !== 2 || b[5] !== 1) return [];
  const d = dv(b);
  const shoff = d.getUint32(40, true) + d.getUint32(44, true) * 0x1_0000_0000;
  const shnum = d.getUint16(60, true);
  const out: ElfSectionView[] = [];
  for (let i = 0; i < Math.min(shnum, 512); i++) {
    const at = shoff + i * 64;
    if (at + 64 > b.length) break;
    const hi = d.getUint32(at + 28, true) | d.getUint32(at + 36, true);
    out.push({ hdrAt: at, type: d.getUint32(at + 4, true), offset: hi ? -1 : d.getUint32(at + 24, true), size: hi ? -1 : d.getUint32(at + 32, true), name: '', link: d.getUint32(at + 40, true) });
  }
  const shstrndx = d.getUint16(62, true);
  const strtab = out[shstrndx];
  if (strtab && strtab.offset >= 0 && strtab.offset + strtab.size <= b.length) {
    for (const s of out) {
      const p = strtab.offset + getU32(b, s.hdrAt);
      if (p >= strtab.offset + strtab.size) continue;
      const end = b.indexOf(0, p);
      if (end > p && end - p < 128) s.name = Buffer.from(b.subarray(p, end)).toString('latin1');
    }
  }
  return out;
}

/** A section's bytes range, if it lies inside the file. */
function contents(b: Uint8Array, s: ElfSectionView | undefined): [number, number] | undefined {
  if (!s || s.offset < 0 || s.size <= 0 || s.offset + s.size > b.length || s.type === 8 /* NOBITS */) return undefined;
  return [s.offset, s.offset + s.size];
}

export interface BtfTypeView { at: number; id: number; kind: number; vlen: number; words: number }

/** Type records of the BTF blob at `base` (at most 8192), as far as they can be walked. */
export function btfTypes(b: Uint8Array, base: number, end: number): BtfTypeView[] {
  if (base + 24 > end || getU32(b, base) !== 0x0001eb9f) return [];
  const hdrLen = getU32(b, base + 4);
  const start = base + hdrLen + getU32(b, base + 8);
  const stop = Math.min(end, start + getU32(b, base + 12));
  const out: BtfTypeView[] = [];
  for (let at = start, id = 1; at + 12 <= stop && out.length < 8192; id++) {
    const info = getU32(b, at + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const words = btfWords(kind, vlen);
    if (words < 0) break;
    out.push({ at, id, kind, vlen, words });
    at += words * 4;
  }
  return out;
}

function btfWords(kind: number, vlen: number): number {
  switch (kind) {
    case 1: case 14: case 17: return 4;
    case 3: return 6;
    case 4: case 5: case 15: case 19: return 3 + 3 * vlen;
    case 6: case 13: return 3 + 2 * vlen;
    case 2: case 7: case 8: case 9: case 10: case 11: case 12: case 16: case 18: return 3;
    default: return -1;
  }
}

// ---- mutators ------------------------------------------------------------

type Mutator = (b: Uint8Array, rng: Rng, others: readonly Uint8Array[]) => Uint8Array;

const bitFlip: Mutator = (b, rng) => {
  for (let n = 1 + rng.below(8); n > 0 && b.length; n--) b[rng.below(b.length)]! ^= 1 << rng.below(8);
  return b;
};
const byteSet: Mutator = (b, rng) => {
  for (let n = 1 + rng.below(4); n > 0 && b.length; n--) b[rng.below(b.length)] = rng.chance(0.5) ? rng.pick([0, 1, 0x7f, 0x80, 0xff]) : rng.below(256);
  return b;
};
const wordSet: Mutator = (b, rng) => {
  if (b.length < 4) return b;
  const at = rng.below(b.length >>> 2) * 4;
  if (rng.chance(0.2)) setU16(b, at, boundary(rng, b.length));
  else if (rng.chance(0.15)) setU64(b, at & ~7, u64Boundary(rng, b.length));
  else setU32(b, at, rng.chance(0.3) ? getU32(b, at) + rng.below(17) - 8 : boundary(rng, b.length));
  return b;
};
const truncate: Mutator = (b, rng) => b.slice(0, rng.chance(0.5) ? rng.below(b.length) : Math.max(0, b.length - 1 - rng.below(64)));
const chunkCopy: Mutator = (b, rng) => {
  if (b.length < 2) return b;
  const len = 1 + rng.below(Math.min(256, b.length - 1));
  const from = rng.below(b.length - len);
  b.copyWithin(rng.below(b.length - len), from, from + len);
  return b;
};
const chunkInsertDelete: Mutator = (b, rng) => {
  const at = rng.below(b.length + 1);
  const len = 1 + rng.below(64);
  if (rng.chance(0.5)) return concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + len)));
  return concat(b.subarray(0, at), new Uint8Array(len).fill(rng.chance(0.5) ? 0 : rng.below(256)), b.subarray(at));
};
const splice: Mutator = (b, rng, others) => {
  if (others.length === 0) return b;
  const o = rng.pick(others);
  if (rng.chance(0.5)) {
    // Head of this input, tail of another.
    const cut = rng.below(Math.min(b.length, o.length) + 1);
    return concat(b.subarray(0, cut), o.subarray(cut));
  }
  // A chunk of the other one, at the same offset.
  const len = 1 + rng.below(512);
  const at = rng.below(Math.max(1, Math.min(b.length, o.length) - len));
  b.set(o.subarray(at, Math.min(o.length, at + len, b.length)), at);
  return b;
};

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

// ELF-aware
const ELF_HDR_FIELDS: [number, number][] = [[40, 8], [58, 2], [60, 2], [62, 2], [52, 2], [16, 2]];
const SHDR_FIELDS: [number, number][] = [[0, 4], [4, 4], [8, 8], [24, 8], [32, 8], [40, 4], [44, 4], [48, 8], [56, 8]];
const elfHeaderField: Mutator = (b, rng) => {
  const [at, w] = rng.pick(ELF_HDR_FIELDS);
  if (w === 8) setU64(b, at, u64Boundary(rng, b.length));
  else setU16(b, at, w === 2 && rng.chance(0.5) ? rng.pick([0, 1, 0xff00, 0xffff, elfSections(b).length, elfSections(b).length + 1]) : boundary(rng, b.length));
  return b;
};
const sectionHeaderField: Mutator = (b, rng) => {
  const secs = elfSections(b);
  if (!secs.length) return wordSet(b, rng, []);
  const s = rng.pick(secs);
  const [off, w] = rng.pick(SHDR_FIELDS);
  if (w === 8) setU64(b, s.hdrAt + off, rng.chance(0.3) ? BigInt(rng.pick(secs).offset >>> 0) : u64Boundary(rng, b.length));
  else setU32(b, s.hdrAt + off, off === 4 ? rng.pick([0, 1, 2, 3, 4, 8, 9, 11, 0x6fffffff]) : off >= 40 ? rng.below(secs.length + 2) : boundary(rng, b.length));
  return b;
};
const sectionHeaderSwap: Mutator = (b, rng) => {
  const secs = elfSections(b);
  if (secs.length < 2) return b;
  const x = rng.pick(secs), y = rng.pick(secs);
  const hx = b.slice(x.hdrAt, x.hdrAt + 64);
  if (rng.chance(0.5)) b.copyWithin(x.hdrAt, y.hdrAt, y.hdrAt + 64); // duplicate y over x
  else { b.copyWithin(x.hdrAt, y.hdrAt, y.hdrAt + 64); b.set(hx, y.hdrAt); } // swap
  return b;
};
/** A byte-level mutation confined to one section's contents (BTF, .BTF.ext, symbols, relocations, code, maps). */
const insideSection: Mutator = (b, rng, others) => {
  const secs = elfSections(b).filter((s) => contents(b, s));
  if (!secs.length) return bitFlip(b, rng, others);
  const preferred = secs.filter((s) => /^(\.BTF|\.BTF\.ext|\.symtab|\.rel|\.maps|maps|\.kconfig|license)/.test(s.name) || s.type === 2 || s.type === 9);
  const s = rng.pick(preferred.length && rng.chance(0.7) ? preferred : secs);
  const [start, end] = contents(b, s)!;
  const part = b.subarray(start, end);
  const m = rng.pick([bitFlip, byteSet, wordSet, chunkCopy]);
  m(part, rng, others);
  return b;
};
/** A symbol table entry's field set to a boundary value. */
const symbolField: Mutator = (b, rng) => {
  const symtab = elfSections(b).find((s) => s.type === 2);
  const r = contents(b, symtab);
  if (!r || r[1] - r[0] < 48) return b;
  const at = r[0] + 24 * (1 + rng.below((r[1] - r[0]) / 24 - 1));
  switch (rng.below(5)) {
    case 0: setU32(b, at, boundary(rng, b.length)); break; // st_name
    case 1: b[at + 4] = rng.below(256); break; // st_info
    case 2: setU16(b, at + 6, rng.pick([0, 1, 2, 3, 0xfff1, 0xfff2, 0xffff, elfSections(b).length])); break; // st_shndx
    case 3: setU64(b, at + 8, u64Boundary(rng, b.length)); break; // st_value
    default: setU64(b, at + 16, u64Boundary(rng, b.length)); break; // st_size
  }
  return b;
};

// BTF-aware: `btfAt` finds the blob (the whole input, or an object's .BTF section).
function btfRange(b: Uint8Array): [number, number] | undefined {
  if (getU32(b, 0) === 0x0001eb9f) return [0, b.length];
  return contents(b, elfSections(b).find((s) => s.name === '.BTF'));
}
const btfHeaderField: Mutator = (b, rng) => {
  const r = btfRange(b);
  if (!r) return b;
  const at = r[0] + 4 * (1 + rng.below(5));
  setU32(b, at, rng.chance(0.3) ? getU32(b, at) + rng.below(9) - 4 : boundary(rng, r[1] - r[0]));
  return b;
};
const btfTypeField: Mutator = (b, rng) => {
  const r = btfRange(b);
  if (!r) return b;
  const types = btfTypes(b, r[0], r[1]);
  if (!types.length) return btfHeaderField(b, rng, []);
  const t = rng.pick(types);
  const id = (): number => rng.pick([t.id, t.id, t.id + 1, t.id - 1, 0, types.length, types.length + 1, 0x7fffffff, 0xffffffff, rng.below(types.length + 1)]) >>> 0;
  switch (rng.below(7)) {
    case 0: setU32(b, t.at + 8, rng.chance(0.6) ? id() : boundary(rng, b.length)); break; // size or type: often itself
    case 1: { // kind
      const info = getU32(b, t.at + 4);
      setU32(b, t.at + 4, (info & 0x8000ffff) | (rng.below(32) << 24));
      break;
    }
    case 2: { // vlen
      const info = getU32(b, t.at + 4);
      setU32(b, t.at + 4, (info & 0xffff0000) | (rng.pick([0, 1, t.vlen + 1, t.vlen - 1, 0xffff, 0x8000]) & 0xffff));
      break;
    }
    case 3: setU32(b, t.at + 4, getU32(b, t.at + 4) ^ 0x80000000); break; // kind_flag
    case 4: setU32(b, t.at, boundary(rng, b.length)); break; // name_off
    default: { // an item: member/param/var type (often itself), array elem/nelems, offsets
      if (t.words <= 3) { setU32(b, t.at + 8, id()); break; }
      const w = 3 + rng.below(t.words - 3);
      setU32(b, t.at + 4 * w, rng.chance(0.5) ? id() : boundary(rng, b.length));
    }
  }
  return b;
};

const extHeaderField: Mutator = (b, rng) => {
  const r = contents(b, elfSections(b).find((s) => s.name === '.BTF.ext'));
  if (!r) return b;
  const hdrLen = getU32(b, r[0] + 4);
  if (rng.chance(0.4)) { setU32(b, r[0] + 4 * (1 + rng.below(7)), boundary(rng, r[1] - r[0])); return b; }
  // A blob's rec_size, or a section's num_info / name: the first words of each blob.
  const blob = rng.below(3);
  const off = getU32(b, r[0] + 8 + blob * 8);
  const at = r[0] + hdrLen + off + 4 * rng.below(3);
  if (at + 4 <= r[1]) setU32(b, at, boundary(rng, r[1] - r[0]));
  return b;
};

const GENERIC: Mutator[] = [bitFlip, byteSet, wordSet, wordSet, truncate, chunkCopy, chunkInsertDelete, splice];
const ELF: Mutator[] = [elfHeaderField, sectionHeaderField, sectionHeaderField, sectionHeaderSwap, insideSection, insideSection, insideSection, symbolField, btfHeaderField, btfTypeField, btfTypeField, btfTypeField, extHeaderField, extHeaderField];
const BTF: Mutator[] = [btfHeaderField, btfTypeField, btfTypeField, btfTypeField, btfTypeField];

/** 1 to 4 stacked mutations of a copy of `seed`; `kind` selects the structure-aware mutators. */
export function mutate(seed: Uint8Array, rng: Rng, others: readonly Uint8Array[], kind: 'elf' | 'btf'): Uint8Array {
  let b: Uint8Array = seed.slice();
  const aware = kind === 'elf' ? ELF : BTF;
  for (let n = 1 + rng.below(4); n > 0; n--) {
    const m = rng.chance(0.6) ? rng.pick(aware) : rng.pick(GENERIC);
    b = m(b, rng, others);
  }
  return b;
}
