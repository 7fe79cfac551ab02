// Typed access to global variables by name, driven by the section's DATASEC:
// before load the object's initial bytes are edited (they become the map's
// contents); after load reads and writes go through the map's mmap'd view,
// live — what a BPF program writes is seen at once, and .rodata is read-only.
import { type Btf, BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, BTF_KIND_ARRAY, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_INT, BTF_KIND_PTR, resolveType, typeToC } from '../btf/index.ts';
import { ObjectError } from './errors.ts';
import type { GlobalVarSpec } from './spec.ts';
import { copyBytes } from '../util/bytes.ts';
import { UsageError } from '../errors.ts';

export type GlobalValue = number | bigint | boolean | string | Uint8Array;

export class GlobalData {
  #bytes: Uint8Array;
  #writable: boolean;
  readonly vars: ReadonlyMap<string, GlobalVarSpec>;

  constructor(
    readonly objName: string,
    /** The section (".bss", ".rodata", ".data.custom"). */
    readonly section: string,
    vars: GlobalVarSpec[],
    private readonly btf: Btf | undefined,
    initial: Uint8Array,
  ) {
    this.vars = new Map(vars.map((v) => [v.name, v]));
    this.#bytes = initial;
    this.#writable = true;
  }

  /** After load: switch to the live mapping (read-only for frozen sections). */
  attach(live: Uint8Array, writable: boolean): void {
    this.#bytes = live;
    this.#writable = writable;
  }

  /** The raw bytes (initial image before load, live mapping after). */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  #var(name: string): GlobalVarSpec {
    const v = this.vars.get(name);
    if (!v) throw new ObjectError(this.objName, `section ${this.section} has no variable "${name}" (has: ${[...this.vars.keys()].join(', ') || 'none'})`);
    return v;
  }

  /** A view of one variable's bytes (live after load). */
  raw(name: string): Uint8Array {
    const v = this.#var(name);
    return this.#bytes.subarray(v.offset, v.offset + v.size);
  }

  /** Read a variable, decoded by its BTF type: integers (bigint for 64-bit), bool, char arrays as strings, else bytes. */
  get(name: string): GlobalValue {
    const v = this.#var(name);
    const b = this.raw(name);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const shape = this.#shape(v);
    switch (shape.kind) {
      case 'bool':
        return dv.getUint8(0) !== 0;
      case 'int':
        return readInt(dv, v.size, shape.signed);
      case 'float':
        return v.size === 4 ? dv.getFloat32(0, true) : dv.getFloat64(0, true);
      case 'string': {
        const nul = b.indexOf(0);
        return Buffer.from(b.subarray(0, nul < 0 ? b.length : nul)).toString('utf8');
      }
      default:
        return copyBytes(b);
    }
  }

  /** Write a variable (before load, or after load for writable sections). */
  set(name: string, value: GlobalValue): void {
    const v = this.#var(name);
    if (!this.#writable) throw new ObjectError(this.objName, `variable "${name}" in ${this.section} is read-only after load (set .rodata values before load())`);
    const b = this.raw(name);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const shape = this.#shape(v);
    const bad = (): never => {
      throw new UsageError(`${this.objName}: variable "${name}" (${this.#typeName(v)}) cannot be set from ${typeof value === 'object' ? `${value.constructor.name}(${(value as Uint8Array).length})` : typeof value}`);
    };
    if (value instanceof Uint8Array) {
      if (value.length !== v.size) throw new UsageError(`${this.objName}: variable "${name}" is ${v.size} bytes; got ${value.length}`);
      b.set(value);
      return;
    }
    switch (shape.kind) {
      case 'bool':
        if (typeof value !== 'boolean' && typeof value !== 'number') bad();
        dv.setUint8(0, value ? 1 : 0);
        return;
      case 'int':
        if (typeof value !== 'number' && typeof value !== 'bigint' && typeof value !== 'boolean') bad();
        writeInt(dv, v.size, shape.signed, typeof value === 'boolean' ? (value ? 1 : 0) : value as number | bigint, name);
        return;
      case 'float':
        if (typeof value !== 'number') bad();
        if (v.size === 4) dv.setFloat32(0, value as number, true);
        else dv.setFloat64(0, value as number, true);
        return;
      case 'string': {
        if (typeof value !== 'string') bad();
        const enc = Buffer.from(value as string, 'utf8');
        if (enc.length >= v.size) throw new UsageError(`${this.objName}: string for "${name}" needs ${enc.length + 1} bytes; the array holds ${v.size}`);
        b.fill(0);
        b.set(enc);
        return;
      }
      default:
        bad();
    }
  }

  #typeName(v: GlobalVarSpec): string {
    return this.btf ? typeToC(this.btf, v.typeId) : `${v.size} bytes`;
  }

  #shape(v: GlobalVarSpec): { kind: 'int'; signed: boolean } | { kind: 'bool' | 'float' | 'string' | 'bytes' } {
    const shape = this.#btfShape(v);
    // Numbers are read only at the widths a DataView has (an __int128, or a size the BTF contradicts, stays bytes).
    if (shape.kind === 'int' && v.size !== 1 && v.size !== 2 && v.size !== 4 && v.size !== 8) return { kind: 'bytes' };
    if (shape.kind === 'float' && v.size !== 4 && v.size !== 8) return { kind: 'bytes' };
    if (shape.kind === 'bool' && v.size < 1) return { kind: 'bytes' };
    return shape;
  }

  #btfShape(v: GlobalVarSpec): { kind: 'int'; signed: boolean } | { kind: 'bool' | 'float' | 'string' | 'bytes' } {
    if (!this.btf) return v.size <= 8 && (v.size & (v.size - 1)) === 0 ? { kind: 'int', signed: false } : { kind: 'bytes' };
    const id = resolveType(this.btf, v.typeId);
    const t = this.btf.type(id);
    switch (t.kind) {
      case BTF_KIND_INT:
        if (t.encoding & BTF_INT_BOOL) return { kind: 'bool' };
        return { kind: 'int', signed: (t.encoding & BTF_INT_SIGNED) !== 0 };
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
        return { kind: 'int', signed: t.signed };
      case BTF_KIND_PTR:
        return { kind: 'int', signed: false };
      case BTF_KIND_FLOAT:
        return { kind: 'float' };
      case BTF_KIND_ARRAY: {
        const el = this.btf.type(resolveType(this.btf, t.type));
        if (el.kind === BTF_KIND_INT && el.size === 1 && ((el.encoding & BTF_INT_CHAR) !== 0 || el.name === 'char' || el.name === 'unsigned char' || el.name === 'signed char'))
          return { kind: 'string' };
        return { kind: 'bytes' };
      }
      default:
        return { kind: 'bytes' };
    }
  }
}

function readInt(dv: DataView, size: number, signed: boolean): number | bigint {
  switch (size) {
    case 1:
      return signed ? dv.getInt8(0) : dv.getUint8(0);
    case 2:
      return signed ? dv.getInt16(0, true) : dv.getUint16(0, true);
    case 4:
      return signed ? dv.getInt32(0, true) : dv.getUint32(0, true);
    case 8:
      return signed ? dv.getBigInt64(0, true) : dv.getBigUint64(0, true);
    default:
      throw new UsageError(`integer of ${size} bytes`);
  }
}

function writeInt(dv: DataView, size: number, signed: boolean, value: number | bigint, name: string): void {
  const bits = size * 8;
  const big = BigInt(value);
  const fits = signed ? BigInt.asIntN(bits, big) === big : BigInt.asUintN(bits, big) === big;
  if (!fits) throw new UsageError(`value ${value} does not fit variable "${name}" (${signed ? 'signed' : 'unsigned'} ${bits}-bit)`);
  switch (size) {
    case 1:
      dv.setUint8(0, Number(BigInt.asUintN(8, big)));
      return;
    case 2:
      dv.setUint16(0, Number(BigInt.asUintN(16, big)), true);
      return;
    case 4:
      dv.setUint32(0, Number(BigInt.asUintN(32, big)), true);
      return;
    case 8:
      dv.setBigUint64(0, BigInt.asUintN(64, big), true);
      return;
  }
}
