// What generated code (src/codegen/ts_types.ts, src/skel/generate.ts) calls
// at run time: the Codec shape, C strings, range-checked integers, bitfields.
// Everything a generated codec does per field is a DataView call or one of
// these small functions; no type is looked up or interpreted at run time.
import { TsbpfError } from '../errors.ts';

/** A value could not be encoded into its C type: wrong JS type, out of range, too long. The message names the field. */
export class CodecError extends TsbpfError {
  constructor(
    /** The field, as `struct event.comm` or `key of map "counts"`. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'CodecError';
    this.code = 'EINVAL';
  }
}

/**
 * The encoder and decoder of one C type, generated from BTF. `decode` reads
 * `size` bytes at `off`; `encode` writes exactly `size` bytes at `off`
 * (padding zeroed) and throws CodecError for a value that does not fit.
 */
export interface Codec<T> {
  /** The C spelling of the type ("struct event", "__u32"). */
  readonly name: string;
  readonly size: number;
  decode(dv: DataView, off: number): T;
  encode(dv: DataView, off: number, value: T): void;
}

/** A class of zero-allocation views over one C struct: getters read the memory in place. */
export interface ViewClass<V, T> {
  new (dv?: DataView, off?: number): V & RecordView<T>;
}

/** What every generated view has beside its getters. */
export interface RecordView<T> {
  /** Point the view at another record (no allocation). */
  $at(dv: DataView, off: number): this;
  /** A copy of the record as a plain object (use it to keep a record past the callback). */
  toObject(): T;
}

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** A C string stored in `len` bytes at `off`: up to the first NUL (or all `len` bytes), decoded as UTF-8. */
export function readCString(dv: DataView, off: number, len: number): string {
  // ASCII is decoded by hand: no subarray or decoder call for the common case.
  let s = '';
  for (let i = 0; i < len; i++) {
    const c = dv.getUint8(off + i);
    if (c === 0) return s;
    if (c >= 0x80) return readUtf8(dv, off, len);
    s += String.fromCharCode(c);
  }
  return s;
}

function readUtf8(dv: DataView, off: number, len: number): string {
  const bytes = new Uint8Array(dv.buffer, dv.byteOffset + off, len);
  const nul = bytes.indexOf(0);
  return utf8.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

/** Write `value` as a C string into `len` bytes at `off` (NUL-padded; exactly `len` bytes leaves no NUL, as C allows). */
export function writeCString(dv: DataView, off: number, len: number, value: unknown, field: string): void {
  if (typeof value !== 'string') throw new CodecError(field, `expected a string, got ${describe(value)}`);
  const bytes = utf8Encoder.encode(value);
  if (bytes.length > len) throw new CodecError(field, `"${value.length > 40 ? `${value.slice(0, 40)}...` : value}" is ${bytes.length} bytes of UTF-8; the array holds ${len}`);
  for (let i = 0; i < len; i++) dv.setUint8(off + i, i < bytes.length ? bytes[i]! : 0);
}

/** Zero `len` bytes at `off` (padding, and the bytes of union members not given). */
export function zeroBytes(dv: DataView, off: number, len: number): void {
  new Uint8Array(dv.buffer, dv.byteOffset + off, len).fill(0);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name} of ${(v as Uint8Array).length}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** `v` checked to be an integer in [min, max] (a number: types up to 32 bits). */
export function checkInt(v: unknown, min: number, max: number, field: string): number {
  if (typeof v === 'boolean') v = v ? 1 : 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new CodecError(field, `expected an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new CodecError(field, `${v} is out of range [${min}, ${max}]`);
  return v;
}

/** `v` checked to fit `bits` bits (a bigint, or a safe-integer number), as a bigint. */
export function checkBigInt(v: unknown, bits: number, signed: boolean, field: string): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else throw new CodecError(field, `expected a bigint, got ${describe(v)}`);
  const fits = signed ? BigInt.asIntN(bits, b) === b : BigInt.asUintN(bits, b) === b;
  if (!fits) throw new CodecError(field, `${b} does not fit ${signed ? 'a signed' : 'an unsigned'} ${bits}-bit field`);
  return b;
}

/** `v` checked to be a number (floats). */
export function checkFloat(v: unknown, field: string): number {
  if (typeof v !== 'number') throw new CodecError(field, `expected a number, got ${describe(v)}`);
  return v;
}

/** `v` checked to be an array-like of exactly `n` elements. */
export function checkLength<T extends ArrayLike<unknown>>(v: T, n: number, field: string): T {
  if (v === null || typeof v !== 'object' || typeof (v as ArrayLike<unknown>).length !== 'number') throw new CodecError(field, `expected ${n} elements, got ${describe(v)}`);
  if (v.length !== n) throw new CodecError(field, `expected ${n} elements, got ${v.length}`);
  return v;
}

/** Bits [shift, shift + bits) of the little-endian bytes at `off` (bits + shift <= 64), as a bigint. */
export function readBitsBig(dv: DataView, off: number, nbytes: number, shift: number, bits: number, signed: boolean): bigint {
  let x = 0n;
  for (let i = nbytes - 1; i >= 0; i--) x = (x << 8n) | BigInt(dv.getUint8(off + i));
  x = BigInt.asUintN(bits, x >> BigInt(shift));
  return signed ? BigInt.asIntN(bits, x) : x;
}

/** Bits [shift, shift + bits) of the `nbytes` little-endian bytes at `off` (bits + shift <= 32 + 7), as a number. */
export function readBits(dv: DataView, off: number, nbytes: number, shift: number, bits: number, signed: boolean): number {
  if (shift + bits > 32) return Number(readBitsBig(dv, off, nbytes, shift, bits, signed));
  let x = 0;
  for (let i = nbytes - 1; i >= 0; i--) x = x * 256 + dv.getUint8(off + i);
  x = Math.floor(x / 2 ** shift) % 2 ** bits;
  return signed && x >= 2 ** (bits - 1) ? x - 2 ** bits : x;
}

/** Store `v` in bits [shift, shift + bits) of the `nbytes` little-endian bytes at `off`, leaving the other bits. */
export function writeBits(dv: DataView, off: number, nbytes: number, shift: number, bits: number, signed: boolean, v: unknown, field: string): void {
  const b = checkBigInt(typeof v === 'boolean' ? (v ? 1 : 0) : v, bits, signed, field);
  let x = 0n;
  for (let i = nbytes - 1; i >= 0; i--) x = (x << 8n) | BigInt(dv.getUint8(off + i));
  const mask = ((1n << BigInt(bits)) - 1n) << BigInt(shift);
  x = (x & ~mask) | ((BigInt.asUintN(bits, b) << BigInt(shift)) & mask);
  for (let i = 0; i < nbytes; i++, x >>= 8n) dv.setUint8(off + i, Number(x & 0xffn));
}

/** A 128-bit integer at `off`. */
export function readInt128(dv: DataView, off: number, signed: boolean): bigint {
  const x = (dv.getBigUint64(off + 8, true) << 64n) | dv.getBigUint64(off, true);
  return signed ? BigInt.asIntN(128, x) : x;
}

export function writeInt128(dv: DataView, off: number, signed: boolean, v: unknown, field: string): void {
  const b = BigInt.asUintN(128, checkBigInt(v, 128, signed, field));
  dv.setBigUint64(off, BigInt.asUintN(64, b), true);
  dv.setBigUint64(off + 8, b >> 64n, true);
}

/** Decode `n` elements of `stride` bytes each, element i by `one(off + i * stride)`. */
export function readArray<T>(n: number, off: number, stride: number, one: (off: number) => T): T[] {
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = one(off + i * stride);
  return out;
}

/** Encode the `n` elements of `v` (checked to be exactly n), element i by `one(off + i * stride, v[i])`. */
export function writeArray<T>(v: ArrayLike<T>, n: number, off: number, stride: number, field: string, one: (off: number, x: T, field: string) => void): void {
  checkLength(v, n, field);
  for (let i = 0; i < n; i++) one(off + i * stride, v[i]!, `${field}[${i}]`);
}

/** A DataView over `bytes` (the whole Uint8Array, whatever its offset in its buffer). */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Encode `value` with `codec` into fresh bytes. */
export function encodeToBytes<T>(codec: Codec<T>, value: T): Uint8Array {
  const out = new Uint8Array(codec.size);
  codec.encode(new DataView(out.buffer), 0, value);
  return out;
}

/** Decode `bytes` (at least codec.size long) with `codec`. */
export function decodeFromBytes<T>(codec: Codec<T>, bytes: Uint8Array, off = 0): T {
  if (bytes.length - off < codec.size) throw new CodecError(codec.name, `needs ${codec.size} bytes, got ${bytes.length - off}`);
  return codec.decode(viewOf(bytes), off);
}

/** `v` checked to be an object (a struct or union value). */
export function checkObject<T>(v: T, field: string): T {
  if (v === null || typeof v !== 'object') throw new CodecError(field, `expected an object, got ${describe(v)}`);
  return v;
}
