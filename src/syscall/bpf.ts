// bpf(2), one typed wrapper per command. Callers pass typed values; the
// layouts in attr.ts place them. Failures become BpfSyscallError carrying the
// errno's name, the command and what tsbpf was doing.
import { createLog } from '../util/log.ts';
import { BpfCmd, FdOnlyAttr, GetIdAttr, TokenCreateAttr, LinkCreateAttr, LinkUpdateAttr, MapBatchAttr, MapCreateAttr, MapElemAttr, ObjInfoAttr, ObjPinAttr, ProgAttachAttr, ProgTestRunAttr, RawTracepointOpenAttr, RawTracepointOpenCookieAttr } from './attr.ts';
import { BpfSyscallError, EAGAIN, ENOENT } from './errors.ts';
import { FD } from './fd.ts';
import type { Field, Layout, Struct, Values } from './layout.ts';
import { SYS_bpf, addressOf, errno, sysBpf, sysBpfAt } from './libc.ts';
import { BPF_F_REPLACE } from '../uapi/defines.ts';

const log = createLog('tsbpf:syscall');

export interface RawResult {
  /** The syscall's return value (>= 0 on success). */
  ret: number;
  /** errno when ret < 0, else 0. */
  errno: number;
}

/** One bpf() call, returning the raw result (no throw). */
export function bpfRaw(cmd: BpfCmd, attr: Struct<Record<string, Field>>): RawResult {
  const ret = sysBpf(SYS_bpf, cmd, attr.buf, attr.layout.size);
  const e = ret < 0 ? errno() : 0;
  if (log.enabled) log('%s -> %d%s', BpfCmd[cmd], ret, e ? ` (${new BpfSyscallError(BpfCmd[cmd], e, '').code})` : '');
  return { ret, errno: e };
}

/** One bpf() call that throws a BpfSyscallError naming `context` on failure. */
export function bpfCall(cmd: BpfCmd, attr: Struct<Record<string, Field>>, context: string): number {
  const { ret, errno: e } = bpfRaw(cmd, attr);
  if (ret < 0) throw new BpfSyscallError(BpfCmd[cmd], e, context);
  return ret;
}

/** A bpf() command that returns a new file descriptor. */
function bpfFd(cmd: BpfCmd, attr: Struct<Record<string, Field>>, context: string, what: string): FD {
  return new FD(bpfCall(cmd, attr, context), what);
}

// ---------------------------------------------------------------- maps

export type MapCreateValues = Values<(typeof MapCreateAttr)['fields']>;

/** BPF_MAP_CREATE */
export function mapCreate(values: MapCreateValues, context: string): FD {
  return bpfFd(BpfCmd.BPF_MAP_CREATE, MapCreateAttr.create(values), context, `map ${values.map_name ?? ''}`.trim());
}

/** BPF_MAP_FREEZE */
export function mapFreeze(mapFd: number, context: string): void {
  bpfCall(BpfCmd.BPF_MAP_FREEZE, FdOnlyAttr.create({ fd: mapFd }), context);
}

/**
 * The per-element map commands, bound to one map with a reusable attr buffer.
 * This is the hot path of map access: one attr allocation per map, and the
 * address of the last key/value buffer is cached so that a caller reusing its
 * buffers pays no address lookup.
 */
export class MapElemCommands {
  readonly #attr = MapElemAttr.create();
  readonly #keyOff = MapElemAttr.offsetOf('key');
  readonly #valueOff = MapElemAttr.offsetOf('value');
  readonly #flagsOff = MapElemAttr.offsetOf('flags');
  // What the attr's key/value/flags fields hold right now. A field is
  // rewritten only when the caller passes a different buffer or flags word,
  // so a caller that reuses its buffers pays neither an address lookup
  // (koffi.address, ~50-80 ns) nor a BigInt conversion per call.
  #keyInAttr: Uint8Array | null = null;
  #valueInAttr: Uint8Array | null = null;
  #flagsInAttr: number | bigint = 0;
  /** The attr's address, cached: the buffer lives as long as this object, and its address never moves. */
  readonly #attrAt: number;

  constructor(
    mapFd: number,
    readonly context: string,
  ) {
    this.#attr.set('map_fd', mapFd);
    this.#attrAt = Number(addressOf(this.#attr.buf));
  }

  #setKey(key: Uint8Array | null): void {
    if (key === this.#keyInAttr) return;
    this.#keyInAttr = key;
    this.#attr.dv.setBigUint64(this.#keyOff, key === null ? 0n : addressOf(key), true);
  }

  #setValue(value: Uint8Array | null): void {
    if (value === this.#valueInAttr) return;
    this.#valueInAttr = value;
    this.#attr.dv.setBigUint64(this.#valueOff, value === null ? 0n : addressOf(value), true);
  }

  #run(cmd: BpfCmd, flags: number | bigint, what: string, enoentIsFalse: boolean): boolean {
    if (flags !== this.#flagsInAttr) {
      this.#flagsInAttr = flags;
      this.#attr.dv.setBigUint64(this.#flagsOff, BigInt.asUintN(64, BigInt(flags)), true);
    }
    const ret = sysBpfAt(SYS_bpf, cmd, this.#attrAt, 32);
    if (ret >= 0) return true;
    const e = errno();
    if (enoentIsFalse && e === ENOENT) return false;
    throw new BpfSyscallError(BpfCmd[cmd], e, `${what} in ${this.context}`);
  }

  /** BPF_MAP_LOOKUP_ELEM: false when the key is absent. */
  lookup(key: Uint8Array | null, value: Uint8Array, flags: number | bigint = 0): boolean {
    this.#setKey(key);
    this.#setValue(value);
    return this.#run(BpfCmd.BPF_MAP_LOOKUP_ELEM, flags, 'looking up an element', true);
  }

  /** BPF_MAP_UPDATE_ELEM (key null for queue/stack push). */
  update(key: Uint8Array | null, value: Uint8Array, flags: number | bigint = 0): void {
    this.#setKey(key);
    this.#setValue(value);
    this.#run(BpfCmd.BPF_MAP_UPDATE_ELEM, flags, 'updating an element', false);
  }

  /** BPF_MAP_DELETE_ELEM: false when the key is absent. */
  delete(key: Uint8Array | null, flags: number | bigint = 0): boolean {
    this.#setKey(key);
    this.#setValue(null);
    return this.#run(BpfCmd.BPF_MAP_DELETE_ELEM, flags, 'deleting an element', true);
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM (key null for queue/stack pop): false when absent/empty. */
  lookupAndDelete(key: Uint8Array | null, value: Uint8Array, flags: number | bigint = 0): boolean {
    this.#setKey(key);
    this.#setValue(value);
    return this.#run(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM, flags, 'looking up and deleting an element', true);
  }

  /** BPF_MAP_GET_NEXT_KEY: key null asks for the first key; false after the last. */
  getNextKey(key: Uint8Array | null, nextKey: Uint8Array): boolean {
    this.#setKey(key);
    this.#setValue(nextKey);
    return this.#run(BpfCmd.BPF_MAP_GET_NEXT_KEY, 0, 'iterating keys', true);
  }
}

export interface BatchArgs {
  mapFd: number;
  inBatch?: Uint8Array | null;
  outBatch?: Uint8Array | null;
  keys?: Uint8Array | null;
  values?: Uint8Array | null;
  count: number;
  elemFlags?: number | bigint;
}

export interface BatchResult {
  /** How many elements the kernel processed (it writes this back even on error). */
  count: number;
  /** 0 on success, ENOENT when the map has no more elements, another errno on failure. */
  errno: number;
}

/** BPF_MAP_{LOOKUP,LOOKUP_AND_DELETE,UPDATE,DELETE}_BATCH, returning count and errno (ENOENT = end). */
export function mapBatch(
  cmd: BpfCmd.BPF_MAP_LOOKUP_BATCH | BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_BATCH | BpfCmd.BPF_MAP_UPDATE_BATCH | BpfCmd.BPF_MAP_DELETE_BATCH,
  args: BatchArgs,
): BatchResult {
  const attr = MapBatchAttr.create({
    map_fd: args.mapFd,
    in_batch: args.inBatch ?? null,
    out_batch: args.outBatch ?? null,
    keys: args.keys ?? null,
    values: args.values ?? null,
    count: args.count,
    elem_flags: args.elemFlags ?? 0,
  });
  const { ret, errno: e } = bpfRaw(cmd, attr);
  return { count: attr.get('count'), errno: ret < 0 ? e : 0 };
}

// ---------------------------------------------------------------- objects, ids, info

/** BPF_OBJ_PIN */
export function objPin(fd: number, path: string, context: string): void {
  const pathBuf = Buffer.from(path + '\0');
  bpfCall(BpfCmd.BPF_OBJ_PIN, ObjPinAttr.create({ pathname: pathBuf, bpf_fd: fd }), context);
}

/** BPF_OBJ_GET: open a pinned object. */
export function objGet(path: string, fileFlags: number, context: string): FD {
  const pathBuf = Buffer.from(path + '\0');
  return bpfFd(BpfCmd.BPF_OBJ_GET, ObjPinAttr.create({ pathname: pathBuf, file_flags: fileFlags }), context, `pinned ${path}`);
}

/** BPF_TOKEN_CREATE (6.9+): a BPF token from the root of a bpffs mounted with delegate_* options. */
export function tokenCreate(bpffsFd: number, context: string): FD {
  return bpfFd(BpfCmd.BPF_TOKEN_CREATE, TokenCreateAttr.create({ bpffs_fd: bpffsFd, flags: 0 }), context, 'BPF token');
}

/** BPF_{PROG,MAP,BTF,LINK}_GET_NEXT_ID: 0 when there is no next id. */
export function getNextId(
  cmd: BpfCmd.BPF_PROG_GET_NEXT_ID | BpfCmd.BPF_MAP_GET_NEXT_ID | BpfCmd.BPF_BTF_GET_NEXT_ID | BpfCmd.BPF_LINK_GET_NEXT_ID,
  startId: number,
): number {
  const attr = GetIdAttr.create({ id: startId });
  const { ret, errno: e } = bpfRaw(cmd, attr);
  if (ret < 0) {
    if (e === ENOENT) return 0;
    throw new BpfSyscallError(BpfCmd[cmd], e, `listing ids after ${startId}`);
  }
  return attr.get('next_id');
}

/** BPF_{PROG,MAP,BTF,LINK}_GET_FD_BY_ID */
export function getFdById(
  cmd: BpfCmd.BPF_PROG_GET_FD_BY_ID | BpfCmd.BPF_MAP_GET_FD_BY_ID | BpfCmd.BPF_BTF_GET_FD_BY_ID | BpfCmd.BPF_LINK_GET_FD_BY_ID,
  id: number,
  openFlags = 0,
): FD {
  const what = BpfCmd[cmd].replace(/^BPF_(\w+)_GET_FD_BY_ID$/, '$1').toLowerCase();
  return bpfFd(cmd, GetIdAttr.create({ id, open_flags: openFlags }), `opening ${what} id ${id}`, `${what} id ${id}`);
}

/** BPF_OBJ_GET_INFO_BY_FD into a fresh struct of `layout`. */
export function objGetInfo<F extends Record<string, Field>>(
  fd: number,
  layout: Layout<F>,
  context: string,
  prefill?: Values<F>,
): Struct<F> {
  const info = layout.create(prefill);
  const attr = ObjInfoAttr.create({ bpf_fd: fd, info_len: layout.size, info: info.buf });
  bpfCall(BpfCmd.BPF_OBJ_GET_INFO_BY_FD, attr, context);
  return info;
}

// ---------------------------------------------------------------- programs

/** BPF_PROG_LOAD, raw: the program layer owns the retry and verifier-log policy. */
export function progLoadRaw(attr: Struct<Record<string, Field>>): RawResult {
  // The kernel can return EAGAIN when it could not allocate verifier state
  // under memory pressure; libbpf retries up to 5 times.
  let r = bpfRaw(BpfCmd.BPF_PROG_LOAD, attr);
  for (let attempt = 1; r.ret < 0 && r.errno === EAGAIN && attempt < 5; attempt++) r = bpfRaw(BpfCmd.BPF_PROG_LOAD, attr);
  return r;
}

export type ProgTestRunValues = Values<(typeof ProgTestRunAttr)['fields']>;

/** BPF_PROG_TEST_RUN: returns the attr struct so callers read retval, sizes and duration. */
export function progTestRun(values: ProgTestRunValues, context: string): Struct<(typeof ProgTestRunAttr)['fields']> {
  const attr = ProgTestRunAttr.create(values);
  bpfCall(BpfCmd.BPF_PROG_TEST_RUN, attr, context);
  return attr;
}

/** BPF_PROG_ATTACH (legacy attach for cgroup, sockmap, flow dissector, ...) */
export function progAttach(targetFd: number, progFd: number, attachType: number, flags: number, context: string): void {
  bpfCall(BpfCmd.BPF_PROG_ATTACH, ProgAttachAttr.create({ target_fd: targetFd, attach_bpf_fd: progFd, attach_type: attachType, attach_flags: flags }), context);
}

/** BPF_PROG_DETACH */
export function progDetach(targetFd: number, progFd: number, attachType: number, context: string): void {
  bpfCall(BpfCmd.BPF_PROG_DETACH, ProgAttachAttr.create({ target_fd: targetFd, attach_bpf_fd: progFd, attach_type: attachType }), context);
}

// ---------------------------------------------------------------- attach points and links

/** BPF_RAW_TRACEPOINT_OPEN: name null attaches a tp_btf/fentry/fexit/lsm program to its load-time BTF target. */
export function rawTracepointOpen(name: string | null, progFd: number, context: string, cookie?: bigint): FD {
  const nameBuf = name === null ? null : Buffer.from(name + '\0');
  const attr =
    cookie === undefined
      ? RawTracepointOpenAttr.create({ name: nameBuf, prog_fd: progFd })
      : RawTracepointOpenCookieAttr.create({ name: nameBuf, prog_fd: progFd, cookie });
  return bpfFd(BpfCmd.BPF_RAW_TRACEPOINT_OPEN, attr as never, context, `raw_tracepoint ${name ?? ''}`.trim());
}

export type LinkCreateValues = Values<(typeof LinkCreateAttr)['fields']>;

/** BPF_LINK_CREATE */
export function linkCreate(values: LinkCreateValues, context: string): FD {
  return bpfFd(BpfCmd.BPF_LINK_CREATE, LinkCreateAttr.create(values), context, 'link');
}

/** BPF_LINK_UPDATE: swap the program behind a link. */
export function linkUpdate(linkFd: number, newProgFd: number, context: string, oldProgFd?: number): void {
  bpfCall(
    BpfCmd.BPF_LINK_UPDATE,
    LinkUpdateAttr.create({ link_fd: linkFd, new_prog_fd: newProgFd, flags: oldProgFd === undefined ? 0 : BPF_F_REPLACE, old_prog_fd: oldProgFd ?? 0 }),
    context,
  );
}

/** BPF_LINK_DETACH: force-detach while keeping the fd. */
export function linkDetach(linkFd: number, context: string): void {
  bpfCall(BpfCmd.BPF_LINK_DETACH, FdOnlyAttr.create({ fd: linkFd }), context);
}

/** BPF_ITER_CREATE: a readable fd producing one pass of an iterator link's output. */
export function iterCreate(linkFd: number, context: string): FD {
  return bpfFd(BpfCmd.BPF_ITER_CREATE, FdOnlyAttr.create({ fd: linkFd }), context, 'iterator');
}

// ---------------------------------------------------------------- BTF

/** BPF_BTF_LOAD, raw: the BTF layer owns the log policy. */
export function btfLoadRaw(attr: Struct<Record<string, Field>>): RawResult {
  return bpfRaw(BpfCmd.BPF_BTF_LOAD, attr);
}
