// BpfMap: a live BPF map, owning its file descriptor.
//
// Every element operation goes through one MapElemCommands (a reusable
// bpf_attr bound to this map) and two scratch buffers owned by the map, one
// for the key and one for the value. Their addresses are written into the
// attr once and never change, so a lookup costs one small copy in, the
// syscall, and one copy out: no allocation of kernel-visible memory and no
// address lookup per call. Sizes are checked before the syscall, so the
// kernel only ever reads or writes inside these buffers.
import { unlinkSync } from 'node:fs';
import { createLog } from '../util/log.ts';
import {
  BpfCmd,
  BpfSyscallError,
  EACCES,
  EINVAL,
  ENOENT,
  ENOSPC,
  ENOTSUPP,
  EOPNOTSUPP,
  EPERM,
  FD,
  MAP_SHARED,
  MapElemCommands,
  MapInfo as MapInfoLayout,
  Mapping,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  SyscallError,
  getFdById,
  getNextId,
  mapBatch,
  mapCreate,
  mapFreeze,
  objGet,
  objGetInfo,
  objPin,
} from '../syscall/index.ts';
import { libcDup } from '../syscall/index.ts';
import { numPossibleCpus } from '../util/cpus.ts';
import { type MapKey, type MapValue, encodeInto } from './codec.ts';
import { MapError } from './errors.ts';
import { bpffsProblem } from './pin.ts';
import { type MapSpec, kernelMapName, validateMapSpec } from './spec.ts';
import {
  BPF_ANY,
  BPF_F_MMAPABLE,
  BPF_F_NUMA_NODE,
  BPF_F_RDONLY,
  BPF_F_TOKEN_FD,
  BPF_F_RDONLY_PROG,
  BPF_F_WRONLY,
  MapType,
  hasKeys,
  isArrayIndexedType,
  isMapInMapType,
  isPerCpuMapType,
  isQueueOrStackType,
  mapFlagsToString,
  mapTypeName,
  perCpuValueStride,
} from './types.ts';
import { UsageError } from '../errors.ts';
import { DISPOSE } from '../util/dispose.ts';
import { F_DUPFD_CLOEXEC } from '../uapi/defines.ts';

const log = createLog('tsbpf:maps');


/** Batch size used when none is given: large enough to amortise the syscall, small enough to stay in cache. */
const DEFAULT_BATCH_CHUNK = 1024;

/** Options for creating a map from a spec. */
export interface MapCreateOptions {
  /** The BTF object holding btfKeyTypeId/btfValueTypeId. */
  btfFd?: number;
  /** An existing map to use as the inner map template (instead of creating one from spec.innerMap). */
  innerMapFd?: number;
  /** A BPF token (6.9+) that permits the creation (a user namespace's delegated bpffs). */
  tokenFd?: number;
}

/** Options for opening a pinned map. */
export interface MapOpenOptions {
  /** Open read-only for user space (BPF_F_RDONLY): updates fail with EPERM, mmap is read-only. */
  readOnly?: boolean;
  /** Open write-only for user space (BPF_F_WRONLY). */
  writeOnly?: boolean;
}

/** What the kernel says about a map (struct bpf_map_info). */
export interface MapInfo {
  type: number;
  id: number;
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  ifindex: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  btfVmlinuxValueTypeId: number;
  btfVmlinuxId: number;
  mapExtra: bigint;
}

/** Options for the batch operations. */
export interface BatchOptions {
  /** Elements per bpf() call (default 1024). Hash maps may need more than a bucket holds; it grows on ENOSPC. */
  chunkSize?: number;
  /** elem_flags: BPF_F_LOCK for lookups; BPF_ANY/NOEXIST/EXIST(|BPF_F_LOCK) for updates. */
  elemFlags?: number;
}

/**
 * The elements read by a batch lookup, packed as the kernel wrote them: key i
 * at keys[i*keySize], value i at values[i*valueBytes].
 */
export interface BatchEntries {
  count: number;
  keys: Uint8Array;
  values: Uint8Array;
}

/** The shape of a map, as known from a spec or from the kernel's info. */
interface MapShape {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

type BatchReadCmd = BpfCmd.BPF_MAP_LOOKUP_BATCH | BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_BATCH;

/** True for the errnos with which the kernel says "no batch operations for this map type". */
function batchUnsupported(errno: number): boolean {
  return errno === EINVAL || errno === ENOTSUPP || errno === EOPNOTSUPP;
}

export class BpfMap {
  readonly name: string;
  readonly type: MapType;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** True for per-CPU maps: a value is one slot per possible CPU. */
  readonly perCpu: boolean;
  /**
   * The bytes of one value as user space passes it: valueSize, or for
   * per-CPU maps round_up(valueSize, 8) * possible CPUs.
   */
  readonly valueBytes: number;
  /** The bytes between two CPUs' slots in a per-CPU value (round_up(valueSize, 8)); valueSize otherwise. */
  readonly valueStride: number;

  readonly #fd: FD;
  readonly #what: string;
  readonly #ops: MapElemCommands;
  readonly #key: Uint8Array;
  readonly #keyView: DataView;
  readonly #value: Uint8Array;
  readonly #valueView: DataView;
  /** Set by freeze(), or by opening read-only: user space may not write. */
  #readOnly: boolean;
  #pinnedPath: string | undefined;
  #mapping: Mapping | null = null;
  /** Batch commands the kernel refused for this map type: use the per-key fallback directly. */
  readonly #noBatch = new Set<BpfCmd>();
  /** Whether the type has keys (else element access is push/pop/peek). */
  readonly #keyed: boolean;
  /** u32 keys: a number key is written straight into the scratch key (the common case of arrays). */
  readonly #u32Key: boolean;
  /** Arrays and the other index-keyed types: keys are indexes below maxEntries; 2^32 for the others. */
  readonly #indexLimit: number;
  /** 4- or 8-byte values of a map that is not per-CPU: a number value is written straight in. */
  readonly #scalarValue: boolean;
  /**
   * False once closed. Checked by every element operation: the attr still
   * holds the old fd number, which the process may by now have reused for
   * something else.
   */
  #open = true;

  private constructor(fd: FD, shape: MapShape, readOnly: boolean) {
    this.#fd = fd;
    this.name = shape.name;
    this.type = shape.type;
    this.keySize = shape.keySize;
    this.valueSize = shape.valueSize;
    this.maxEntries = shape.maxEntries;
    this.flags = shape.flags;
    this.perCpu = isPerCpuMapType(shape.type);
    this.valueStride = this.perCpu ? perCpuValueStride(shape.valueSize) : shape.valueSize;
    this.valueBytes = this.perCpu ? this.valueStride * numPossibleCpus() : shape.valueSize;
    this.#readOnly = readOnly;
    this.#what = `map "${shape.name}" (${mapTypeName(shape.type)})`;
    this.#keyed = hasKeys(shape.type);
    this.#u32Key = shape.keySize === 4;
    this.#indexLimit = isArrayIndexedType(shape.type) && shape.keySize === 4 ? shape.maxEntries : 2 ** 32;
    this.#scalarValue = !this.perCpu && (shape.valueSize === 4 || shape.valueSize === 8);
    this.#ops = new MapElemCommands(fd.value, this.#what);
    // The kernel never reads a zero-sized key or value, but the buffers must exist to be pointed at.
    this.#key = new Uint8Array(Math.max(this.keySize, 1));
    this.#keyView = new DataView(this.#key.buffer);
    this.#value = new Uint8Array(Math.max(this.valueBytes, 1));
    this.#valueView = new DataView(this.#value.buffer);
  }

  // ---------------------------------------------------------------- construction

  /**
   * Create a map from a spec: BPF_MAP_CREATE, then the initial contents, then
   * freeze if asked. For maps of maps, the inner map template is a temporary
   * map created from spec.innerMap, passed as inner_map_fd and closed right
   * after (the kernel keeps only its shape), unless options.innerMapFd is given.
   */
  static create(spec: MapSpec, options: MapCreateOptions = {}): BpfMap {
    validateMapSpec(spec);
    const typeName = mapTypeName(spec.type);
    const maxEntries = effectiveMaxEntries(spec);
    if (maxEntries !== spec.maxEntries) log('map %s: perf_event_array with max_entries 0 gets one slot per possible CPU (%d)', spec.name, maxEntries);
    let flags = spec.flags;
    if (spec.numaNode !== undefined) flags |= BPF_F_NUMA_NODE;

    let innerMapFd = options.innerMapFd ?? 0;
    let template: BpfMap | undefined;
    if (isMapInMapType(spec.type) && options.innerMapFd === undefined) {
      if (spec.innerMap === undefined) throw new MapError(spec.name, `a ${typeName} map needs an inner map: set spec.innerMap or options.innerMapFd`);
      log('map %s: creating a temporary inner map template (%s)', spec.name, mapTypeName(spec.innerMap.type));
      template = BpfMap.create({ ...spec.innerMap, name: spec.innerMap.name || `${kernelMapName(spec.name).slice(0, 9)}.inner`, contents: undefined, freeze: false }, { tokenFd: options.tokenFd });
      innerMapFd = template.fd;
    }

    log(
      'creating %s map %s: key %d B, value %d B, max_entries %d, flags %s',
      typeName,
      JSON.stringify(spec.name),
      spec.keySize,
      spec.valueSize,
      maxEntries,
      mapFlagsToString(flags),
    );
    let fd: FD;
    try {
      fd = mapCreate(
        {
          map_type: spec.type,
          key_size: spec.keySize,
          value_size: spec.valueSize,
          max_entries: maxEntries,
          map_flags: options.tokenFd !== undefined ? flags | BPF_F_TOKEN_FD : flags,
          map_token_fd: options.tokenFd ?? 0,
          inner_map_fd: innerMapFd,
          numa_node: spec.numaNode ?? 0,
          map_name: kernelMapName(spec.name),
          map_ifindex: spec.ifindex ?? 0,
          btf_fd: options.btfFd ?? 0,
          btf_key_type_id: spec.btfKeyTypeId ?? 0,
          btf_value_type_id: spec.btfValueTypeId ?? 0,
          btf_vmlinux_value_type_id: spec.btfVmlinuxValueTypeId ?? 0,
          map_extra: spec.mapExtra ?? 0,
        },
        `creating ${typeName} map ${JSON.stringify(spec.name)}`,
      );
    } catch (err) {
      throw new MapError(spec.name, `the kernel refused to create the ${typeName} map: ${(err as Error).message}`, { cause: err });
    } finally {
      if (template !== undefined) {
        template.close();
        log('map %s: closed the inner map template', spec.name);
      }
    }

    const map = new BpfMap(fd, { name: spec.name, type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries, flags }, false);
    try {
      if (spec.contents !== undefined && spec.contents.length > 0) {
        log('map %s: writing %d initial elements', spec.name, spec.contents.length);
        for (const { key, value } of spec.contents) {
          if (map.#keyed) map.update(key, value);
          else map.push(value);
        }
      }
      if (spec.freeze === true) map.freeze();
    } catch (err) {
      map.close();
      throw err;
    }
    return map;
  }

  /**
   * Wrap a map fd. A number is duplicated (the caller keeps its own fd); an
   * FD object is taken over (this map closes it). The shape is read from the kernel.
   */
  static fromFd(fd: number | FD, options: { readOnly?: boolean } = {}): BpfMap {
    let owned: FD;
    if (typeof fd === 'number') {
      const dup = libcDup(fd, F_DUPFD_CLOEXEC, 0);
      if (dup < 0) throw new MapError(`fd ${fd}`, `cannot duplicate fd ${fd}: it is not an open file descriptor`);
      owned = new FD(dup, `map fd ${fd} (dup)`);
    } else {
      owned = fd;
    }
    try {
      const info = readInfo(owned.value, `reading the info of map fd ${owned.value}`);
      log('opened %s map %s (id %d) from fd %d', mapTypeName(info.type), JSON.stringify(info.name), info.id, owned.value);
      return new BpfMap(owned, info, options.readOnly === true || (info.flags & BPF_F_RDONLY) !== 0);
    } catch (err) {
      owned.close();
      throw err;
    }
  }

  /** Open a map by its kernel id (BPF_MAP_GET_FD_BY_ID). */
  static fromId(id: number, options: MapOpenOptions = {}): BpfMap {
    const fd = getFdById(BpfCmd.BPF_MAP_GET_FD_BY_ID, id, openFlags(options));
    return BpfMap.fromFd(fd, { readOnly: options.readOnly });
  }

  /** Open a map pinned on bpffs (BPF_OBJ_GET). */
  static fromPinned(path: string, options: MapOpenOptions = {}): BpfMap {
    let fd: FD;
    try {
      fd = objGet(path, openFlags(options), `opening the map pinned at ${path}`);
    } catch (err) {
      const problem = bpffsProblem(path);
      throw new MapError(path, problem ?? (err as Error).message, { cause: err });
    }
    return BpfMap.fromFd(fd, { readOnly: options.readOnly });
  }

  // ---------------------------------------------------------------- identity

  /** The raw file descriptor (a UsageError once closed). */
  get fd(): number {
    if (!this.#open) this.#closedError();
    return this.#fd.value;
  }

  get closed(): boolean {
    return this.#fd.closed;
  }

  /** The path this map was pinned at by pin(), if any. */
  get pinnedPath(): string | undefined {
    return this.#pinnedPath;
  }

  /** True after freeze(), or when opened read-only. */
  get frozen(): boolean {
    return this.#readOnly;
  }

  /** BPF_OBJ_GET_INFO_BY_FD. */
  info(): MapInfo {
    return readInfo(this.fd, `reading the info of ${this.#what}`);
  }

  toString(): string {
    return `BpfMap(${this.#what}, fd ${this.#fd.closed ? 'closed' : this.#fd.value})`;
  }

  // ---------------------------------------------------------------- operands

  #needKeys(op: string): void {
    if (!this.#keyed) {
      const instead = isQueueOrStackType(this.type) ? 'use push()/pop()/peek()' : this.type === MapType.BPF_MAP_TYPE_BLOOM_FILTER ? 'use push()/has()' : 'it has no elements to access';
      throw new UsageError(`${op} on ${this.#what}: this map type has no keys; ${instead}`);
    }
  }

  /**
   * Copy the key into the scratch key buffer (a UsageError before any
   * syscall if it does not fit). Number and bigint keys are unsigned; an
   * index-keyed map (array, prog array, ...) takes indexes below maxEntries.
   */
  #putKey(key: MapKey): void {
    if (!this.#open) this.#closedError();
    if (!this.#keyed) this.#needKeys('element access');
    if (typeof key === 'number' && this.#u32Key && key >>> 0 === key && key < this.#indexLimit) {
      // The hot case, array indexes and u32 ids: no further checks needed.
      this.#keyView.setUint32(0, key, true);
      return;
    }
    if (key instanceof Uint8Array) {
      if (key.length !== this.keySize) throw new UsageError(`key of ${this.#what} must be ${this.keySize} bytes, got a Uint8Array of ${key.length}`);
      this.#key.set(key);
    } else {
      encodeInto(key, this.#key, this.#keyView, 0, this.keySize, `key of ${this.#what}`, false);
    }
    if (this.#indexLimit < 2 ** 32) {
      const index = this.#keyView.getUint32(0, true);
      if (index >= this.#indexLimit) throw new UsageError(`key ${index} of ${this.#what} is out of range: its indexes are 0..${this.#indexLimit - 1}`);
    }
  }

  /**
   * Copy the value into the scratch value buffer. A per-CPU map takes either
   * its whole value buffer (valueBytes) or an array with one value per possible CPU.
   */
  #putValue(value: MapValue | readonly MapValue[]): void {
    if (typeof value === 'number' && this.#scalarValue && value >>> 0 === value) {
      // The hot case, a small counter or id: no further checks needed.
      this.#valueView.setUint32(0, value, true);
      if (this.valueSize === 8) this.#valueView.setUint32(4, 0, true);
      return;
    }
    if (value instanceof Uint8Array) {
      if (value.length !== this.valueBytes) {
        const perCpu = this.perCpu ? ` (${this.valueBytes / this.valueStride} CPUs x ${this.valueStride} B)` : '';
        throw new UsageError(`value of ${this.#what} must be ${this.valueBytes} bytes${perCpu}, got a Uint8Array of ${value.length}`);
      }
      this.#value.set(value);
      return;
    }
    if (this.perCpu) {
      const cpus = this.valueBytes / this.valueStride;
      if (!Array.isArray(value) || value.length !== cpus)
        throw new UsageError(`value of per-CPU ${this.#what} must be an array of ${cpus} values (one per possible CPU) or a Uint8Array of ${this.valueBytes} bytes`);
      this.#value.fill(0);
      for (let cpu = 0; cpu < cpus; cpu++)
        encodeInto(value[cpu] as MapValue, this.#value, this.#valueView, cpu * this.valueStride, this.valueSize, `value for CPU ${cpu} of ${this.#what}`);
      return;
    }
    if (Array.isArray(value)) throw new UsageError(`value of ${this.#what} must be one value, not an array (the map is not per-CPU)`);
    encodeInto(value as MapValue, this.#value, this.#valueView, 0, this.valueSize, `value of ${this.#what}`);
  }

  #closedError(): never {
    throw new UsageError(`${this.#what} used after close(): open it again (fromId, fromPinned) or keep it open`);
  }

  #checkOut(out: Uint8Array): void {
    if (!(out instanceof Uint8Array) || out.length !== this.valueBytes)
      throw new UsageError(`out buffer for ${this.#what} must be a Uint8Array of ${this.valueBytes} bytes, got ${out instanceof Uint8Array ? out.length + ' bytes' : typeof out}`);
  }

  /** The scratch value, copied into `out` or into a fresh array. */
  #takeValue(out: Uint8Array | undefined): Uint8Array {
    // The scratch value is exactly valueBytes long whenever the map has values.
    if (out === undefined) return this.#value.slice();
    out.set(this.#value);
    return out;
  }

  // ---------------------------------------------------------------- element operations

  /**
   * BPF_MAP_LOOKUP_ELEM: the value stored under `key`, or undefined when
   * absent. With `out`, the value is written there (it must be valueBytes
   * long) and `out` is returned. For fd-valued maps (prog_array, maps of
   * maps) the value read back is the object's id, not an fd.
   */
  lookup(key: MapKey, out?: Uint8Array, flags = 0): Uint8Array | undefined {
    this.#putKey(key);
    if (out === undefined) return this.#ops.lookup(this.#key, this.#value, flags) ? this.#value.slice() : undefined;
    this.#checkOut(out);
    // the kernel writes into `out` itself: no copy (the attr keeps its address while the caller reuses it)
    return this.#ops.lookup(this.#key, out, flags) ? out : undefined;
  }

  /** Per-CPU maps: the value of each possible CPU (valueSize bytes each), or undefined when absent. */
  lookupPerCpu(key: MapKey): Uint8Array[] | undefined {
    if (!this.perCpu) throw new UsageError(`lookupPerCpu on ${this.#what}: the map is not per-CPU`);
    const all = this.lookup(key);
    if (all === undefined) return undefined;
    return this.#splitPerCpu(all);
  }

  #splitPerCpu(all: Uint8Array): Uint8Array[] {
    const values: Uint8Array[] = [];
    for (let off = 0; off < all.length; off += this.valueStride) values.push(all.slice(off, off + this.valueSize));
    return values;
  }

  /**
   * BPF_MAP_UPDATE_ELEM with BPF_ANY (create or replace), BPF_NOEXIST (create
   * only) or BPF_EXIST (replace only), optionally | BPF_F_LOCK. For fd-valued
   * maps the value is an fd (or an object with an `fd`, such as a BpfMap).
   */
  update(key: MapKey, value: MapValue | readonly MapValue[], flags: number = BPF_ANY): void {
    this.#putKey(key);
    this.#putValue(value);
    this.#ops.update(this.#key, this.#value, flags);
  }

  /** BPF_MAP_DELETE_ELEM: true when an element was deleted, false when the key was absent. */
  delete(key: MapKey): boolean {
    this.#putKey(key);
    return this.#ops.delete(this.#key);
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM (hash maps, 5.14+): the removed value, or undefined when absent. */
  lookupAndDelete(key: MapKey, out?: Uint8Array): Uint8Array | undefined {
    this.#putKey(key);
    if (out !== undefined) this.#checkOut(out);
    if (!this.#ops.lookupAndDelete(this.#key, this.#value)) return undefined;
    return this.#takeValue(out);
  }

  // ---------------------------------------------------------------- queue, stack, bloom filter

  /** Queue/stack: add a value (BPF_EXIST overwrites the oldest when full). Bloom filter: add a value. */
  push(value: MapValue, flags: number = BPF_ANY): void {
    if (!this.#open) this.#closedError();
    this.#needKeyless('push');
    this.#putValue(value);
    this.#ops.update(null, this.#value, flags);
  }

  /** Queue/stack: remove and return the next value, or undefined when empty. */
  pop(out?: Uint8Array): Uint8Array | undefined {
    this.#needQueueOrStack('pop');
    if (out !== undefined) this.#checkOut(out);
    if (!this.#ops.lookupAndDelete(null, this.#value)) return undefined;
    return this.#takeValue(out);
  }

  /** Queue/stack: the next value without removing it, or undefined when empty. */
  peek(out?: Uint8Array): Uint8Array | undefined {
    this.#needQueueOrStack('peek');
    if (out !== undefined) this.#checkOut(out);
    if (!this.#ops.lookup(null, this.#value)) return undefined;
    return this.#takeValue(out);
  }

  /** Bloom filter: false when the value was certainly never pushed; true when it probably was. */
  has(value: MapValue): boolean {
    if (!this.#open) this.#closedError();
    if (this.type !== MapType.BPF_MAP_TYPE_BLOOM_FILTER) throw new UsageError(`has() on ${this.#what}: only bloom filters answer membership`);
    this.#putValue(value);
    return this.#ops.lookup(null, this.#value);
  }

  #needKeyless(op: string): void {
    if (!isQueueOrStackType(this.type) && this.type !== MapType.BPF_MAP_TYPE_BLOOM_FILTER)
      throw new UsageError(`${op}() on ${this.#what}: only queue, stack and bloom_filter maps take values without keys`);
  }

  #needQueueOrStack(op: string): void {
    if (!this.#open) this.#closedError();
    if (!isQueueOrStackType(this.type)) throw new UsageError(`${op}() on ${this.#what}: only queue and stack maps have a next value`);
  }

  // ---------------------------------------------------------------- iteration

  /**
   * The keys, by BPF_MAP_GET_NEXT_KEY: each yielded key is a fresh copy.
   *
   * Deleting while iterating: the next key is asked for after the loop body
   * has run, from the key just yielded. When that key is gone (the body
   * deleted it, or a BPF program did), hash maps answer with their first
   * key: iteration restarts from the start, the way C code using
   * bpf_map_get_next_key does. So "delete every key" loops work, but keys
   * may repeat when others are deleted concurrently. To avoid looping forever
   * on a map that keeps changing, iteration stops with a MapError after
   * maxEntries * 2 + 16 keys.
   */
  *keys(): Generator<Uint8Array, void, undefined> {
    this.#needKeys('keys');
    // Own buffers and own attr: the loop body may use lookup()/delete() freely.
    const ops = new MapElemCommands(this.fd, this.#what);
    let current = new Uint8Array(this.keySize);
    let next = new Uint8Array(this.keySize);
    let have = ops.getNextKey(null, current);
    const limit = this.maxEntries * 2 + 16;
    for (let yielded = 0; have; yielded++) {
      if (yielded >= limit) throw new MapError(this.name, `iteration aborted after ${yielded} keys: the map kept changing under the iterator`);
      yield current.slice();
      have = ops.getNextKey(current, next);
      [current, next] = [next, current];
    }
  }

  /** [key, value] pairs (keys() then lookup(); keys deleted in between are skipped). */
  *entries(): Generator<[Uint8Array, Uint8Array], void, undefined> {
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value !== undefined) yield [key, value];
    }
  }

  [Symbol.iterator](): Generator<[Uint8Array, Uint8Array], void, undefined> {
    return this.entries();
  }

  // ---------------------------------------------------------------- batch operations

  /**
   * BPF_MAP_LOOKUP_BATCH over the whole map. Falls back to keys() + lookup()
   * when the kernel has no batch lookup for this map type.
   */
  lookupBatch(options: BatchOptions = {}): BatchEntries {
    return this.#readBatch(BpfCmd.BPF_MAP_LOOKUP_BATCH, options);
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_BATCH over the whole map (drains it), with a per-key fallback. */
  lookupAndDeleteBatch(options: BatchOptions = {}): BatchEntries {
    return this.#readBatch(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_BATCH, options);
  }

  /**
   * BPF_MAP_UPDATE_BATCH: write keys[i] -> values[i]. Keys and values are
   * either packed buffers (n*keySize and n*valueBytes bytes) or arrays.
   * Returns the number written. Falls back to update() per key when the
   * kernel has no batch update for this map type.
   */
  updateBatch(keys: Uint8Array | readonly MapKey[], values: Uint8Array | readonly (MapValue | readonly MapValue[])[], options: BatchOptions = {}): number {
    this.#needKeys('updateBatch');
    const packedKeys = this.#packKeys(keys);
    const count = packedKeys.length / this.keySize;
    const packedValues = this.#packValues(values, count);
    const elemFlags = options.elemFlags ?? BPF_ANY;
    return this.#writeBatch(BpfCmd.BPF_MAP_UPDATE_BATCH, packedKeys, packedValues, count, options, (i) =>
      this.update(packedKeys.subarray(i * this.keySize, (i + 1) * this.keySize), packedValues.subarray(i * this.valueBytes, (i + 1) * this.valueBytes), elemFlags),
    );
  }

  /**
   * BPF_MAP_DELETE_BATCH: delete every key given; a missing key is an error
   * (ENOENT, naming how many were deleted before it). Falls back to delete()
   * per key when the kernel has no batch delete for this map type (arrays
   * have none, and their elements cannot be deleted at all: EINVAL).
   */
  deleteBatch(keys: Uint8Array | readonly MapKey[], options: BatchOptions = {}): number {
    this.#needKeys('deleteBatch');
    const packedKeys = this.#packKeys(keys);
    const count = packedKeys.length / this.keySize;
    return this.#writeBatch(BpfCmd.BPF_MAP_DELETE_BATCH, packedKeys, null, count, options, (i) => {
      if (!this.delete(packedKeys.subarray(i * this.keySize, (i + 1) * this.keySize)))
        throw new BpfSyscallError('BPF_MAP_DELETE_ELEM', ENOENT, `deleting key #${i} of ${count} from ${this.#what}`);
    });
  }

  #packKeys(keys: Uint8Array | readonly MapKey[]): Uint8Array {
    if (keys instanceof Uint8Array) {
      if (keys.length % this.keySize !== 0) throw new UsageError(`packed keys for ${this.#what} must be a multiple of ${this.keySize} bytes, got ${keys.length}`);
      return keys;
    }
    const packed = new Uint8Array(keys.length * this.keySize);
    const dv = new DataView(packed.buffer);
    keys.forEach((key, i) => encodeInto(key, packed, dv, i * this.keySize, this.keySize, `key #${i} of ${this.#what}`, false));
    return packed;
  }

  #packValues(values: Uint8Array | readonly (MapValue | readonly MapValue[])[], count: number): Uint8Array {
    if (values instanceof Uint8Array) {
      if (values.length !== count * this.valueBytes)
        throw new UsageError(`packed values for ${this.#what} must be ${count} x ${this.valueBytes} = ${count * this.valueBytes} bytes, got ${values.length}`);
      return values;
    }
    if (values.length !== count) throw new UsageError(`updateBatch on ${this.#what}: ${count} keys but ${values.length} values`);
    const packed = new Uint8Array(count * this.valueBytes);
    values.forEach((value, i) => {
      this.#putValue(value);
      packed.set(this.#value.subarray(0, this.valueBytes), i * this.valueBytes);
    });
    return packed;
  }

  #readBatch(cmd: BatchReadCmd, options: BatchOptions): BatchEntries {
    this.#needKeys(BpfCmd[cmd]);
    const deleting = cmd === BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_BATCH;
    if (this.#noBatch.has(cmd)) return this.#readOneByOne(deleting);

    let chunk = Math.max(1, Math.min(options.chunkSize ?? DEFAULT_BATCH_CHUNK, this.maxEntries));
    // Room for every element the map can hold (grown on demand for very large maps).
    let capacity = Math.min(this.maxEntries, Math.max(chunk, 65536));
    let keys: Uint8Array = new Uint8Array(capacity * this.keySize);
    let values: Uint8Array = new Uint8Array(capacity * this.valueBytes);
    // The kernel's opaque resume position: a bucket index for hash maps, a key for arrays.
    const cursorSize = Math.max(this.keySize, 8);
    const inBatch = new Uint8Array(cursorSize);
    const outBatch = new Uint8Array(cursorSize);
    let count = 0;
    let first = true;
    for (;;) {
      if (count + chunk > capacity) {
        capacity = Math.max(capacity * 2, count + chunk);
        keys = grow(keys, capacity * this.keySize);
        values = grow(values, capacity * this.valueBytes);
      }
      const result = mapBatch(cmd, {
        mapFd: this.fd,
        inBatch: first ? null : inBatch,
        outBatch,
        keys: keys.subarray(count * this.keySize),
        values: values.subarray(count * this.valueBytes),
        count: chunk,
        elemFlags: options.elemFlags ?? 0,
      });
      if (result.errno === 0 || result.errno === ENOENT) {
        count += result.count;
        if (result.errno === ENOENT) break;
        inBatch.set(outBatch);
        first = false;
        continue;
      }
      if (result.errno === ENOSPC && result.count === 0) {
        // A hash bucket holds more elements than one chunk: retry the same position with a bigger chunk.
        chunk *= 2;
        log('%s: %s chunk too small for a bucket, retrying with %d', this.#what, BpfCmd[cmd], chunk);
        continue;
      }
      if (first && batchUnsupported(result.errno)) {
        log('%s: the kernel has no %s for this map type (%s); falling back to one element at a time', this.#what, BpfCmd[cmd], result.errno);
        this.#noBatch.add(cmd);
        return this.#readOneByOne(deleting);
      }
      throw new BpfSyscallError(BpfCmd[cmd], result.errno, `reading ${this.#what} in batches (after ${count} elements)`);
    }
    return { count, keys: keys.subarray(0, count * this.keySize), values: values.subarray(0, count * this.valueBytes) };
  }

  /** The fallback of lookupBatch/lookupAndDeleteBatch: walk the keys. */
  #readOneByOne(deleting: boolean): BatchEntries {
    const keyList: Uint8Array[] = [];
    const valueList: Uint8Array[] = [];
    for (const key of this.keys()) {
      const value = deleting ? this.lookupAndDelete(key) : this.lookup(key);
      if (value === undefined) continue;
      keyList.push(key);
      valueList.push(value);
    }
    const keys = new Uint8Array(keyList.length * this.keySize);
    const values = new Uint8Array(valueList.length * this.valueBytes);
    keyList.forEach((k, i) => keys.set(k, i * this.keySize));
    valueList.forEach((v, i) => values.set(v, i * this.valueBytes));
    return { count: keyList.length, keys, values };
  }

  #writeBatch(
    cmd: BpfCmd.BPF_MAP_UPDATE_BATCH | BpfCmd.BPF_MAP_DELETE_BATCH,
    keys: Uint8Array,
    values: Uint8Array | null,
    count: number,
    options: BatchOptions,
    oneByOne: (index: number) => void,
  ): number {
    let done = 0;
    if (!this.#noBatch.has(cmd)) {
      const chunk = Math.max(1, options.chunkSize ?? DEFAULT_BATCH_CHUNK);
      while (done < count) {
        const n = Math.min(chunk, count - done);
        const result = mapBatch(cmd, {
          mapFd: this.fd,
          keys: keys.subarray(done * this.keySize),
          values: values === null ? null : values.subarray(done * this.valueBytes),
          count: n,
          elemFlags: options.elemFlags ?? 0,
        });
        if (result.errno === 0) {
          done += n;
          continue;
        }
        // A command the map type lacks fails before touching any element: the
        // kernel leaves count as given (ENOTSUPP) or zeroes it (EINVAL).
        if (done === 0 && batchUnsupported(result.errno) && (result.count === 0 || result.count === n)) {
          log('%s: the kernel has no %s for this map type; falling back to one element at a time', this.#what, BpfCmd[cmd]);
          this.#noBatch.add(cmd);
          break;
        }
        throw new BpfSyscallError(BpfCmd[cmd], result.errno, `${BpfCmd[cmd] === 'BPF_MAP_UPDATE_BATCH' ? 'updating' : 'deleting'} element #${done + result.count} of ${count} in ${this.#what} (${done + result.count} done)`);
      }
      if (done === count) return done;
    }
    for (; done < count; done++) oneByOne(done);
    return done;
  }

  // ---------------------------------------------------------------- freeze, pin, mmap

  /** BPF_MAP_FREEZE: user space can no longer write the map (updates fail with EPERM). */
  freeze(): void {
    mapFreeze(this.fd, `freezing ${this.#what}`);
    this.#readOnly = true;
    log('%s frozen', this.#what);
  }

  /**
   * BPF_OBJ_PIN at `path` on bpffs. When bpffs is missing, the MapError says
   * so and gives the mount command.
   */
  pin(path: string): void {
    try {
      objPin(this.fd, path, `pinning ${this.#what} at ${path}`);
    } catch (err) {
      const problem = bpffsProblem(path);
      throw new MapError(this.name, problem ?? (err as Error).message, { cause: err });
    }
    this.#pinnedPath = path;
    log('%s pinned at %s', this.#what, path);
  }

  /** Remove the pin made by pin() (the map lives on while fds or programs hold it). */
  unpin(): void {
    const path = this.#pinnedPath;
    if (path === undefined) return;
    unlinkSync(path);
    this.#pinnedPath = undefined;
    log('%s unpinned from %s', this.#what, path);
  }

  /**
   * A live, zero-copy view of a BPF_F_MMAPABLE array: value i at
   * i * round_up(valueSize, 8). Writable unless the map is frozen, read-only
   * for BPF programs (BPF_F_RDONLY_PROG) or opened read-only; then it is
   * mapped read-only (writing to it would kill the process, so don't). The
   * mapping is owned by the map and released by close(). While a writable
   * mapping exists the kernel refuses to freeze the map (EBUSY).
   */
  mmap(): Mapping {
    if (this.#mapping !== null) return this.#mapping;
    if ((this.flags & BPF_F_MMAPABLE) === 0 || this.type !== MapType.BPF_MAP_TYPE_ARRAY)
      throw new MapError(this.name, `only array maps created with BPF_F_MMAPABLE can be memory-mapped (this is a ${mapTypeName(this.type)} map with flags ${mapFlagsToString(this.flags)})`);
    const bytes = perCpuValueStride(this.valueSize) * this.maxEntries;
    const length = Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
    const writable = !this.#readOnly && (this.flags & (BPF_F_RDONLY_PROG | BPF_F_RDONLY)) === 0;
    let mapping: Mapping;
    try {
      mapping = Mapping.map(this.fd, length, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, 0, this.#what);
    } catch (err) {
      // A map frozen or opened read-only by someone else refuses a writable mapping: fall back to reading.
      if (!writable || !(err instanceof SyscallError) || (err.errno !== EPERM && err.errno !== EACCES)) throw err;
      log('%s refuses a writable mapping (%s): mapping it read-only', this.#what, err.code);
      mapping = Mapping.map(this.fd, length, PROT_READ, MAP_SHARED, 0, this.#what);
    }
    log('%s mapped: %d bytes, %s', this.#what, length, mapping.writable ? 'read-write' : 'read-only');
    this.#mapping = mapping;
    return mapping;
  }

  /** Close the fd (and any mapping). Safe to call more than once. */
  close(): void {
    if (this.#fd.closed) return;
    this.#open = false;
    this.#mapping?.close();
    this.#mapping = null;
    this.#fd.close();
    log('%s closed', this.#what);
  }

  /** close(), for `using` (explicit resource management). */
  [DISPOSE](): void {
    this.close();
  }
}

/**
 * The max_entries BpfMap.create gives the kernel for `spec`: as given, except
 * that 0 for a perf event array means one slot per possible CPU (libbpf's rule).
 */
export function effectiveMaxEntries(spec: Pick<MapSpec, 'type' | 'maxEntries'>): number {
  return spec.type === MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY && spec.maxEntries === 0 ? numPossibleCpus() : spec.maxEntries;
}

function openFlags(options: MapOpenOptions): number {
  return (options.readOnly ? BPF_F_RDONLY : 0) | (options.writeOnly ? BPF_F_WRONLY : 0);
}

function grow(buf: Uint8Array, size: number): Uint8Array {
  const bigger = new Uint8Array(size);
  bigger.set(buf);
  return bigger;
}

function readInfo(fd: number, context: string): MapInfo & MapShape {
  const info = objGetInfo(fd, MapInfoLayout, context);
  return {
    type: info.get('type'),
    id: info.get('id'),
    name: info.get('name'),
    keySize: info.get('key_size'),
    valueSize: info.get('value_size'),
    maxEntries: info.get('max_entries'),
    flags: info.get('map_flags'),
    ifindex: info.get('ifindex'),
    btfId: info.get('btf_id'),
    btfKeyTypeId: info.get('btf_key_type_id'),
    btfValueTypeId: info.get('btf_value_type_id'),
    btfVmlinuxValueTypeId: info.get('btf_vmlinux_value_type_id'),
    btfVmlinuxId: info.get('btf_vmlinux_id'),
    mapExtra: info.get('map_extra'),
  };
}


/** Ids of every map in the kernel (BPF_MAP_GET_NEXT_ID). Read-only listing: never close what you did not create. */
export function listMapIds(): number[] {
  const ids: number[] = [];
  for (let id = getNextId(BpfCmd.BPF_MAP_GET_NEXT_ID, 0); id !== 0; id = getNextId(BpfCmd.BPF_MAP_GET_NEXT_ID, id)) ids.push(id);
  return ids;
}
