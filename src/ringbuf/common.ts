// What the ring buffer, perf buffer and user ring buffer share: resolving the
// map they read (a BpfMap, anything with an fd, or a raw fd), the record
// callback types, waiting for readiness (blocking poll(2) or libuv's poll on
// the main loop), and the CPU lists the perf buffer needs.
import { TsbpfError } from '../errors.ts';
import { createLog } from '../util/log.ts';
import { MapInfo, libcPoll, lastErrno, nodePoll, objGetInfo, EINTR, SyscallError } from '../syscall/index.ts';

export const log = createLog('tsbpf:ringbuf');

/** A map to read from: a BpfMap (src/maps), anything exposing its fd, or a raw fd. */
export type MapSource = number | { readonly fd: number };

export interface ResolvedMap {
  fd: number;
  type: number;
  maxEntries: number;
  name: string;
}

/** The map's kernel-side shape (BPF_OBJ_GET_INFO_BY_FD), checked against the expected map type. */
export function resolveMap(src: MapSource, expectedType: number, typeName: string): ResolvedMap {
  const fd = typeof src === 'number' ? src : src.fd;
  const info = objGetInfo(fd, MapInfo, `reading info of map fd ${fd} for a ${typeName} consumer`);
  const type = info.get('type');
  const name = info.get('name');
  if (type !== expectedType)
    throw new RingBufferError(`map "${name}" (fd ${fd}) has type ${type}, not ${typeName} (${expectedType})`);
  return { fd, type, maxEntries: info.get('max_entries'), name };
}

export class RingBufferError extends TsbpfError {
  override name = 'RingBufferError';
}

/**
 * Called once per record. `view` is a DataView over the ring's memory and the
 * record occupies bytes [offset, offset + size) of it. The bytes are the
 * kernel's, in place: they are valid ONLY during the call (once the callback
 * returns, the consumer position moves past them and the producer may
 * overwrite them). Copy what you keep (`copyRecord`). A truthy return value
 * stops the drain after this record.
 */
export type RecordCallback = (view: DataView, offset: number, size: number, ring: number) => unknown;

/**
 * Called once per batch of ready records: record i is at
 * [records[2i], records[2i] + records[2i+1]) of `view`. Valid only during the
 * call, like RecordCallback. A truthy return stops after this batch.
 */
export type BatchCallback = (view: DataView, records: Int32Array, count: number, ring: number) => unknown;

/** Copy a record out of the ring (the only way to keep it past the callback). */
export function copyRecord(view: DataView, offset: number, size: number): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset + offset, size).slice();
}

/** A Uint8Array over the record, in place (no copy; same lifetime rules as the callback arguments). */
export function recordBytes(view: DataView, offset: number, size: number): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset + offset, size);
}

// ---------------------------------------------------------------- waiting

export const POLLIN = 0x001;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;

/**
 * A reusable struct pollfd array for blocking poll(2) over a set of fds. The
 * call blocks the calling thread (and so the event loop when called from the
 * main thread): that is what `poll(timeout)` means. Use the event-driven mode
 * to wait without blocking.
 */
export class PollSet {
  #buf = new Uint8Array(0);
  #dv = new DataView(this.#buf.buffer);
  #n = 0;

  set(fds: readonly number[], events: number): void {
    this.#n = fds.length;
    this.#buf = new Uint8Array(8 * fds.length);
    this.#dv = new DataView(this.#buf.buffer);
    fds.forEach((fd, i) => {
      this.#dv.setInt32(i * 8, fd, true);
      this.#dv.setInt16(i * 8 + 4, events, true);
    });
  }

  /** Wait up to timeoutMs (-1 = forever). Returns how many fds are ready (0 on timeout or EINTR). */
  wait(timeoutMs: number): number {
    for (let i = 0; i < this.#n; i++) this.#dv.setInt16(i * 8 + 6, 0, true);
    const r = libcPoll(this.#buf, this.#n, timeoutMs);
    if (r < 0) {
      const e = lastErrno();
      if (e === EINTR) return 0;
      throw new SyscallError('poll', e, 'waiting for ring buffer data');
    }
    return r;
  }

  /** revents of entry i after wait(). */
  revents(i: number): number {
    return this.#dv.getUint16(i * 8 + 6, true);
  }
}

export interface PollHandle {
  /** Re-arm a stopped watcher (koffi passes (status, events) to the callback). */
  start(opts: { readable?: boolean; writable?: boolean }, cb: () => void): void;
  stop(): void;
  close(): void;
  unref(): void;
  ref(): void;
}

/**
 * Watch an fd for readability (or writability) on the main loop through
 * libuv (koffi's node.poll). libuv's epoll is level-triggered: while data
 * remains, the callback is called again after every loop turn.
 */
export function watchFd(fd: number, writable: boolean, onReady: () => void): PollHandle {
  const opts = writable ? { writable: true } : { readable: true };
  // koffi calls onReady(status, events); our callbacks take no arguments and ignore them
  return nodePoll(fd, opts, onReady) as PollHandle;
}

// CPU lists (the perf buffer opens one event per online CPU) live in src/util/cpus.ts.
export { onlineCpus, possibleCpus } from '../util/cpus.ts';
