// Typed C struct layouts. Each `bpf_attr` variant, `perf_event_attr` and the
// `bpf_*_info` structs is declared once, in attr.ts / perf.ts, as a Layout:
// field name -> byte offset and C type. No other file computes offsets.
import { addressOf } from './libc.ts';
import { TsbpfError, UsageError } from '../errors.ts';

export type FieldKind = 'u8' | 'u16' | 'u32' | 's32' | 'u64' | 'ptr' | 'chars' | 'bytes';

export interface Field {
  readonly off: number;
  readonly kind: FieldKind;
  /** Length in bytes, for `chars` (a NUL-padded char array) and `bytes`. */
  readonly len?: number;
}

type ValueOf<K extends FieldKind> = K extends 'u64'
  ? bigint | number
  : K extends 'ptr'
    ? ArrayBufferView | ArrayBuffer | bigint | null
    : K extends 'chars'
      ? string
      : K extends 'bytes'
        ? Uint8Array
        : number;

type ReadOf<K extends FieldKind> = K extends 'u64' | 'ptr' ? bigint : K extends 'chars' ? string : K extends 'bytes' ? Uint8Array : number;

export type Values<F extends Record<string, Field>> = { [N in keyof F]?: ValueOf<F[N]['kind']> };

export const u32 = (off: number) => ({ off, kind: 'u32' }) as const;
export const s32 = (off: number) => ({ off, kind: 's32' }) as const;
export const u16 = (off: number) => ({ off, kind: 'u16' }) as const;
export const u8 = (off: number) => ({ off, kind: 'u8' }) as const;
export const u64 = (off: number) => ({ off, kind: 'u64' }) as const;
export const ptr = (off: number) => ({ off, kind: 'ptr' }) as const;
export const chars = (off: number, len: number) => ({ off, kind: 'chars', len }) as const;
export const bytes = (off: number, len: number) => ({ off, kind: 'bytes', len }) as const;

/** A C struct: its name (for messages), its size, and its fields. */
export class Layout<F extends Record<string, Field>> {
  constructor(
    readonly name: string,
    readonly size: number,
    readonly fields: F,
  ) {
    for (const [field, f] of Object.entries(fields)) {
      const width = f.len ?? (f.kind === 'u64' || f.kind === 'ptr' ? 8 : f.kind === 'u16' ? 2 : f.kind === 'u8' ? 1 : 4);
      if (f.off + width > size) throw new TsbpfError(`layout ${name}: field ${field} overruns the struct`);
    }
  }

  /** A zeroed instance, optionally with some fields set. */
  create(values?: Values<F>): Struct<F> {
    const s = new Struct(this);
    if (values) s.assign(values);
    return s;
  }

  /** Wrap existing bytes (e.g. an info struct the kernel filled). */
  wrap(buf: Uint8Array): Struct<F> {
    return new Struct(this, buf);
  }

  offsetOf(field: keyof F): number {
    return this.fields[field]!.off;
  }
}

/** One instance of a Layout, backed by a Buffer the kernel can read and write. */
export class Struct<F extends Record<string, Field>> {
  readonly buf: Buffer;
  readonly dv: DataView;
  // Buffers whose addresses were written into pointer fields: kept alive as
  // long as this struct, because the kernel will dereference them.
  #refs: unknown[] = [];

  constructor(
    readonly layout: Layout<F>,
    buf?: Uint8Array,
  ) {
    this.buf = buf ? Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength) : Buffer.alloc(layout.size);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  assign(values: Values<F>): this {
    for (const key of Object.keys(values) as (keyof F)[]) {
      const v = values[key];
      if (v !== undefined) this.set(key, v as never);
    }
    return this;
  }

  set<N extends keyof F>(field: N, value: ValueOf<F[N]['kind']>): this {
    const f = this.layout.fields[field]!;
    const dv = this.dv;
    switch (f.kind) {
      case 'u8':
        dv.setUint8(f.off, value as number);
        break;
      case 'u16':
        dv.setUint16(f.off, value as number, true);
        break;
      case 'u32':
        dv.setUint32(f.off, (value as number) >>> 0, true);
        break;
      case 's32':
        dv.setInt32(f.off, value as number, true);
        break;
      case 'u64':
        dv.setBigUint64(f.off, BigInt.asUintN(64, BigInt(value as number | bigint)), true);
        break;
      case 'ptr': {
        const v = value as ArrayBufferView | ArrayBuffer | bigint | null;
        let addr = 0n;
        if (typeof v === 'bigint') addr = v;
        else if (v !== null) {
          const len = v instanceof ArrayBuffer ? v.byteLength : v.byteLength;
          if (len > 0) {
            addr = addressOf(v);
            this.#refs.push(v);
          }
        }
        dv.setBigUint64(f.off, addr, true);
        break;
      }
      case 'chars': {
        const enc = Buffer.from(value as string, 'utf8');
        this.buf.fill(0, f.off, f.off + f.len!);
        enc.copy(this.buf, f.off, 0, Math.min(enc.length, f.len! - 1));
        break;
      }
      case 'bytes':
        this.buf.set((value as Uint8Array).subarray(0, f.len!), f.off);
        break;
    }
    return this;
  }

  get<N extends keyof F>(field: N): ReadOf<F[N]['kind']> {
    const f = this.layout.fields[field]!;
    const dv = this.dv;
    switch (f.kind) {
      case 'u8':
        return dv.getUint8(f.off) as never;
      case 'u16':
        return dv.getUint16(f.off, true) as never;
      case 'u32':
        return dv.getUint32(f.off, true) as never;
      case 's32':
        return dv.getInt32(f.off, true) as never;
      case 'u64':
      case 'ptr':
        return dv.getBigUint64(f.off, true) as never;
      case 'chars': {
        const raw = this.buf.subarray(f.off, f.off + f.len!);
        const nul = raw.indexOf(0);
        return raw.subarray(0, nul < 0 ? raw.length : nul).toString('utf8') as never;
      }
      case 'bytes':
        return Uint8Array.prototype.slice.call(this.buf, f.off, f.off + f.len!) as never;
    }
  }

  /** A u64 field as a JS number (throws if it does not fit). */
  num<N extends keyof F>(field: N): number {
    const v = this.get(field) as number | bigint;
    if (typeof v === 'number') return v;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`${this.layout.name}.${String(field)} does not fit a JS number`);
    return Number(v);
  }
}
