// What the kernel holds, read the way bpftool reads it: BPF_*_GET_NEXT_ID to
// walk the ids, BPF_*_GET_FD_BY_ID to open one, BPF_OBJ_GET_INFO_BY_FD to
// describe it, then our fd is closed. Reading never detaches, unpins or
// closes anything but the fds opened here. An id that disappears between the
// walk and the open (ENOENT) is skipped by the listings.
import { readFileSync } from 'node:fs';
import { parseBtf, type Btf, loadKernelBtf } from '../btf/index.ts';
import { BpfLinkType } from '../attach/link.ts';
import { mapFlagsToString, mapTypeName } from '../maps/index.ts';
import { BpfAttachType, BpfProgType } from '../prog/types.ts';
import { addressOf, BpfCmd, BtfInfo, type FD, getFdById, getNextId, LinkInfo, MapInfo, objGetInfo, ProgInfo } from '../syscall/index.ts';

export interface ProgRecord {
  id: number;
  type: string;
  name: string;
  tag: string;
  gplCompatible: boolean;
  /** ISO time, from the kernel's load_time (ns since boot). */
  loadedAt: string;
  uid: number;
  xlatedBytes: number;
  jitedBytes: number;
  memlockBytes: number | null;
  mapIds: number[];
  btfId: number;
  verifiedInsns: number;
  runCnt: string;
  runTimeNs: string;
  /** What a BTF-attached program (tp_btf, fentry, lsm, iter) targets, by name. */
  attachTarget: string | null;
}

export interface MapRecord {
  id: number;
  type: string;
  name: string;
  flags: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  memlockBytes: number | null;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  frozen: boolean;
}

export interface LinkRecord {
  id: number;
  type: string;
  progId: number;
  /** What the link attaches to, described: "raw_tp sched_switch", "tracepoint syscalls/sys_enter_openat", "xdp ifindex 1". */
  target: string;
  details: Record<string, string | number>;
}

type IdCmd = BpfCmd.BPF_PROG_GET_NEXT_ID | BpfCmd.BPF_MAP_GET_NEXT_ID | BpfCmd.BPF_LINK_GET_NEXT_ID | BpfCmd.BPF_BTF_GET_NEXT_ID;

/** Every id of one kind, ascending. */
export function listIds(cmd: IdCmd): number[] {
  const ids: number[] = [];
  for (let id = getNextId(cmd, 0); id !== 0; id = getNextId(cmd, id)) ids.push(id);
  return ids;
}

/** Read each id with `read`, skipping the ones gone since the walk (ENOENT). */
export function readAll<T>(ids: number[], read: (id: number) => T): T[] {
  const out: T[] = [];
  for (const id of ids) {
    try {
      out.push(read(id));
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') continue;
      throw e;
    }
  }
  return out;
}

/** Open by id, run `f`, always close. */
function withFd<T>(cmd: Parameters<typeof getFdById>[0], id: number, f: (fd: FD) => T): T {
  const fd = getFdById(cmd, id);
  try {
    return f(fd);
  } finally {
    fd.close();
  }
}

/** One field of /proc/self/fdinfo/<fd> ("memlock", "frozen"). */
function fdinfo(fd: number, key: string): string | undefined {
  try {
    const m = new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return m?.[1]?.trim();
  } catch {
    return undefined;
  }
}

let bootWallMs: number | undefined;
/** Wall-clock time of a CLOCK_BOOTTIME instant in ns (how the kernel stamps load_time). */
function bootNsToIso(ns: bigint): string {
  if (bootWallMs === undefined) {
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    bootWallMs = Date.now() - uptime * 1000;
  }
  return new Date(bootWallMs + Number(ns / 1_000_000n)).toISOString().replace(/\.\d+Z$/, 'Z');
}

function progTypeName(t: number): string {
  return (BpfProgType[t] ?? `type ${t}`).replace(/^BPF_PROG_TYPE_/, '').toLowerCase();
}

/** The name of type `typeId` of the kernel BTF object `objId` (vmlinux or a module), or its ids. */
function btfTypeName(objId: number, typeId: number): string {
  try {
    const btf = kernelBtfById(objId);
    return btf.nameOf(typeId) || `btf type ${typeId}`;
  } catch {
    return `btf ${objId} type ${typeId}`;
  }
}

export function readProg(id: number): ProgRecord {
  return withFd(BpfCmd.BPF_PROG_GET_FD_BY_ID, id, (fd) => {
    const info = objGetInfo(fd.value, ProgInfo, `reading info of program id ${id}`);
    const nrMaps = info.get('nr_map_ids');
    let mapIds: number[] = [];
    if (nrMaps > 0) {
      const ids = new Uint32Array(nrMaps);
      objGetInfo(fd.value, ProgInfo, `reading map ids of program id ${id}`, { nr_map_ids: nrMaps, map_ids: ids });
      mapIds = Array.from(ids);
    }
    const attachBtfId = info.get('attach_btf_id');
    const memlock = fdinfo(fd.value, 'memlock');
    return {
      id: info.get('id'),
      type: progTypeName(info.get('type')),
      name: info.get('name'),
      tag: Buffer.from(info.get('tag')).toString('hex'),
      gplCompatible: info.get('gpl_compatible') !== 0,
      loadedAt: bootNsToIso(info.get('load_time')),
      uid: info.get('created_by_uid'),
      xlatedBytes: info.get('xlated_prog_len'),
      jitedBytes: info.get('jited_prog_len'),
      memlockBytes: memlock === undefined ? null : Number(memlock),
      mapIds,
      btfId: info.get('btf_id'),
      verifiedInsns: info.get('verified_insns'),
      runCnt: info.get('run_cnt').toString(),
      runTimeNs: info.get('run_time_ns').toString(),
      attachTarget: attachBtfId ? btfTypeName(info.get('attach_btf_obj_id'), attachBtfId) : null,
    };
  });
}

export function readMap(id: number): MapRecord {
  return withFd(BpfCmd.BPF_MAP_GET_FD_BY_ID, id, (fd) => mapRecordOf(fd.value, `map id ${id}`));
}

/** The record of an open map fd. */
export function mapRecordOf(fd: number, what: string): MapRecord {
  const info = objGetInfo(fd, MapInfo, `reading info of ${what}`);
  const memlock = fdinfo(fd, 'memlock');
  return {
    id: info.get('id'),
    type: mapTypeName(info.get('type')),
    name: info.get('name'),
    flags: mapFlagsToString(info.get('map_flags')),
    keySize: info.get('key_size'),
    valueSize: info.get('value_size'),
    maxEntries: info.get('max_entries'),
    memlockBytes: memlock === undefined ? null : Number(memlock),
    btfId: info.get('btf_id'),
    btfKeyTypeId: info.get('btf_key_type_id'),
    btfValueTypeId: info.get('btf_value_type_id'),
    frozen: fdinfo(fd, 'frozen') === '1',
  };
}

const PERF_EVENT_TYPES = ['unspec', 'uprobe', 'uretprobe', 'kprobe', 'kretprobe', 'tracepoint', 'event'];

export function readLink(id: number): LinkRecord {
  return withFd(BpfCmd.BPF_LINK_GET_FD_BY_ID, id, (fd) => {
    const info = objGetInfo(fd.value, LinkInfo, `reading info of link id ${id}`);
    const type = info.get('type');
    const w = [info.get('union0'), info.get('union1'), info.get('union2'), info.get('union3')];
    const lo = (x: bigint) => Number(x & 0xffffffffn);
    const hi = (x: bigint) => Number(x >> 32n);
    const typeName = (BpfLinkType[type] ?? `type ${type}`).replace(/^BPF_LINK_TYPE_/, '').toLowerCase();
    const details: Record<string, string | number> = {};
    let target = '';
    // A string the kernel copies into our buffer: the union's (pointer, length) pair given as `ptr` and `len`.
    let filled = info;
    const named = (ptr: 'union0' | 'union1', len: 'union1' | 'union2'): string => {
      const buf = Buffer.alloc(4096);
      filled = objGetInfo(fd.value, LinkInfo, `reading info of link id ${id}`, { [ptr]: addressOf(buf), [len]: BigInt(buf.length) });
      const nul = buf.indexOf(0);
      return buf.subarray(0, nul < 0 ? buf.length : nul).toString('utf8');
    };
    switch (type) {
      case BpfLinkType.BPF_LINK_TYPE_RAW_TRACEPOINT:
        // raw_tracepoint { tp_name (ptr), tp_name_len }
        target = named('union0', 'union1');
        break;
      case BpfLinkType.BPF_LINK_TYPE_ITER:
        target = named('union0', 'union1');
        break;
      case BpfLinkType.BPF_LINK_TYPE_TRACING: {
        // tracing { attach_type, target_obj_id, target_btf_id }
        details.attachType = BpfAttachType[lo(w[0]!)] ?? lo(w[0]!);
        const objId = hi(w[0]!);
        const btfId = lo(w[1]!);
        target = btfId ? btfTypeName(objId, btfId) : '';
        break;
      }
      case BpfLinkType.BPF_LINK_TYPE_CGROUP:
        details.cgroupId = w[0]!.toString();
        details.attachType = BpfAttachType[lo(w[1]!)] ?? lo(w[1]!);
        target = `cgroup id ${w[0]}`;
        break;
      case BpfLinkType.BPF_LINK_TYPE_NETNS:
        details.netnsIno = lo(w[0]!);
        details.attachType = BpfAttachType[hi(w[0]!)] ?? hi(w[0]!);
        target = `netns ino ${lo(w[0]!)}`;
        break;
      case BpfLinkType.BPF_LINK_TYPE_XDP:
        target = `ifindex ${lo(w[0]!)}`;
        break;
      case BpfLinkType.BPF_LINK_TYPE_TCX: case BpfLinkType.BPF_LINK_TYPE_NETKIT:
        details.attachType = BpfAttachType[hi(w[0]!)] ?? hi(w[0]!);
        target = `ifindex ${lo(w[0]!)}`;
        break;
      case BpfLinkType.BPF_LINK_TYPE_STRUCT_OPS:
        target = `map id ${lo(w[0]!)}`;
        break;
      case BpfLinkType.BPF_LINK_TYPE_PERF_EVENT: {
        // perf_event { type; union { uprobe {file_name, name_len, offset, cookie}; kprobe {func_name, name_len, offset, addr, ...}; tracepoint {tp_name, name_len, ...}; event {config, type} } } at offset 24
        const pt = lo(w[0]!);
        const kind = PERF_EVENT_TYPES[pt] ?? `perf event type ${pt}`;
        details.perfEvent = kind;
        if (pt >= 1 && pt <= 5) {
          const name = named('union1', 'union2');
          target = `${kind} ${name}`;
          const off = pt <= 4 ? hi(filled.get('union2')) : 0;
          if (off) target += `+0x${off.toString(16)}`;
        } else if (pt === 6) {
          target = `perf event type ${hi(w[2]!) >>> 0} config 0x${w[1]!.toString(16)}`;
        } else target = kind;
        break;
      }
      default:
        target = '';
    }
    return { id: info.get('id'), type: typeName, progId: info.get('prog_id'), target, details };
  });
}

const btfCache = new Map<number, Btf>();

/** The bytes of kernel BTF object `id` (BTF_GET_FD_BY_ID, then its info twice: size, then the blob). */
export function readBtfObject(id: number): { bytes: Uint8Array; name: string; kernel: boolean } {
  return withFd(BpfCmd.BPF_BTF_GET_FD_BY_ID, id, (fd) => {
    const first = objGetInfo(fd.value, BtfInfo, `reading info of BTF id ${id}`);
    const size = first.get('btf_size');
    const bytes = Buffer.alloc(size);
    const name = Buffer.alloc(64);
    const full = objGetInfo(fd.value, BtfInfo, `reading BTF id ${id}`, { btf: bytes, btf_size: size, name, name_len: name.length });
    const nul = name.indexOf(0);
    return { bytes, name: name.subarray(0, nul < 0 ? name.length : nul).toString('utf8'), kernel: full.get('kernel_btf') !== 0 };
  });
}

/** A kernel BTF object, parsed (vmlinux from /sys/kernel/btf, a module's split on top of it). */
export function kernelBtfById(id: number): Btf {
  let btf = btfCache.get(id);
  if (btf) return btf;
  const raw = readBtfObject(id);
  if (raw.kernel && raw.name === 'vmlinux') btf = loadKernelBtf();
  else if (raw.kernel) btf = parseBtf(raw.bytes, { base: loadKernelBtf(), name: `BTF id ${id} (${raw.name})` });
  else btf = parseBtf(raw.bytes, { name: `BTF id ${id}` });
  btfCache.set(id, btf);
  return btf;
}
