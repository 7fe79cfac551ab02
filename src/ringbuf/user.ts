// BPF_MAP_TYPE_USER_RINGBUF producer: user space writes records, a BPF
// program drains them with bpf_user_ringbuf_drain() (helper 209).
//
// The roles of the ring buffer are swapped: the consumer page (offset 0) is
// the kernel's and mapped read-only; the producer page and the double-mapped
// data (offset PAGE) are ours, read-write. Same record format as the ring
// buffer: u32 len (BUSY bit 31, DISCARD bit 30), u32 pad, sample, padded to 8.
//
// Protocol (single producer: one UserRingBuffer per map):
//   reserve: check space against consumer_pos; write the header with BUSY;
//            advance producer_pos (seq_cst store) so the kernel sees the
//            record, still busy (it stops there until we commit)
//   submit/discard: atomically exchange the header to the final length,
//            clearing BUSY (and setting DISCARD for a discard)
// Reservations are committed in any order; the kernel drains in order.
import { Mapping, MAP_SHARED, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../syscall/index.ts';
import { PollSet, POLLOUT, type MapSource, RingBufferError, log, resolveMap } from './common.ts';
import { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT } from './ringbuf.ts';
import { UsageError } from '../errors.ts';
import { DISPOSE } from '../util/dispose.ts';

export const BPF_MAP_TYPE_USER_RINGBUF = 31;

export class UserRingBuffer {
  readonly #consumerMap: Mapping;
  readonly #producerMap: Mapping;
  readonly #cons32: Int32Array;
  readonly #prod32: Int32Array;
  readonly #prod64: BigInt64Array;
  readonly #data32: Int32Array;
  readonly #poll = new PollSet();
  readonly size: number;
  readonly #mask: number;
  readonly name: string;
  #prod: number;
  #prodHi: number;
  #closed = false;

  constructor(map: MapSource) {
    const m = resolveMap(map, BPF_MAP_TYPE_USER_RINGBUF, 'BPF_MAP_TYPE_USER_RINGBUF');
    this.name = m.name;
    this.size = m.maxEntries;
    this.#mask = m.maxEntries - 1;
    this.#consumerMap = Mapping.map(m.fd, PAGE_SIZE, PROT_READ, MAP_SHARED, 0, `user ringbuf ${m.name} consumer page`);
    try {
      this.#producerMap = Mapping.map(m.fd, PAGE_SIZE + 2 * m.maxEntries, PROT_READ | PROT_WRITE, MAP_SHARED, PAGE_SIZE, `user ringbuf ${m.name} producer page and data`);
    } catch (e) {
      this.#consumerMap.unmap();
      throw e;
    }
    this.#cons32 = new Int32Array(this.#consumerMap.buffer, 0, 2);
    this.#prod32 = new Int32Array(this.#producerMap.buffer, 0, 2);
    this.#prod64 = new BigInt64Array(this.#producerMap.buffer, 0, 1);
    this.#data32 = new Int32Array(this.#producerMap.buffer, PAGE_SIZE, (2 * m.maxEntries) >>> 2);
    const pos = BigInt.asUintN(64, Atomics.load(this.#prod64, 0));
    this.#prod = Number(pos & 0xffffffffn) | 0;
    this.#prodHi = Number(pos >> 32n);
    this.#poll.set([m.fd], POLLOUT);
    log('user ringbuf %s (fd %d): %d bytes', m.name, m.fd, m.maxEntries);
  }

  /** Free bytes (the kernel frees space as it drains). */
  available(): number {
    this.#assertOpen();
    return this.size - ((this.#prod - Atomics.load(this.#cons32, 0)) >>> 0);
  }

  /**
   * Reserve `size` bytes. Returns a Uint8Array over the record's place in the
   * ring (write the sample into it, then submit or discard it), or null when
   * the ring has no room now. Throws when the record could never fit.
   */
  reserve(size: number): Uint8Array | null {
    this.#assertOpen();
    if (!Number.isInteger(size) || size < 0) throw new UsageError(`user ringbuf ${this.name}: bad size ${size}`);
    const total = (size + 15) & ~7;
    if (size > 0x3fffffff || total > this.size) throw new RingBufferError(`user ringbuf ${this.name}: a ${size}-byte record cannot fit in ${this.size} bytes (E2BIG)`);
    const cons = Atomics.load(this.#cons32, 0);
    const prod = this.#prod;
    if (this.size - ((prod - cons) >>> 0) < total) return null;
    const off = prod & this.#mask;
    Atomics.store(this.#data32, off >> 2, size | BPF_RINGBUF_BUSY_BIT);
    this.#data32[(off >> 2) + 1] = 0;
    const next = (prod + total) | 0;
    this.#prod = next;
    if (next >>> 0 < prod >>> 0) {
      this.#prodHi = (this.#prodHi + 1) >>> 0;
      Atomics.store(this.#prod64, 0, (BigInt(this.#prodHi) << 32n) | BigInt(next >>> 0));
    } else {
      Atomics.store(this.#prod32, 0, next);
    }
    return new Uint8Array(this.#producerMap.buffer, PAGE_SIZE + off + 8, size);
  }

  /**
   * reserve(), waiting up to `timeoutMs` (-1 forever) for the kernel to free
   * space (poll(2) for POLLOUT; blocks the thread). Null on timeout.
   */
  reserveBlocking(size: number, timeoutMs: number): Uint8Array | null {
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      const s = this.reserve(size);
      if (s !== null) return s;
      const left = deadline === Infinity ? -1 : Math.max(0, deadline - Date.now());
      if (left === 0) return null;
      this.#poll.wait(left);
    }
  }

  /** Commit a reserved record: the kernel may now drain it. */
  submit(sample: Uint8Array): void {
    this.#commit(sample, false);
  }

  /** Give a reserved record back: the kernel skips it. */
  discard(sample: Uint8Array): void {
    this.#commit(sample, true);
  }

  /** reserve + copy + submit; false when the ring is full. */
  write(bytes: Uint8Array): boolean {
    const s = this.reserve(bytes.length);
    if (s === null) return false;
    s.set(bytes);
    this.submit(s);
    return true;
  }

  #commit(sample: Uint8Array, discard: boolean): void {
    this.#assertOpen();
    if (sample.buffer !== this.#producerMap.buffer) throw new RingBufferError(`user ringbuf ${this.name}: not a sample reserved from this ring`);
    const idx = (sample.byteOffset - PAGE_SIZE - 8) >> 2;
    const len = this.#data32[idx]!;
    if ((len & BPF_RINGBUF_BUSY_BIT) === 0) throw new RingBufferError(`user ringbuf ${this.name}: sample already submitted or discarded`);
    // seq_cst exchange: the sample bytes are written before BUSY clears
    Atomics.exchange(this.#data32, idx, (len & ~BPF_RINGBUF_BUSY_BIT) | (discard ? BPF_RINGBUF_DISCARD_BIT : 0));
  }

  #assertOpen(): void {
    if (this.#closed) throw new UsageError(`user ringbuf ${this.name} used after close`);
  }

  /** Unmap the ring (stale sample views read zeros). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#consumerMap.close();
    this.#producerMap.close();
  }

  /** close(), for `using` (explicit resource management). */
  [DISPOSE](): void {
    this.close();
  }

  get closed(): boolean {
    return this.#closed;
  }
}
