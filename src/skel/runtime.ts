// What a generated skeleton (src/skel/generate.ts) stands on: the base class
// with the lifecycle (load, attach, destroy), typed maps that encode keys and
// decode values through generated codecs, ring/perf buffers delivering typed
// records, and global sections read and written through their codecs. The
// generated module only names things: every offset and size comes from the
// object's BTF, through its codecs.
import { UsageError } from '../errors.ts';
import type { AutoAttachOptions, Link } from '../attach/index.ts';
import { BpfObject, type GlobalData, type ObjectMap, type OpenOptions } from '../object/index.ts';
import { BPF_ANY, type BatchOptions, type BpfMap } from '../maps/index.ts';
import { PerfBuffer, RingBuffer, type RecordCallback } from '../ringbuf/index.ts';
import { CodecError, type Codec, type RecordView } from '../codegen/runtime.ts';

export type SkeletonOpenOptions = OpenOptions;

/** Base class of generated skeletons: the object, its lifecycle, and what destroy() releases. */
export class Skeleton {
  readonly obj: BpfObject;
  readonly #links: Record<string, Link> = {};
  readonly #closers: (() => void)[] = [];

  protected constructor(obj: BpfObject) {
    this.obj = obj;
  }

  /** Open the object from its bytes with the skeleton's name (generated open() calls it). */
  static openObject(bytes: Uint8Array, name: string, opts: SkeletonOpenOptions): BpfObject {
    return BpfObject.open(bytes, { name, ...opts });
  }

  get state(): 'opened' | 'loaded' | 'destroyed' {
    return this.obj.state;
  }

  /** Create the maps and load the programs (BpfObject.load). */
  load(): unknown {
    if (this.obj.state !== 'opened') throw new UsageError(`${this.obj.name}: load() on a skeleton that is already ${this.obj.state}`);
    this.obj.load();
    return this;
  }

  /**
   * Attach every program whose section names its target (libbpf's
   * skeleton __attach). The links are in `links`, by program name.
   */
  attach(opts: AutoAttachOptions = {}): this {
    if (this.obj.state !== 'loaded') throw new UsageError(`${this.obj.name}: attach() needs a loaded skeleton (it is ${this.obj.state}); call load() first`);
    for (const link of this.obj.attachAll(opts)) this.#links[link.program] = link;
    return this;
  }

  /** Attach one program by its section (or `opts`: a uprobe's binary, an XDP interface...); the link joins `links`. */
  attachProgram(name: string, opts: AutoAttachOptions = {}): Link {
    if (this.obj.state !== 'loaded') throw new UsageError(`${this.obj.name}: attachProgram("${name}") needs a loaded skeleton (it is ${this.obj.state}); call load() first`);
    const link = this.obj.attach(name, opts);
    this.#links[name] = link;
    return link;
  }

  /** Keep a link made by hand (attachUprobe, attachXdp, ...): listed in `links`, released by destroy(). */
  adoptLink(name: string, link: Link): Link {
    this.obj.adopt(link);
    this.#links[name] = link;
    return link;
  }

  /** Links made by attach(), by program name (undefined before attach). */
  get links(): Readonly<Record<string, Link | undefined>> {
    return this.#links;
  }

  /** @internal a ring/perf buffer opened on a map: closed by destroy() */
  adoptCloser(close: () => void): void {
    this.#closers.push(close);
  }

  /** Close buffers, detach links, close programs and maps. Idempotent. */
  async destroy(): Promise<void> {
    for (const c of this.#closers.splice(0)) c();
    for (const k of Object.keys(this.#links)) delete this.#links[k];
    await this.obj.destroy();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }
}

function liveMap(skel: Skeleton, om: ObjectMap): BpfMap {
  if (skel.obj.state !== 'loaded' || !om.map) throw new UsageError(`${skel.obj.name}: map "${om.name}" is used before load() (or after destroy()); it is ${skel.obj.state}`);
  return om.map;
}

/** A map whose keys and values are typed by the object's BTF. */
export class TypedMap<K, V> {
  readonly #skel: Skeleton;
  readonly #om: ObjectMap;
  readonly key: Codec<K>;
  readonly value: Codec<V>;
  #keyBuf: Uint8Array;
  #keyDv: DataView;

  constructor(skel: Skeleton, om: ObjectMap, key: Codec<K>, value: Codec<V>) {
    this.#skel = skel;
    this.#om = om;
    this.key = key;
    this.value = value;
    if (om.spec.spec.keySize !== key.size) throw new CodecError(`map "${om.name}"`, `key type ${key.name} is ${key.size} bytes but the map's keys are ${om.spec.spec.keySize}`);
    if (om.spec.spec.valueSize !== value.size) throw new CodecError(`map "${om.name}"`, `value type ${value.name} is ${value.size} bytes but the map's values are ${om.spec.spec.valueSize}`);
    this.#keyBuf = new Uint8Array(Math.max(key.size, 1));
    this.#keyDv = new DataView(this.#keyBuf.buffer);
  }

  get name(): string {
    return this.#om.name;
  }
  /** Settings before load (maxEntries, flags, pinPath, ...). */
  get settings(): ObjectMap {
    return this.#om;
  }
  /** The live BpfMap (after load). */
  get raw(): BpfMap {
    return liveMap(this.#skel, this.#om);
  }

  #encodeKey(key: K): Uint8Array {
    this.key.encode(this.#keyDv, 0, key);
    return this.#keyBuf;
  }

  #encodeValue(value: V): Uint8Array {
    const out = new Uint8Array(this.value.size);
    this.value.encode(new DataView(out.buffer), 0, value);
    return out;
  }

  #decodeValue(bytes: Uint8Array, off = 0): V {
    return this.value.decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), off);
  }

  /** The value under `key`, decoded, or undefined when absent. */
  lookup(key: K): V | undefined {
    const m = this.raw;
    if (m.perCpu) throw new UsageError(`map "${this.name}" is per-CPU: use lookupPerCpu()`);
    const v = m.lookup(this.#encodeKey(key));
    return v === undefined ? undefined : this.#decodeValue(v);
  }

  /** Store `value` under `key` (flags: BPF_ANY, BPF_NOEXIST, BPF_EXIST). */
  update(key: K, value: V, flags: number = BPF_ANY): void {
    const m = this.raw;
    if (m.perCpu) throw new UsageError(`map "${this.name}" is per-CPU: use updatePerCpu()`);
    m.update(this.#encodeKey(key), this.#encodeValue(value), flags);
  }

  /** Delete `key`: true when it was there. */
  delete(key: K): boolean {
    return this.raw.delete(this.#encodeKey(key));
  }

  /** Per-CPU maps: one decoded value per possible CPU, or undefined when absent. */
  lookupPerCpu(key: K): V[] | undefined {
    const vals = this.raw.lookupPerCpu(this.#encodeKey(key));
    return vals?.map((b) => this.#decodeValue(b));
  }

  /** Per-CPU maps: store one value per possible CPU. */
  updatePerCpu(key: K, values: readonly V[], flags: number = BPF_ANY): void {
    const m = this.raw;
    if (!m.perCpu) throw new UsageError(`map "${this.name}" is not per-CPU: use update()`);
    const cpus = m.valueBytes / m.valueStride;
    if (values.length !== cpus) throw new UsageError(`map "${this.name}": updatePerCpu needs ${cpus} values (one per possible CPU), got ${values.length}`);
    const all = new Uint8Array(m.valueBytes);
    const dv = new DataView(all.buffer);
    values.forEach((v, i) => this.value.encode(dv, i * m.valueStride, v));
    m.update(this.#encodeKey(key), all, flags);
  }

  /** The keys, decoded. */
  *keys(): Generator<K, void, undefined> {
    for (const k of this.raw.keys()) yield this.key.decode(new DataView(k.buffer, k.byteOffset, k.byteLength), 0);
  }

  /** [key, value] pairs, decoded (per-CPU maps: use entriesPerCpu). */
  *entries(): Generator<[K, V], void, undefined> {
    const m = this.raw;
    if (m.perCpu) throw new UsageError(`map "${this.name}" is per-CPU: use entriesPerCpu()`);
    for (const [k, v] of m.entries()) yield [this.key.decode(new DataView(k.buffer, k.byteOffset, k.byteLength), 0), this.#decodeValue(v)];
  }

  /** Per-CPU maps: [key, one value per CPU] pairs. */
  *entriesPerCpu(): Generator<[K, V[]], void, undefined> {
    for (const k of this.keys()) {
      const v = this.lookupPerCpu(k);
      if (v !== undefined) yield [k, v];
    }
  }

  [Symbol.iterator](): Generator<[K, V], void, undefined> {
    return this.entries();
  }

  /** Every entry through BPF_MAP_LOOKUP_BATCH, decoded. */
  lookupBatch(opts: BatchOptions = {}): [K, V][] {
    const m = this.raw;
    if (m.perCpu) throw new UsageError(`map "${this.name}" is per-CPU: use lookupBatchPerCpu()`);
    const b = m.lookupBatch(opts);
    const kdv = new DataView(b.keys.buffer, b.keys.byteOffset, b.keys.byteLength);
    const vdv = new DataView(b.values.buffer, b.values.byteOffset, b.values.byteLength);
    const out: [K, V][] = [];
    for (let i = 0; i < b.count; i++) out.push([this.key.decode(kdv, i * m.keySize), this.value.decode(vdv, i * m.valueBytes)]);
    return out;
  }

  /** Per-CPU maps: every entry through BPF_MAP_LOOKUP_BATCH, one decoded value per CPU. */
  lookupBatchPerCpu(opts: BatchOptions = {}): [K, V[]][] {
    const m = this.raw;
    if (!m.perCpu) throw new UsageError(`map "${this.name}" is not per-CPU: use lookupBatch()`);
    const b = m.lookupBatch(opts);
    const kdv = new DataView(b.keys.buffer, b.keys.byteOffset, b.keys.byteLength);
    const vdv = new DataView(b.values.buffer, b.values.byteOffset, b.values.byteLength);
    const out: [K, V[]][] = [];
    for (let i = 0; i < b.count; i++) {
      const per: V[] = [];
      for (let off = i * m.valueBytes; off < (i + 1) * m.valueBytes; off += m.valueStride) per.push(this.value.decode(vdv, off));
      out.push([this.key.decode(kdv, i * m.keySize), per]);
    }
    return out;
  }
}

/** A map without typed keys and values (fd-valued maps, queues, maps without BTF): the BpfMap itself after load. */
export class RawMap {
  readonly #skel: Skeleton;
  readonly #om: ObjectMap;
  constructor(skel: Skeleton, om: ObjectMap) {
    this.#skel = skel;
    this.#om = om;
  }
  get name(): string {
    return this.#om.name;
  }
  get settings(): ObjectMap {
    return this.#om;
  }
  get raw(): BpfMap {
    return liveMap(this.#skel, this.#om);
  }
}

/** Bytes as a record type: what a buffer delivers when no record type was named. */
export const RAW_RECORD: Codec<Uint8Array> = {
  name: 'bytes',
  size: 0,
  decode(dv: DataView, off: number): Uint8Array {
    return new Uint8Array(dv.buffer, dv.byteOffset + off, 0);
  },
  encode(): void {},
};

abstract class EventMap<T, View> {
  protected readonly skel: Skeleton;
  protected readonly om: ObjectMap;
  readonly record: Codec<T> | undefined;
  readonly #viewClass: (new () => View & RecordView<T>) | undefined;
  #source: RingBuffer | PerfBuffer | undefined;
  /** Set when destroy() closed the buffer: a handler that destroyed the skeleton ends the drain it is called from. */
  #closed = false;

  constructor(skel: Skeleton, om: ObjectMap, record?: Codec<T>, viewClass?: new () => View & RecordView<T>) {
    this.skel = skel;
    this.om = om;
    this.record = record;
    this.#viewClass = viewClass;
  }

  get name(): string {
    return this.om.name;
  }
  get settings(): ObjectMap {
    return this.om;
  }
  get raw(): BpfMap {
    return liveMap(this.skel, this.om);
  }

  protected abstract openSource(): RingBuffer | PerfBuffer;

  /** The RingBuffer / PerfBuffer reading this map (opened on first use, closed by destroy()). */
  get source(): RingBuffer | PerfBuffer {
    if (!this.#source) {
      const s = this.openSource();
      this.#source = s;
      this.skel.adoptCloser(() => {
        this.#closed = true;
        s.close();
      });
    }
    return this.#source;
  }

  #check(size: number): void {
    if (this.#closed) throw new UsageError(`map "${this.name}": the skeleton was destroyed`);
    if (this.record && size < this.record.size) throw new CodecError(`map "${this.name}"`, `a record of ${size} bytes is shorter than ${this.record.name} (${this.record.size} bytes)`);
  }

  /**
   * Deliver every record, decoded into a fresh object (yours to keep), from
   * the event loop (event-driven; never blocks). Without a record type the
   * handler gets a copy of the bytes.
   */
  onEvent(handler: (record: T) => void): this {
    const codec = this.record;
    this.source.start(
      codec
        ? (view, off, size) => {
            if (this.#closed) return;
            this.#check(size);
            handler(codec.decode(view, off));
          }
        : (view, off, size) => {
            if (!this.#closed) handler(new Uint8Array(view.buffer, view.byteOffset + off, size).slice() as T);
          },
    );
    return this;
  }

  /**
   * Deliver every record as one reused view over the ring's memory: no
   * allocation per record. The view is valid only during the call; use
   * view.toObject() to keep a copy.
   */
  onEventView(handler: (view: View & RecordView<T>) => void): this {
    const View = this.#viewClass;
    if (!View) throw new UsageError(`map "${this.name}" has no record view: generate the skeleton with its record type (--type NAME)`);
    const v = new View();
    this.source.start((dv, off, size) => {
      if (this.#closed) return;
      this.#check(size);
      handler(v.$at(dv, off));
    });
    return this;
  }

  /** Raw records (DataView, offset, size), as RingBuffer.start delivers them. */
  onRecord(cb: RecordCallback): this {
    this.source.start(cb);
    return this;
  }

  /** Stop delivering (the buffer stays open; destroy() closes it). */
  stop(): void {
    this.#source?.stop();
  }
}

/** A BPF_MAP_TYPE_RINGBUF map, with typed records. */
export class RingBufMap<T, View = never> extends EventMap<T, View> {
  protected openSource(): RingBuffer {
    return new RingBuffer(this.raw);
  }
}

/** A BPF_MAP_TYPE_PERF_EVENT_ARRAY map, with typed records. */
export class PerfBufMap<T, View = never> extends EventMap<T, View> {
  protected openSource(): PerfBuffer {
    return new PerfBuffer(this.raw);
  }
}

/**
 * One global data section (.bss, .data, .rodata, .data.<name>): variables
 * read and written through their codecs, in the object's initial image
 * before load and in the mmap'd map after (live: what programs write is
 * read at once). Read-only sections refuse writes after load.
 */
export class GlobalSection {
  readonly #skel: Skeleton;
  readonly #g: GlobalData;
  readonly #readonly: boolean;
  #bytes: Uint8Array | undefined;
  #dv: DataView | undefined;

  constructor(skel: Skeleton, section: string) {
    this.#skel = skel;
    this.#g = skel.obj.globals(section);
    this.#readonly = skel.obj.map(section).spec.readonly === true;
  }

  get section(): string {
    return this.#g.section;
  }

  #view(): DataView {
    const state = this.#skel.obj.state;
    if (state === 'destroyed') throw new UsageError(`${this.#skel.obj.name}: ${this.#g.section} is gone: the skeleton was destroyed`);
    const b = this.#g.bytes;
    if (b !== this.#bytes) {
      this.#bytes = b;
      this.#dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    return this.#dv!;
  }

  read<T>(off: number, codec: Codec<T>): T {
    return codec.decode(this.#view(), off);
  }

  write<T>(off: number, codec: Codec<T>, value: T, name: string): void {
    if (this.#readonly && this.#skel.obj.state !== 'opened')
      throw new UsageError(`${this.#skel.obj.name}: ${this.#g.section} variable "${name}" is read-only after load(); set it between open() and load()`);
    codec.encode(this.#view(), off, value);
  }
}
