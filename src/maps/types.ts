// The kernel's vocabulary for maps: `enum bpf_map_type`, the BPF_MAP_CREATE
// flags and the element-update flags (from src/uapi), and what each map type
// is like (per-CPU values, keys or none, fd-valued, map-in-map), from
// Documentation/bpf/maps.rst.

import {
  MapType, BPF_F_NO_PREALLOC, BPF_F_NO_COMMON_LRU, BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_STACK_BUILD_ID, BPF_F_ZERO_SEED,
  BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, BPF_F_CLONE, BPF_F_MMAPABLE, BPF_F_PRESERVE_ELEMS, BPF_F_INNER_MAP, BPF_F_LINK, BPF_F_PATH_FD,
  BPF_F_VTYPE_BTF_OBJ_FD, BPF_F_TOKEN_FD, BPF_F_SEGV_ON_FAULT, BPF_F_NO_USER_CONV,
} from '../uapi/kernel.ts';

// enum bpf_map_type and the BPF_MAP_CREATE flags, generated from the kernel's BTF
export {
  MapType, BPF_F_NO_PREALLOC, BPF_F_NO_COMMON_LRU, BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_STACK_BUILD_ID, BPF_F_ZERO_SEED,
  BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, BPF_F_CLONE, BPF_F_MMAPABLE, BPF_F_PRESERVE_ELEMS, BPF_F_INNER_MAP, BPF_F_LINK, BPF_F_PATH_FD,
  BPF_F_VTYPE_BTF_OBJ_FD, BPF_F_TOKEN_FD, BPF_F_SEGV_ON_FAULT, BPF_F_NO_USER_CONV,
};
// the element flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK)
export { BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK } from '../uapi/kernel.ts';

/** The highest map type this code knows about. */
export const MAX_KNOWN_MAP_TYPE = MapType.BPF_MAP_TYPE_ARENA;

/** "BPF_MAP_TYPE_HASH" -> "hash": the short name used in messages. */
export function mapTypeName(type: number): string {
  const full = MapType[type];
  return full === undefined ? `unknown map type ${type}` : full.replace(/^BPF_MAP_TYPE_/, '').toLowerCase();
}

/** True when `type` is one of the kernel's map types (UNSPEC excluded). */
export function isKnownMapType(type: number): type is MapType {
  return Number.isInteger(type) && type > MapType.BPF_MAP_TYPE_UNSPEC && type <= MAX_KNOWN_MAP_TYPE;
}

/** Every BPF_MAP_CREATE flag this code knows, by name (for messages). */
export const MAP_CREATE_FLAGS: Readonly<Record<string, number>> = Object.freeze({
  BPF_F_NO_PREALLOC,
  BPF_F_NO_COMMON_LRU,
  BPF_F_NUMA_NODE,
  BPF_F_RDONLY,
  BPF_F_WRONLY,
  BPF_F_STACK_BUILD_ID,
  BPF_F_ZERO_SEED,
  BPF_F_RDONLY_PROG,
  BPF_F_WRONLY_PROG,
  BPF_F_CLONE,
  BPF_F_MMAPABLE,
  BPF_F_PRESERVE_ELEMS,
  BPF_F_INNER_MAP,
  BPF_F_LINK,
  BPF_F_PATH_FD,
  BPF_F_VTYPE_BTF_OBJ_FD,
  BPF_F_TOKEN_FD,
  BPF_F_SEGV_ON_FAULT,
  BPF_F_NO_USER_CONV,
});

/** "BPF_F_MMAPABLE|BPF_F_RDONLY_PROG" for a flags word. */
export function mapFlagsToString(flags: number): string {
  const names = Object.entries(MAP_CREATE_FLAGS)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([name]) => name);
  const known = Object.values(MAP_CREATE_FLAGS).reduce((all, bit) => all | bit, 0);
  const unknown = flags & ~known;
  if (unknown !== 0) names.push(`0x${(unknown >>> 0).toString(16)}`);
  return names.length === 0 ? '0' : names.join('|');
}

// ---------------------------------------------------------------- what each type is like

/** Per-CPU maps hold one value per possible CPU; user space sees them side by side. */
const PER_CPU = new Set<MapType>([
  MapType.BPF_MAP_TYPE_PERCPU_HASH,
  MapType.BPF_MAP_TYPE_PERCPU_ARRAY,
  MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH,
  MapType.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
]);

/** Maps whose key_size must be 0: elements are pushed/popped or produced, not keyed. */
const KEYLESS = new Set<MapType>([
  MapType.BPF_MAP_TYPE_QUEUE,
  MapType.BPF_MAP_TYPE_STACK,
  MapType.BPF_MAP_TYPE_BLOOM_FILTER,
  MapType.BPF_MAP_TYPE_RINGBUF,
  MapType.BPF_MAP_TYPE_USER_RINGBUF,
  MapType.BPF_MAP_TYPE_ARENA,
]);

/** Maps with neither keys nor values (key_size = value_size = 0): memory regions. */
const VALUELESS = new Set<MapType>([MapType.BPF_MAP_TYPE_RINGBUF, MapType.BPF_MAP_TYPE_USER_RINGBUF, MapType.BPF_MAP_TYPE_ARENA]);

/** Maps of maps: values are inner map fds on update and inner map ids on lookup. */
const MAP_IN_MAP = new Set<MapType>([MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, MapType.BPF_MAP_TYPE_HASH_OF_MAPS]);

/**
 * Maps whose values are file descriptors written from user space (a program,
 * a map, a perf event, a cgroup, a socket). The kernel keeps the object, not
 * the number; a lookup from user space returns the object's id where the
 * kernel supports one.
 */
const FD_VALUED = new Set<MapType>([
  MapType.BPF_MAP_TYPE_PROG_ARRAY,
  MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY,
  MapType.BPF_MAP_TYPE_CGROUP_ARRAY,
  MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS,
  MapType.BPF_MAP_TYPE_HASH_OF_MAPS,
  MapType.BPF_MAP_TYPE_SOCKMAP,
  MapType.BPF_MAP_TYPE_SOCKHASH,
  MapType.BPF_MAP_TYPE_XSKMAP,
  MapType.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
]);

/** Maps indexed by a u32 in [0, max_entries): every slot exists, nothing can be deleted from plain arrays. */
const ARRAY_INDEXED = new Set<MapType>([
  MapType.BPF_MAP_TYPE_ARRAY,
  MapType.BPF_MAP_TYPE_PERCPU_ARRAY,
  MapType.BPF_MAP_TYPE_PROG_ARRAY,
  MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY,
  MapType.BPF_MAP_TYPE_CGROUP_ARRAY,
  MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS,
  MapType.BPF_MAP_TYPE_DEVMAP,
  MapType.BPF_MAP_TYPE_CPUMAP,
  MapType.BPF_MAP_TYPE_XSKMAP,
  MapType.BPF_MAP_TYPE_SOCKMAP,
  MapType.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
]);

/** Local storage maps: keyed by an fd (socket, inode, task, cgroup), need BTF and BPF_F_NO_PREALLOC. */
const LOCAL_STORAGE = new Set<MapType>([
  MapType.BPF_MAP_TYPE_SK_STORAGE,
  MapType.BPF_MAP_TYPE_INODE_STORAGE,
  MapType.BPF_MAP_TYPE_TASK_STORAGE,
  MapType.BPF_MAP_TYPE_CGRP_STORAGE,
]);

/** Ring buffers: max_entries is the data size in bytes, a power of two and a multiple of the page size. */
const RING_BUFFERS = new Set<MapType>([MapType.BPF_MAP_TYPE_RINGBUF, MapType.BPF_MAP_TYPE_USER_RINGBUF]);

export const isPerCpuMapType = (type: number): boolean => PER_CPU.has(type);
export const hasKeys = (type: number): boolean => !KEYLESS.has(type);
export const hasValues = (type: number): boolean => !VALUELESS.has(type);
export const isMapInMapType = (type: number): boolean => MAP_IN_MAP.has(type);
export const hasFdValues = (type: number): boolean => FD_VALUED.has(type);
export const isArrayIndexedType = (type: number): boolean => ARRAY_INDEXED.has(type);
export const isLocalStorageType = (type: number): boolean => LOCAL_STORAGE.has(type);
export const isRingBufferType = (type: number): boolean => RING_BUFFERS.has(type);
/** Queue and stack: push/pop/peek with no key. */
export const isQueueOrStackType = (type: number): boolean => type === MapType.BPF_MAP_TYPE_QUEUE || type === MapType.BPF_MAP_TYPE_STACK;

/** The byte stride of one CPU's value in a per-CPU map buffer: value_size rounded up to 8. */
export function perCpuValueStride(valueSize: number): number {
  return (valueSize + 7) & ~7;
}
