// What the ring buffer, perf buffer and user ring buffer share: opening the
// map they read (a BpfMap, an ObjectMap of a loaded object, anything with an
// fd, or a raw fd), the record callback types, the drain budget, waiting for
// readiness (blocking poll(2) or libuv's poll on the main loop), and the CPU
// lists the perf buffer needs.
import { TsbpfError } from '../errors.ts';
import { createLog } from '../util/log.ts';
import { BpfMap } from '../maps/map.ts';
import { libcPoll, lastErrno, nodePoll, EINTR, SyscallError } from '../syscall/index.ts';

export const log = createLog('tsbpf:ringbuf');

/**
 * A map to read from: a BpfMap (src/maps), an ObjectMap of a loaded object
 * (src/object), anything exposing its fd, or a raw fd.
 */
export type MapSource = number | { readonly fd: number };

/**
 * The consumer's own handle on the map: a duplicate of the caller's fd, its
 * shape read from the kernel and checked against the expected map type. The
 * consumer closes it on close(), so the caller may close (or destroy the
 * object owning) the original at any time without pulling the fd from under
 * a watcher or a pending wait.
 */
export function openMap(src: MapSource, expectedType: number, typeName: string): BpfMap {
  const fd = typeof src === 'number' ? src : src.fd;
  const map = BpfMap.fromFd(fd);
  if (map.type !== expectedType) {
    map.close();
    throw new RingBufferError(`map "${map.name}" (fd ${fd}) has type ${map.type}, not ${typeName} (${expectedType})`);
  }
  return map;
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

// ---------------------------------------------------------------- drain budget

/**
 * How much one drain may do before it hands the event loop back. A drain
 * re-reads the producer's position after every chunk, so under a producer
 * that outruns the consumer it would never end: timers, I/O and signals of
 * the process would wait for as long as the overload lasts. Under a budget
 * the drain stops after a whole record, publishes its position and reports
 * that records remain; the event-driven mode and the async iterator then
 * continue on the next turn of the loop (setImmediate), from that position.
 */
export interface DrainBudget {
  /** Most records delivered per drain (batch mode: per drain, cut at a batch). Default: no bound. */
  records?: number;
  /** Most milliseconds per drain, checked every few records (their number adapts to the callback's cost). */
  ms?: number;
}

/** What start() and the async iterator use unless told otherwise: 10 ms per drain. */
export const DEFAULT_BUDGET: DrainBudget = Object.freeze({ ms: 10 });

/** No bound: drain until caught up (consume() and poll() unless given a budget). */
export const UNBOUNDED: DrainBudget = Object.freeze({});

/** The smallest record, in bytes: a header alone (ring buffer: a zero-length sample; perf: perf_event_header). */
const MIN_RECORD = 8;
/** The longest stretch between two looks at the budget, in bytes (a drain's chunk is shorter anyway). */
const MAX_STRIDE = 1 << 20;
/**
 * The stretch of an unbounded drain: larger than any chunk, and a small
 * integer (Infinity, a double, made V8 carry the chunk arithmetic of the hot
 * loop as doubles: ~8% slower drains).
 */
export const UNBOUNDED_STRIDE = 0x7fffffff;

/**
 * Decides when a budgeted drain yields. The drain loops walk the ring in
 * stretches of at most `stride` bytes, and look at the budget between two
 * stretches only, so that the per-record loop is the same with or without a
 * budget (a per-record check cost ~10% of a drain here).
 *
 * The stride adapts to the cost of the ring's callback (one Pacer per ring):
 * it doubles while a stretch takes under 1/16 of the time budget and halves
 * when it takes over 1/4, so a cheap callback pays a clock read every few
 * thousand records and a slow one still yields within its budget. A record
 * budget is met exactly: a stretch never holds more records than remain,
 * since no record is shorter than MIN_RECORD bytes.
 */
export class Pacer {
  /**
   * Bytes the drain may walk before it asks next(): UNBOUNDED_STRIDE when
   * the drain is unbounded. A field, read once per chunk, rather than a
   * local of the drain: one more value live across the per-record loop cost
   * V8 a register there (~5% of a drain).
   */
  stride = UNBOUNDED_STRIDE;
  #adaptive = 1024;
  #limit = Infinity;
  #ms = Infinity;
  #deadline = Infinity;
  // a double from the start, as performance.now() makes it: a field that changes from a small
  // integer to a double changes its object's layout, which deoptimizes every drain compiled against it
  #last = performance.now();

  /** Start a drain under `budget`: sets the first stride. */
  begin(budget: DrainBudget): void {
    this.#limit = budget.records ?? Infinity;
    this.#ms = budget.ms ?? Infinity;
    if (this.#ms === Infinity && this.#limit === Infinity) {
      this.stride = UNBOUNDED_STRIDE;
      return;
    }
    if (this.#ms !== Infinity) {
      this.#last = performance.now();
      this.#deadline = this.#last + this.#ms;
    }
    this.stride = this.#cap(0, this.#ms === Infinity ? MAX_STRIDE : this.#adaptive);
  }

  /** `n` records delivered so far: false to yield now, else true with the next stride set. */
  next(n: number): boolean {
    if (n >= this.#limit) return false;
    if (this.#ms !== Infinity) {
      const now = performance.now();
      if (now >= this.#deadline) return false;
      const took = now - this.#last;
      this.#last = now;
      // both candidates computed, one picked: a branch that only a slow stretch takes would be
      // code the optimizer never saw run, and taking it would deoptimize the drain that inlined this
      const a = this.#adaptive;
      const doubled = Math.min(a * 2, MAX_STRIDE);
      const halved = Math.max(a >>> 1, MIN_RECORD);
      this.#adaptive = took * 16 < this.#ms ? doubled : took * 4 > this.#ms ? halved : a;
    }
    this.stride = this.#cap(n, this.#ms === Infinity ? MAX_STRIDE : this.#adaptive);
    return true;
  }

  #cap(n: number, stride: number): number {
    return this.#limit === Infinity ? stride : Math.min(stride, (this.#limit - n) * MIN_RECORD);
  }
}

// How a drain of one ring ended (kept on the ring: per consumer, per ring).
/** Not ended: the drain goes on (the value a drain's loop keeps going on). */
export const DRAINING = -1;
/** Nothing left (or the next record is still being written). */
export const CAUGHT_UP = 0;
/** A callback returned a truthy value, or closed the consumer. */
export const STOPPED = 1;
/** The budget ran out; records may remain. */
export const YIELDED = 2;

// ---------------------------------------------------------------- waiting

export { POLLIN, POLLOUT, POLLERR, POLLHUP, POLLNVAL } from '../uapi/defines.ts';

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
