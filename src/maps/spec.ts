// MapSpec: what a map should be, independent of any kernel. An ELF loader
// produces these from `.maps`, tests and users write them by hand; BpfMap
// turns one into a live map. Validation here catches what is wrong with the
// description itself, before the kernel is asked, and says which map and why.
import { MapError } from './errors.ts';
import {
  BPF_F_NUMA_NODE,
  MAP_CREATE_FLAGS,
  MapType,
  hasFdValues,
  hasKeys,
  hasValues,
  isArrayIndexedType,
  isKnownMapType,
  isLocalStorageType,
  isMapInMapType,
  isRingBufferType,
  mapTypeName,
} from './types.ts';
import { PAGE_SIZE } from '../uapi/arch.ts';

/** How a loader should pin the map: not at all, or under the pin root by its name (libbpf's LIBBPF_PIN_BY_NAME). */
export type MapPinning = 'none' | 'by-name';

/** One initial element, written right after creation. */
export interface MapEntry {
  key: Uint8Array | number | bigint;
  value: Uint8Array | number | bigint;
}

/** A kernel-independent description of a BPF map. */
export interface MapSpec {
  /** The map's name; the kernel keeps its first 15 characters ([A-Za-z0-9_.]). */
  name: string;
  type: MapType;
  keySize: number;
  valueSize: number;
  /** Element count; bytes of data for ring buffers; pages for arenas. 0 for perf event arrays means "one per possible CPU". */
  maxEntries: number;
  /** BPF_F_* create flags. */
  flags: number;
  /** NUMA node for the map's memory (sets BPF_F_NUMA_NODE). */
  numaNode?: number;
  /** Type-specific extra: bloom filter hash count (low 4 bits), arena start address. */
  mapExtra?: bigint | number;
  /** The template of the inner maps, for array_of_maps and hash_of_maps. */
  innerMap?: MapSpec;
  /** BTF type ids of the key and value in the BTF object passed at creation. */
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** struct_ops: the kernel's value type id in vmlinux BTF. */
  btfVmlinuxValueTypeId?: number;
  /** Device to offload the map to (0: none). */
  ifindex?: number;
  pinning?: MapPinning;
  /** Elements to write after creation (before any freeze). */
  contents?: MapEntry[];
  /** Freeze the map after writing `contents` (read-only data sections). */
  freeze?: boolean;
}

const U32_MAX = 0xffff_ffff;
/** BPF_OBJ_NAME_LEN - 1: the kernel stores at most 15 name characters. */
export const MAP_NAME_MAX = 15;

const KNOWN_FLAGS = Object.values(MAP_CREATE_FLAGS).reduce((all, bit) => all | bit, 0);

function isU32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= U32_MAX;
}

function describeNumber(n: unknown): string {
  return typeof n === 'number' ? String(n) : `${typeof n} ${String(n)}`;
}

/** The name the kernel will store: the first 15 characters. */
export function kernelMapName(name: string): string {
  return name.slice(0, MAP_NAME_MAX);
}

/**
 * Check a MapSpec and throw a MapError naming the map and the first problem
 * found. Checks only what is knowable without a kernel; the kernel may still
 * refuse (sizes over its limits, missing features), and BpfMap.create reports
 * that as a MapError carrying the BpfSyscallError as its cause.
 */
export function validateMapSpec(spec: MapSpec, role = 'map'): void {
  const name = typeof spec.name === 'string' ? spec.name : String(spec.name);
  const fail = (reason: string): never => {
    throw new MapError(name, role === 'map' ? reason : `${role}: ${reason}`);
  };

  if (typeof spec.name !== 'string') fail(`name must be a string, got ${typeof spec.name}`);
  if (!/^[A-Za-z0-9_.]*$/.test(name)) fail('name may contain only letters, digits, "_" and "." (the kernel rejects other characters)');

  if (!isKnownMapType(spec.type)) fail(`unknown map type ${describeNumber(spec.type)} (known: 1..${MapType.BPF_MAP_TYPE_ARENA})`);
  const type = spec.type;
  const typeName = mapTypeName(type);

  for (const field of ['keySize', 'valueSize', 'maxEntries', 'flags'] as const) {
    const v = spec[field];
    if (!isU32(v)) fail(`${field} must be an integer in [0, ${U32_MAX}], got ${describeNumber(v)}`);
  }

  // Keys.
  if (!hasKeys(type)) {
    if (spec.keySize !== 0) fail(`keySize must be 0 for a ${typeName} map (it has no keys), got ${spec.keySize}`);
  } else if (isArrayIndexedType(type)) {
    if (spec.keySize !== 4) fail(`keySize must be 4 (a u32 index) for a ${typeName} map, got ${spec.keySize}`);
  } else if (spec.keySize === 0) {
    fail(`keySize must be at least 1 for a ${typeName} map`);
  }

  // Values.
  if (!hasValues(type)) {
    if (spec.valueSize !== 0) fail(`valueSize must be 0 for a ${typeName} map, got ${spec.valueSize}`);
  } else if (spec.valueSize === 0) {
    fail(`valueSize must be at least 1 for a ${typeName} map`);
  } else if (
    (hasFdValues(type) && type !== MapType.BPF_MAP_TYPE_SOCKMAP && type !== MapType.BPF_MAP_TYPE_SOCKHASH) &&
    spec.valueSize !== 4
  ) {
    fail(`valueSize must be 4 (a file descriptor) for a ${typeName} map, got ${spec.valueSize}`);
  }

  // Entries.
  if (isLocalStorageType(type) || type === MapType.BPF_MAP_TYPE_CGROUP_STORAGE || type === MapType.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE) {
    // cgroup storage (the deprecated kind) is sized by the programs attached, not by max_entries, which the kernel wants 0
    if (spec.maxEntries !== 0) fail(`maxEntries must be 0 for a ${typeName} map (storage grows with its owners), got ${spec.maxEntries}`);
  } else if (isRingBufferType(type)) {
    const size = spec.maxEntries;
    if (size < PAGE_SIZE || (size & (size - 1)) !== 0)
      fail(`maxEntries of a ${typeName} map is its size in bytes and must be a power of two and a multiple of ${PAGE_SIZE}, got ${size}`);
  } else if (spec.maxEntries === 0 && type !== MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
    fail(`maxEntries must be at least 1 for a ${typeName} map`);
  }

  // Flags.
  const unknownFlags = spec.flags & ~KNOWN_FLAGS;
  if (unknownFlags !== 0) fail(`unknown flag bits 0x${(unknownFlags >>> 0).toString(16)} in flags 0x${(spec.flags >>> 0).toString(16)}`);

  // Optional fields.
  if (spec.numaNode !== undefined && !isU32(spec.numaNode)) fail(`numaNode must be a non-negative integer, got ${describeNumber(spec.numaNode)}`);
  if (spec.numaNode === undefined && (spec.flags & BPF_F_NUMA_NODE) !== 0) fail('flags has BPF_F_NUMA_NODE but numaNode is not set');
  if (spec.mapExtra !== undefined) {
    const extra = spec.mapExtra;
    const ok = typeof extra === 'bigint' ? extra >= 0n && extra < 1n << 64n : Number.isSafeInteger(extra) && extra >= 0;
    if (!ok) fail(`mapExtra must be an integer in [0, 2^64), got ${String(extra)}`);
  }
  for (const field of ['btfKeyTypeId', 'btfValueTypeId', 'btfVmlinuxValueTypeId', 'ifindex'] as const) {
    const v = spec[field];
    if (v !== undefined && !isU32(v)) fail(`${field} must be a non-negative integer, got ${describeNumber(v)}`);
  }
  if (spec.pinning !== undefined && spec.pinning !== 'none' && spec.pinning !== 'by-name')
    fail(`pinning must be "none" or "by-name", got ${JSON.stringify(spec.pinning)}`);

  // Maps of maps.
  if (spec.innerMap !== undefined) {
    if (!isMapInMapType(type)) fail(`innerMap is only meaningful for array_of_maps and hash_of_maps, not ${typeName}`);
    if (isMapInMapType(spec.innerMap.type)) fail('innerMap may not itself be a map of maps (the kernel supports one level)');
    validateMapSpec(spec.innerMap, 'inner map');
  }

  if (spec.contents !== undefined) {
    if (!Array.isArray(spec.contents)) fail('contents must be an array of {key, value}');
    if (!hasKeys(type) && !isQueueOrStackOrBloom(type)) fail(`contents cannot be given for a ${typeName} map`);
  }
}

function isQueueOrStackOrBloom(type: MapType): boolean {
  return type === MapType.BPF_MAP_TYPE_QUEUE || type === MapType.BPF_MAP_TYPE_STACK || type === MapType.BPF_MAP_TYPE_BLOOM_FILTER;
}

/** A MapSpec with the usual defaults (`flags` 0, empty name), validated. */
export function defineMapSpec(spec: Omit<MapSpec, 'flags' | 'name'> & Partial<Pick<MapSpec, 'flags' | 'name'>>): MapSpec {
  const full: MapSpec = { ...spec, name: spec.name ?? '', flags: spec.flags ?? 0 };
  validateMapSpec(full);
  return full;
}
