// Bytes -> JSON-ready values, driven by BTF: what `tsbpf map dump`, `tsbpf run`
// and `tsbpf inspect` print for a map entry, an event record or a global's
// initial value. Pure: a Btf, a type id and the bytes.
//
// The shapes: integers are numbers (bigint past 2^53: JSON has no 64-bit
// integers, so decodeToJson turns those into strings), bool is a boolean, an
// enum is its enumerator's name (the number when no name matches), a char
// array is the string up to its first NUL, other arrays are arrays, structs
// and unions are objects by member name (anonymous members merged in), a
// pointer is its address in hex, and anything else is hex bytes.
import {
  type Btf, type BtfComposite, BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, BTF_KIND_ARRAY, BTF_KIND_CONST,
  BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_RESTRICT, BTF_KIND_STRUCT,
  BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG, BTF_KIND_UNION, BTF_KIND_VOLATILE, BTF_KIND_VAR, BTF_KIND_DATASEC,
  memberBitfieldSize, sizeof,
} from '../btf/index.ts';

export type DecodedValue = number | bigint | boolean | string | null | DecodedValue[] | { [name: string]: DecodedValue };

/** How deep nested structs may go before the rest is printed as hex (vmlinux has no deeper real types). */
const MAX_DEPTH = 32;
/** Arrays longer than this are cut (the rest summarized): a 64 KiB buffer is no use as 65536 numbers. */
const MAX_ARRAY = 4096;
/**
 * Values one decode produces at most, over all levels: nested arrays multiply
 * (a crafted BTF of arrays of arrays would otherwise ask for 4096^depth), so
 * the cut is global; what is left is summarized.
 */
const MAX_VALUES = 1 << 16;

/** What one decode may still produce (threaded through the walk). */
interface Budget {
  left: number;
}

/** Decode `bytes` (at least sizeof(type) long) as BTF type `typeId` of `btf`. */
export function decodeValue(btf: Btf, typeId: number, bytes: Uint8Array): DecodedValue {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return decodeAt(btf, typeId, dv, 0, 0, { left: MAX_VALUES });
}

/** The same, with bigints turned into decimal strings: ready for JSON.stringify. */
export function decodeToJson(btf: Btf, typeId: number, bytes: Uint8Array): unknown {
  return toJson(decodeValue(btf, typeId, bytes));
}

/** bigint -> string, recursively (JSON.stringify refuses bigints). */
export function toJson(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return hex(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJson(x);
    return out;
  }
  return v;
}

/** Lower-case hex, two digits a byte, no separators. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function skipQualifiers(btf: Btf, id: number): number {
  for (let n = 0; n < MAX_DEPTH && id !== 0; n++) {
    const k = btf.kindOf(id);
    if (k !== BTF_KIND_TYPEDEF && k !== BTF_KIND_CONST && k !== BTF_KIND_VOLATILE && k !== BTF_KIND_RESTRICT
      && k !== BTF_KIND_TYPE_TAG && k !== BTF_KIND_VAR) return id;
    id = btf.sizeOrTypeOf(id);
  }
  return id;
}

/** An integer of `size` bytes at byte `off`. */
function readInt(dv: DataView, off: number, size: number, signed: boolean): number | bigint {
  switch (size) {
    case 1: return signed ? dv.getInt8(off) : dv.getUint8(off);
    case 2: return signed ? dv.getInt16(off, true) : dv.getUint16(off, true);
    case 4: return signed ? dv.getInt32(off, true) : dv.getUint32(off, true);
    case 8: {
      const v = signed ? dv.getBigInt64(off, true) : dv.getBigUint64(off, true);
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    case 16: {
      const lo = dv.getBigUint64(off, true);
      const hi = dv.getBigUint64(off + 8, true);
      const u = (hi << 64n) | lo;
      return signed ? BigInt.asIntN(128, u) : u;
    }
    default: return hex(new Uint8Array(dv.buffer, dv.byteOffset + off, size)) as unknown as number;
  }
}

/** A bitfield: `bits` bits starting `bitOff` bits into the little-endian storage at `off`. */
function readBits(dv: DataView, off: number, bitOff: number, bits: number, signed: boolean): number | bigint {
  const first = off + (bitOff >> 3);
  const shift = bitOff & 7;
  const nbytes = Math.ceil((shift + bits) / 8);
  let v = 0n;
  for (let i = nbytes - 1; i >= 0; i--) v = (v << 8n) | BigInt(first + i < dv.byteLength ? dv.getUint8(first + i) : 0);
  v = (v >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n);
  if (signed) v = BigInt.asIntN(bits, v);
  return bits <= 53 ? Number(v) : v;
}

function decodeAt(btf: Btf, typeId: number, dv: DataView, off: number, depth: number, budget: Budget): DecodedValue {
  if (--budget.left < 0) return '...';
  const id = skipQualifiers(btf, typeId);
  if (id === 0) return null;
  const kind = btf.kindOf(id);
  if (depth > MAX_DEPTH) return hexOf(btf, id, dv, off);
  switch (kind) {
    case BTF_KIND_INT: {
      const t = btf.type(id);
      if (t.kind !== BTF_KIND_INT) break;
      if (t.encoding & BTF_INT_BOOL) return dv.getUint8(off) !== 0;
      if (t.bits !== t.size * 8) return readBits(dv, off, t.bitOffset, t.bits, (t.encoding & BTF_INT_SIGNED) !== 0);
      return readInt(dv, off, t.size, (t.encoding & BTF_INT_SIGNED) !== 0);
    }
    case BTF_KIND_ENUM: case BTF_KIND_ENUM64: {
      const t = btf.type(id);
      if (t.kind !== BTF_KIND_ENUM && t.kind !== BTF_KIND_ENUM64) break;
      const raw = readInt(dv, off, t.size, t.signed);
      const big = BigInt(raw);
      const hit = (t.values as { name: string; value: number | bigint }[]).find((e) => BigInt(e.value) === big);
      return hit ? hit.name : raw;
    }
    case BTF_KIND_FLOAT: {
      const size = btf.sizeOrTypeOf(id);
      if (size === 4) return dv.getFloat32(off, true);
      if (size === 8) return dv.getFloat64(off, true);
      return hexOf(btf, id, dv, off);
    }
    case BTF_KIND_PTR:
      return `0x${dv.getBigUint64(off, true).toString(16)}`;
    case BTF_KIND_ARRAY: {
      const elem = btf.arrayType(id);
      const n = btf.arrayNelems(id);
      const e = skipQualifiers(btf, elem);
      if (isChar(btf, e)) {
        const raw = new Uint8Array(dv.buffer, dv.byteOffset + off, Math.min(n, dv.byteLength - off));
        const nul = raw.indexOf(0);
        return Buffer.from(raw.subarray(0, nul < 0 ? raw.length : nul)).toString('utf8');
      }
      const esize = sizeof(btf, elem);
      const out: DecodedValue[] = [];
      // elements past the bytes given (a zero-size element type included) have nothing to show
      const shown = Math.min(n, MAX_ARRAY, esize > 0 ? Math.max(0, Math.ceil((dv.byteLength - off) / esize)) : 1);
      for (let i = 0; i < shown && budget.left > 0; i++) out.push(decodeAt(btf, elem, dv, off + i * esize, depth + 1, budget));
      if (n > out.length) out.push(`... ${n - out.length} more`);
      return out;
    }
    case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
      const out: { [name: string]: DecodedValue } = {};
      decodeMembers(btf, btf.type(id) as BtfComposite, dv, off, 0, depth, out, budget);
      return out;
    }
    case BTF_KIND_DATASEC: {
      const t = btf.type(id);
      const out: { [name: string]: DecodedValue } = {};
      if (t.kind === BTF_KIND_DATASEC) for (const v of t.vars) out[btf.nameOf(v.type)] = decodeAt(btf, v.type, dv, off + v.offset, depth + 1, budget);
      return out;
    }
    default:
      break;
  }
  return hexOf(btf, id, dv, off);
}

/** Members into `out`; an anonymous struct/union member's own members are merged in (as C lets you name them). */
function decodeMembers(btf: Btf, t: BtfComposite, dv: DataView, off: number, bitBase: number, depth: number, out: { [name: string]: DecodedValue }, budget: Budget): void {
  for (const m of t.members) {
    if (budget.left <= 0) break;
    const bitOff = bitBase + m.bitOffset;
    const bits = memberBitfieldSize(btf, m);
    if (bits > 0) {
      const r = skipQualifiers(btf, m.type);
      const t2 = btf.type(r);
      const signed = t2.kind === BTF_KIND_INT ? (t2.encoding & BTF_INT_SIGNED) !== 0 : t2.kind === BTF_KIND_ENUM || t2.kind === BTF_KIND_ENUM64 ? t2.signed : false;
      out[m.name || `@${bitOff}`] = readBits(dv, off, bitOff, bits, signed);
      continue;
    }
    const inner = skipQualifiers(btf, m.type);
    const innerKind = btf.kindOf(inner);
    if (m.name === '' && (innerKind === BTF_KIND_STRUCT || innerKind === BTF_KIND_UNION)) {
      decodeMembers(btf, btf.type(inner) as BtfComposite, dv, off, bitOff, depth + 1, out, budget);
      continue;
    }
    out[m.name || `@${bitOff}`] = decodeAt(btf, m.type, dv, off + (bitOff >> 3), depth + 1, budget);
  }
}

function isChar(btf: Btf, id: number): boolean {
  if (btf.kindOf(id) !== BTF_KIND_INT) return false;
  const t = btf.type(id);
  return t.kind === BTF_KIND_INT && t.size === 1 && ((t.encoding & BTF_INT_CHAR) !== 0 || t.name === 'char');
}

function hexOf(btf: Btf, id: number, dv: DataView, off: number): string {
  let size: number;
  try { size = sizeof(btf, id); } catch { size = 0; }
  return hex(new Uint8Array(dv.buffer, dv.byteOffset + off, Math.max(0, Math.min(size, dv.byteLength - off))));
}
