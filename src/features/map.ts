// Map types: does the kernel create a map of this type? Each probe creates
// the smallest map the type accepts (the parameters each type insists on are
// below) and closes it; the answer is memoized.
import { BtfBuilder, BTF_INT_SIGNED, BTF_KIND_INT } from '../btf/index.ts';
import { loadBtfIntoKernel } from '../btf/load.ts';
import { UsageError } from '../errors.ts';
import { BpfMap, MapType, BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, type MapSpec } from '../maps/index.ts';
import { E2BIG, EINVAL, ENOTSUPP, EOPNOTSUPP, type FD } from '../syscall/index.ts';
import { PAGE_SIZE } from '../syscall/mem.ts';
import { cached, errnoOf } from './cache.ts';

/** A spec of `type` the kernel accepts, when it knows the type. */
function probeSpec(type: MapType): MapSpec {
  const spec: MapSpec = { name: 'probe_map', type, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 };
  switch (type) {
    case MapType.BPF_MAP_TYPE_STACK_TRACE:
      return { ...spec, valueSize: 8 };
    case MapType.BPF_MAP_TYPE_LPM_TRIE:
      return { ...spec, keySize: 8, flags: BPF_F_NO_PREALLOC };
    case MapType.BPF_MAP_TYPE_CGROUP_STORAGE:
    case MapType.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
      return { ...spec, keySize: 16, maxEntries: 0 }; // struct bpf_cgroup_storage_key
    case MapType.BPF_MAP_TYPE_QUEUE:
    case MapType.BPF_MAP_TYPE_STACK:
    case MapType.BPF_MAP_TYPE_BLOOM_FILTER:
      return { ...spec, keySize: 0 };
    case MapType.BPF_MAP_TYPE_SK_STORAGE:
    case MapType.BPF_MAP_TYPE_INODE_STORAGE:
    case MapType.BPF_MAP_TYPE_TASK_STORAGE:
    case MapType.BPF_MAP_TYPE_CGRP_STORAGE:
      return { ...spec, maxEntries: 0, flags: BPF_F_NO_PREALLOC, btfKeyTypeId: 1, btfValueTypeId: 1 };
    case MapType.BPF_MAP_TYPE_RINGBUF:
    case MapType.BPF_MAP_TYPE_USER_RINGBUF:
      return { ...spec, keySize: 0, valueSize: 0, maxEntries: PAGE_SIZE };
    case MapType.BPF_MAP_TYPE_ARENA:
      return { ...spec, keySize: 0, valueSize: 0, flags: BPF_F_MMAPABLE };
    case MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS:
    case MapType.BPF_MAP_TYPE_HASH_OF_MAPS:
      return { ...spec, innerMap: { name: 'probe_inner', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 } };
    case MapType.BPF_MAP_TYPE_STRUCT_OPS:
      throw new UsageError('no create probe for BPF_MAP_TYPE_STRUCT_OPS: it needs a kernel struct_ops type to create against');
    default:
      return spec;
  }
}

/** Local storage maps need key and value described in BTF: a one-type BTF (`int`). */
function intBtf(): FD {
  const b = new BtfBuilder();
  b.add({ kind: BTF_KIND_INT, name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 });
  return loadBtfIntoKernel(b.marshal(), 'feature probe map BTF');
}

/**
 * Can maps of `type` be created on this kernel? true or false; a refusal
 * that says nothing about support (EPERM: the machine's policy) is thrown.
 */
export function haveMapType(type: MapType): boolean {
  if (MapType[type] === undefined) throw new UsageError(`haveMapType: ${type} is not a BPF_MAP_TYPE_*`);
  return cached(`map:${MapType[type]}`, () => {
    const spec = probeSpec(type);
    const btf = spec.btfKeyTypeId ? intBtf() : undefined;
    try {
      BpfMap.create(spec, { btfFd: btf?.value }).close();
      return true;
    } catch (e) {
      const errno = errnoOf(e);
      if (errno === EINVAL || errno === E2BIG || errno === EOPNOTSUPP || errno === ENOTSUPP) return false;
      throw e;
    } finally {
      btf?.close();
    }
  });
}
