// Keys and values cross the syscall boundary as bytes. For convenience a
// 4- or 8-byte key or value may also be given as a number or bigint, encoded
// little-endian (x86_64 and arm64 are little-endian; so is every BPF target
// this project builds for). Every size is checked here, before any syscall:
// the kernel copies exactly key_size/value_size bytes from the pointers it is
// given, and must never run past a JS buffer. Every refusal is a UsageError
// naming the operand (and so the map).
import { UsageError } from '../errors.ts';

/** A key as user code may give it. */
export type MapKey = Uint8Array | number | bigint;
/**
 * A value as user code may give it. An object with an `fd` (a BpfMap, an FD
 * wrapper, a program) stands for that fd, for fd-valued maps.
 */
export type MapValue = Uint8Array | number | bigint | { readonly fd: number };

const TWO_32 = 2 ** 32;

/**
 * Write `v` into `dv` at `offset` as exactly `size` bytes. `what` names the
 * operand in errors (`key of map "counts"`). A number or bigint is taken as
 * unsigned, or, with `signed`, as either (two's complement: -1 and 0xffffffff
 * are the same 4 bytes). Keys are unsigned: `lookup(-1)` is a mistake, not
 * index 0xffffffff. Throws UsageError; never writes outside [offset, offset + size).
 */
export function encodeInto(v: MapKey | MapValue, target: Uint8Array, dv: DataView, offset: number, size: number, what: string, signed = true): void {
  if (v instanceof Uint8Array) {
    if (v.length !== size) throw new UsageError(`${what} must be ${size} bytes, got a Uint8Array of ${v.length}`);
    target.set(v, offset);
    return;
  }
  if (typeof v === 'object' && v !== null && typeof (v as { fd?: unknown }).fd === 'number') v = (v as { fd: number }).fd;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new UsageError(`${what} must be an integer, got ${v}`);
    if (v < 0 && !signed) throw new UsageError(`${what} ${v} is negative; keys are unsigned (pass the bytes for anything else)`);
    if (size === 4) {
      if (v < -(2 ** 31) || v >= TWO_32) throw new UsageError(`${what} ${v} does not fit 4 bytes`);
      dv.setUint32(offset, v >>> 0, true);
      return;
    }
    if (size === 8) {
      if (!Number.isSafeInteger(v)) throw new UsageError(`${what} ${v} is not a safe integer: pass a bigint`);
      dv.setUint32(offset, v >>> 0, true);
      dv.setUint32(offset + 4, Math.floor(v / TWO_32) >>> 0, true);
      return;
    }
    throw new UsageError(`${what} is ${size} bytes: only 4- and 8-byte keys/values may be given as numbers; pass a Uint8Array of ${size} bytes`);
  }
  if (typeof v === 'bigint') {
    if (v < 0n && !signed) throw new UsageError(`${what} ${v} is negative; keys are unsigned (pass the bytes for anything else)`);
    if (size === 4) {
      if (v < -(1n << 31n) || v >= 1n << 32n) throw new UsageError(`${what} ${v} does not fit 4 bytes`);
      dv.setUint32(offset, Number(BigInt.asUintN(32, v)), true);
      return;
    }
    if (size === 8) {
      if (v < -(1n << 63n) || v >= 1n << 64n) throw new UsageError(`${what} ${v} does not fit 8 bytes`);
      dv.setBigUint64(offset, BigInt.asUintN(64, v), true);
      return;
    }
    throw new UsageError(`${what} is ${size} bytes: only 4- and 8-byte keys/values may be given as bigints; pass a Uint8Array of ${size} bytes`);
  }
  throw new UsageError(`${what} must be a Uint8Array, number or bigint, got ${v === null ? 'null' : typeof v}`);
}

/** Encode one key or value into fresh bytes. */
export function encode(v: MapKey | MapValue, size: number, what: string, signed = true): Uint8Array {
  const out = new Uint8Array(size);
  encodeInto(v, out, new DataView(out.buffer), 0, size, what, signed);
  return out;
}

/** The first 4 bytes as a little-endian u32. */
export function decodeU32(bytes: Uint8Array, offset = 0): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true);
}

/** The first 8 bytes as a little-endian u64. */
export function decodeU64(bytes: Uint8Array, offset = 0): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset, true);
}
