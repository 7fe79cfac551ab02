// BPF_MAP_TYPE_RINGBUF consumer (kernel/bpf/ringbuf.c is the producer).
//
// Memory layout, as the kernel exposes it to mmap():
//   offset 0          consumer page: u64 consumer_pos      (we map it read-write)
//   offset PAGE       producer page: u64 producer_pos      (read-only)
//   offset 2*PAGE     data, `size` bytes, mapped TWICE back to back (read-only)
// The double mapping means a record that wraps the end of the ring is still
// contiguous in our view: no reassembly, records are read in place.
//
// A record is an 8-byte header then the sample, padded to 8 bytes:
//   u32 len     sample length; bit 31 BUSY (reserved, not yet committed),
//               bit 30 DISCARD (committed but discarded: skip it)
//   u32 pg_off  the kernel's own bookkeeping (page offset of the header)
// The producer reserves under a lock (producer_pos advances at reserve) and
// commits with an atomic xchg of len that clears BUSY. So the consumer walks
// from consumer_pos to producer_pos and stops at the first BUSY header: the
// records behind it are not visible in order yet.
//
// Positions are u64 byte counters that only grow. We keep them as uint32 in
// the hot loop: producer_pos - consumer_pos never exceeds the ring size
// (< 2^30 here), so the low 32 bits of each (read with one 32-bit atomic
// load, which a 64-bit aligned store never tears) give every distance and
// offset exactly. Only the store of consumer_pos needs the high word, and it
// changes once per 4 GiB consumed: we store the low word alone (a 32-bit
// store inside the u64; the kernel's 64-bit load sees old or new low half and
// the unchanged high half, never a torn value) except when it wraps, when the
// whole u64 is stored with one BigInt64 Atomics.store.
//
// Wakeups. After committing record R, the kernel wakes the poller only if
// consumer_pos == R (the consumer has caught up and is presumably waiting).
// This is a store-then-load handshake on both sides (Dekker):
//   consumer: store consumer_pos ; load producer_pos / header
//   producer: xchg header        ; load consumer_pos
// With release/acquire only, x86 may let the consumer's load pass its store;
// both sides then read stale values, the consumer sleeps on a committed
// record and nobody wakes it. libbpf was exposed to this (masked by
// level-triggered epoll re-checking under a syscall barrier) and aya hit it
// with edge-triggered epoll; both settled on a sequentially consistent store
// of consumer_pos. We publish with Atomics.store (seq_cst: xchg on x86) and
// always re-read producer_pos and the header AFTER the last publish before
// returning, so when we stop, either we saw the record or the kernel saw our
// position and will wake us.
//
// Reading headers. The header load must be an acquire load (the sample
// bytes are read after it). On x86-64 every plain load is an acquire load
// (TSO), and V8 compiles a DataView read to a plain mov, where
// Atomics.load costs ~6 ns more per record in Node 20 (measured: 3.4 vs
// 10 ns/record). V8 cannot hoist or merge these reads: each pass reads each
// header once, and every pass starts with an Atomics operation (the load of
// producer_pos). So on x64 the hot loops read headers with plain loads; on
// other architectures (weakly ordered) they use Atomics.load. The choice is
// made once, at load: the loops call `readHeader`, one of two functions, which
// V8 inlines. (A branch on TSO inside the loop left an Atomics.load in the
// optimized loop, never taken, yet it cost 2 ns of 6.5 per 256-byte record.)
//
// Publishing costs a locked instruction, so it is done per chunk of records
// rather than per record (libbpf publishes per record). The chunk is small:
// at most 1/16 of the ring and at most 64 KiB (2048 16-byte records), so a
// locked store every 2048 records (~0.01 ns/record) while the producer never
// sees more than 64 KiB of already-read records still held back. (A chunk of a
// quarter ring, as before, kept up to 1 MiB of a 4 MiB ring reserved: the
// producer under a burst saw a ring 25% smaller than libbpf's and dropped.)
import { Mapping, MAP_SHARED, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../syscall/index.ts';
import type { BpfMap } from '../maps/map.ts';
import { type BatchCallback, CAUGHT_UP, DRAINING, type DrainBudget, type MapSource, Pacer, type RecordCallback, RingBufferError, STOPPED, UNBOUNDED, UNBOUNDED_STRIDE, YIELDED, log, openMap } from './common.ts';
import { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ, MapType } from '../uapi/kernel.ts';
import { EventSource } from './source.ts';
import { UsageError } from '../errors.ts';
import { step } from '../util/pipeline.ts';

const { BPF_MAP_TYPE_RINGBUF } = MapType;
export { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ };
const MAX_RING = 1 << 30;
/** Most bytes consumed between two publications of consumer_pos (see the header). */
const MAX_CHUNK = 1 << 16;
// the literals of the drain loops (see there)
if (BPF_RINGBUF_DISCARD_BIT !== 0x40000000 || BPF_RINGBUF_BUSY_BIT !== 0x80000000 || BPF_RINGBUF_HDR_SZ !== 8)
  throw new RingBufferError('ringbuf: the kernel header layout in src/uapi changed; update the drain loops');
/** Total store order: plain loads are acquire loads (x86-64). */
const TSO = process.arch === 'x64' || process.arch === 'ia32';
/** A record's header word at byte `b`: a plain load on TSO, an acquire load elsewhere (see the header). */
const readHeader: (view: DataView, data32: Int32Array, b: number) => number = TSO ? (view, _data32, b) => view.getInt32(b, true) : (_view, data32, b) => Atomics.load(data32, b >> 2);

export interface RingOptions {
  /** Default per-record callback for this ring. */
  onRecord?: RecordCallback;
  /** Batch callback: when set, used instead of onRecord by consume() without an explicit callback. */
  onBatch?: BatchCallback;
  /** Largest batch handed to onBatch (records). Default 4096. */
  batchSize?: number;
}

/** One mapped ring. */
class Ring {
  readonly consumerMap: Mapping;
  readonly producerMap: Mapping;
  readonly cons32: Int32Array;
  readonly cons64: BigInt64Array;
  readonly prod32: Int32Array;
  readonly data32: Int32Array;
  readonly view: DataView;
  readonly mask: number;
  /** Bytes to consume between two publications of consumer_pos (MAX_CHUNK or 1/16 of the ring). */
  readonly chunk: number;
  readonly name: string;
  readonly size: number;
  /** Low 32 bits of our consumer position (int32 arithmetic). */
  cons: number;
  /** High 32 bits of the last published consumer position. */
  consHi: number;
  /** Low 32 bits last published. */
  published: number;
  onRecord: RecordCallback | undefined;
  onBatch: BatchCallback | undefined;
  batch: Int32Array;
  /** How the last drain ended (CAUGHT_UP, STOPPED, YIELDED). */
  outcome = CAUGHT_UP;
  /** Set by close(), which a callback may call mid-drain (see the drain loops). */
  closed: boolean;
  readonly pacer = new Pacer();

  constructor(
    /** Our own duplicate of the map's fd (closed with the ring). */
    readonly map: BpfMap,
    opts: RingOptions,
  ) {
    // Written twice: V8 takes a field that was only ever written once as a constant of the
    // code compiled against it, and changing it later (the first close() in the process)
    // throws that code away: the next consumer would start cold, behind its producer.
    this.closed = true;
    this.closed = false;
    const fd = map.fd;
    this.name = map.name;
    this.size = map.maxEntries;
    this.mask = this.size - 1;
    this.chunk = Math.max(Math.min(this.size >>> 4, MAX_CHUNK), 8);
    this.consumerMap = Mapping.map(fd, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0, `ringbuf ${this.name} consumer page`);
    try {
      this.producerMap = Mapping.map(fd, PAGE_SIZE + 2 * this.size, PROT_READ, MAP_SHARED, PAGE_SIZE, `ringbuf ${this.name} producer page and data`);
    } catch (e) {
      this.consumerMap.unmap();
      throw e;
    }
    this.cons32 = new Int32Array(this.consumerMap.buffer, 0, 2);
    this.cons64 = new BigInt64Array(this.consumerMap.buffer, 0, 1);
    this.prod32 = new Int32Array(this.producerMap.buffer, 0, 2);
    this.data32 = new Int32Array(this.producerMap.buffer, PAGE_SIZE, (2 * this.size) >>> 2);
    this.view = new DataView(this.producerMap.buffer, PAGE_SIZE, 2 * this.size);
    // Start where the kernel says the consumer is (a pinned ring may have been read before).
    const pos = BigInt.asUintN(64, Atomics.load(this.cons64, 0));
    this.cons = Number(pos & 0xffffffffn) | 0;
    this.consHi = Number(pos >> 32n);
    this.published = this.cons;
    this.onRecord = opts.onRecord;
    this.onBatch = opts.onBatch;
    this.batch = new Int32Array(2 * (opts.batchSize ?? 4096));
  }

  get fd(): number {
    return this.map.fd;
  }

  /**
   * The end of a pass that read up to `cons` (`n` records delivered so far,
   * `stop` if a callback asked to): publish it, and say how the drain goes
   * on (DRAINING, STOPPED, or YIELDED when the budget ran out).
   */
  advance(cons: number, n: number, stop: boolean): number {
    this.cons = cons;
    this.publish(cons);
    if (stop) return STOPPED;
    return this.pacer.stride !== UNBOUNDED_STRIDE && !this.pacer.next(n) ? YIELDED : DRAINING;
  }

  /** Make `cons` visible to the kernel (seq_cst store, see the header). */
  publish(cons: number): void {
    const prev = this.published;
    if (cons === prev) return;
    this.published = cons;
    if (cons >>> 0 < prev >>> 0) {
      // the low word wrapped past 2^32: store the whole u64 at once
      this.consHi = (this.consHi + 1) >>> 0;
      Atomics.store(this.cons64, 0, (BigInt(this.consHi) << 32n) | BigInt(cons >>> 0));
    } else {
      Atomics.store(this.cons32, 0, cons);
    }
  }

  close(): void {
    this.closed = true;
    this.consumerMap.close();
    this.producerMap.close();
    this.map.close();
  }
}

// The two drain loops below walk one chunk at a time in byte offsets: the
// chunk's start is masked into the first mapping once, then records are
// followed without masking (the double mapping makes a record that runs past
// the end of the ring contiguous). A record STARTING at or past the end of the
// first mapping ends the chunk instead, so that no record can run past the
// second one; the next chunk masks it back to the ring's start. (Masking
// every record, as libbpf does, cost ~20% more per record here.)
//
// What the loops read is local to them, and the header's bits are literals
// (0x40000000 DISCARD, 0x3fffffff the length, 15 = the 8-byte header + 7 to
// round up to 8; checked against src/uapi when this module loads): V8 keeps a module-level
// constant in a context slot and reloads and re-checks it on every record,
// in a bundle too (2.4 vs 4.1 ns/record measured, 16-byte records). A
// committed, delivered record has neither BUSY nor DISCARD set, so its header
// word is its size as it is: the length mask is only needed to skip a
// discarded one.
//
// Two things end a drain early, and neither costs the per-record loop more
// than the comparison it already makes:
//   - a budget (Pacer): a chunk is cut to the pacer's stride, and the budget
//     is looked at between chunks only;
//   - close() called from a callback: the pages then read zeros, and a zero
//     header parses as an empty record, then another, over the whole ring (the
//     585 phantom records of issue 12). The loop already stops at a header
//     that is not positive (BUSY is the sign bit); it stops at a header of
//     zero too, and only then, out of the loop, asks whether the ring was
//     closed: a closed ring ends the drain at once, publishing nothing; an
//     open one holds a real empty record (a BPF program may submit one),
//     delivered there. (Asking `r.closed` inside the loop cost ~8% of a drain:
//     one more live register in the hottest loop.)
// One exit. How the drain ended is left in `r.outcome`, stored at the end of
// every pass, and nothing but `return n` follows the loop. V8 compiles a long
// first drain on stack replacement (OSR) from inside the loop, before any
// code after the loop has run; an operation there without type feedback (a
// property store, even arithmetic) deoptimizes, and V8 enters the same cached
// OSR code again on the next drain: 80-100 deoptimizations in a 2 s stream,
// each leaving that drain in the interpreter, which the producer outran
// (records dropped). Likewise no path that runs only now and then (a YIELDED
// return, the end of the ring) holds an operation the interpreter has not run.
// The caller starts the ring's pacer (`r.pacer.begin(budget)`) before the
// drain: called in here, V8 inlined it and had no inlining budget left for
// `cb` (~8% slower drains).

/**
 * Drain one ring record by record, under the budget its pacer was begun
 * with. Kept as a free function over locals so that V8 keeps everything in
 * registers and can inline `cb`.
 */
function drainRecords(r: Ring, cb: RecordCallback, ringIdx: number): number {
  // Everything the loop reads is a local: a module-level constant is a context
  // slot that V8 reloads and re-checks on every record (in a bundle too).
  const read = readHeader;
  const view = r.view;
  const data32 = r.data32;
  const mask = r.mask;
  const size = mask + 1;
  const prod32 = r.prod32;
  let cons = r.cons;
  let n = 0;
  const chunk = r.chunk;
  let stop = false;
  let outcome = DRAINING;
  do {
    pass: {
      let avail = (Atomics.load(prod32, 0) - cons) | 0;
      if (avail <= 0) {
        outcome = CAUGHT_UP;
        break pass;
      }
      if (avail > chunk) avail = chunk;
      const stride = r.pacer.stride | 0; // an int32: `avail`, and so the loop bound, stay int32
      if (avail > stride) avail = stride;
      const start = cons & mask;
      let end = start + avail;
      if (end > size) end = size;
      let b = start;
      while (b < end) {
        const len = read(view, data32, b);
        // BUSY (reserved, not committed yet: the records after it must wait), or zero (see above)
        if (len <= 0) break;
        if ((len & 0x40000000) === 0) {
          const next = b + ((len + 15) & ~7); // len is the sample's size here
          n++;
          if (cb(view, b + 8, len, ringIdx)) {
            b = next;
            stop = true;
            break;
          }
          b = next;
        } else {
          b += ((len & 0x3fffffff) + 15) & ~7; // discarded: skipped
        }
      }
      if (r.closed) {
        outcome = STOPPED;
        break pass;
      }
      // read on every pass, used only when the loop stopped short: a read that ran only then would be
      // code the optimizer never saw run (a deoptimization the first time a writer is caught mid-record).
      // b is inside the double mapping: at most one record past the end of the first one
      const header = read(view, data32, b);
      if (!stop && b < end && header === 0) {
        // an empty record, committed: deliver it here, out of the hot loop
        n++;
        stop = Boolean(cb(view, b + 8, 0, ringIdx));
        b += 8;
        if (r.closed) {
          outcome = STOPPED;
          break pass;
        }
      }
      // Exit only after a pass that found nothing, whose reads all followed our last publish.
      if (b === start) {
        outcome = CAUGHT_UP;
        break pass;
      }
      cons = (cons + (b - start)) | 0;
      outcome = r.advance(cons, n, stop);
    }
    r.outcome = outcome; // on every pass: see "One exit" above
  } while (outcome === DRAINING);
  return n;
}

/** Drain one ring in batches (its pacer begun): collect ready records, one call per batch, then publish. */
function drainBatches(r: Ring, cb: BatchCallback, ringIdx: number): number {
  const read = readHeader;
  const view = r.view;
  const data32 = r.data32;
  const mask = r.mask;
  const size = mask + 1;
  const prod32 = r.prod32;
  const batch = r.batch;
  const max = batch.length >> 1;
  let cons = r.cons;
  let n = 0;
  let outcome = DRAINING;
  do {
    pass: {
      let avail = (Atomics.load(prod32, 0) - cons) | 0;
      if (avail <= 0) {
        outcome = CAUGHT_UP;
        break pass;
      }
      const stride = r.pacer.stride | 0;
      if (avail > stride) avail = stride;
      const start = cons & mask;
      let end = start + avail;
      if (end > size) end = size;
      let b = start;
      let k = 0;
      while (b < end && k < max) {
        const len = read(view, data32, b);
        if (len < 0) break;
        if ((len & 0x40000000) === 0) {
          batch[2 * k] = b + 8;
          batch[2 * k + 1] = len;
          k++;
          b += (len + 15) & ~7;
        } else {
          b += ((len & 0x3fffffff) + 15) & ~7;
        }
      }
      if (b === start) {
        outcome = CAUGHT_UP;
        break pass;
      }
      let stop = false;
      if (k > 0) {
        n += k;
        // records stay valid during the call: consumer_pos is published after it
        stop = Boolean(cb(view, batch, k, ringIdx));
        if (r.closed) {
          outcome = STOPPED;
          break pass;
        }
      }
      cons = (cons + (b - start)) | 0;
      outcome = r.advance(cons, n, stop);
    }
    r.outcome = outcome; // on every pass: see "One exit" above
  } while (outcome === DRAINING);
  return n;
}

/**
 * One consumer over one or more BPF_MAP_TYPE_RINGBUF maps (libbpf's
 * `struct ring_buffer`). The consumer holds its own duplicate of each map's
 * fd and its own mappings, and releases them on close(); the maps given stay
 * the caller's (closing them, or destroying their object, does not disturb
 * the consumer).
 */
export class RingBuffer extends EventSource {
  #rings: Ring[] = [];
  /** Where the next budgeted drainAll() starts, so that one busy ring cannot starve the others. */
  #first = 0;

  constructor(map?: MapSource, opts: RingOptions = {}) {
    super();
    if (map !== undefined) this.add(map, opts);
  }

  /** Add a ring map (ring_buffer__add). Its index is the `ring` argument of callbacks. */
  add(map: MapSource, opts: RingOptions = {}): number {
    this.assertOpen();
    const m = openMap(map, BPF_MAP_TYPE_RINGBUF, 'BPF_MAP_TYPE_RINGBUF');
    let ring: Ring;
    try {
      if (m.maxEntries > MAX_RING) throw new RingBufferError(`ringbuf ${m.name}: ${m.maxEntries} bytes is larger than the ${MAX_RING} this consumer supports`);
      ring = new Ring(m, opts);
    } catch (e) {
      m.close();
      throw e;
    }
    this.#rings.push(ring);
    log('ringbuf %s (fd %d): %d bytes, consumer at %d', m.name, m.fd, m.maxEntries, ring.cons >>> 0);
    step('ring buffer', 'ring %s (fd %d): %d bytes mapped, consumer at %d', m.name, m.fd, m.maxEntries, ring.cons >>> 0);
    this.fdsChanged();
    return this.#rings.length - 1;
  }

  get ringCount(): number {
    return this.#rings.length;
  }

  protected fds(): number[] {
    return this.#rings.map((r) => r.fd);
  }

  protected hasData(): boolean {
    for (const r of this.#rings) if (Atomics.load(r.prod32, 0) !== r.cons) return true;
    return false;
  }

  /**
   * Drain what is there now, without waiting; returns the number of records
   * delivered (discarded records are skipped, not counted). `cb` overrides
   * the rings' own callbacks for this call. A truthy return from a callback,
   * or close() called from one, stops the drain right after that record.
   * Without a budget the drain goes on until it catches up with the
   * producer, which under overload may be never: give one (e.g. `{ ms: 10 }`)
   * when calling from the event loop.
   */
  consume(cb?: RecordCallback, budget: DrainBudget = UNBOUNDED): number {
    return this.drainAll(cb, undefined, budget);
  }

  /** Drain one ring (ring_buffer__consume_ring). */
  consumeRing(index: number, cb?: RecordCallback, budget: DrainBudget = UNBOUNDED): number {
    this.assertOpen();
    this.#ring(index);
    return this.#drain(index, cb, budget);
  }

  /** Drain in batches with `cb` (the fastest path: one call per batch). */
  consumeBatch(cb: BatchCallback, budget: DrainBudget = UNBOUNDED): number {
    this.assertOpen();
    let n = 0;
    const rings = this.#rings;
    for (let i = 0; i < rings.length; i++) {
      const r = rings[i]!;
      r.pacer.begin(budget);
      n += drainBatches(r, cb, i);
      if (r.outcome !== CAUGHT_UP) break;
    }
    return n;
  }

  protected drainAll(cb: RecordCallback | undefined, ready?: (i: number) => boolean, budget: DrainBudget = UNBOUNDED): number {
    this.assertOpen();
    this.exhausted = false;
    let n = 0;
    const rings = this.#rings;
    const count = rings.length;
    const first = this.#first < count ? this.#first : 0;
    for (let k = 0; k < count; k++) {
      const i = (first + k) % count;
      if (ready !== undefined && !ready(i)) continue;
      n += this.#drain(i, cb, budget);
      if (this.closedFlag) break;
      const outcome = rings[i]!.outcome;
      if (outcome === STOPPED) break;
      if (outcome === YIELDED) {
        this.exhausted = true;
        this.#first = (i + 1) % count;
        break;
      }
    }
    return n;
  }

  #ring(index: number): Ring {
    const r = this.#rings[index];
    if (r === undefined) throw new UsageError(`ring buffer: no ring ${index} (the consumer has ${this.#rings.length})`);
    return r;
  }

  #drain(i: number, cb: RecordCallback | undefined, budget: DrainBudget): number {
    const r = this.#rings[i]!;
    r.pacer.begin(budget);
    if (cb !== undefined) return drainRecords(r, cb, i);
    if (r.onBatch !== undefined) return drainBatches(r, r.onBatch, i);
    if (r.onRecord !== undefined) return drainRecords(r, r.onRecord, i);
    throw new RingBufferError(`ringbuf ${r.name}: no callback given to consume() and none set for the ring`);
  }

  /** The watcher of ring `i` drains it directly: no dispatch over the rings, no per-call lookup. */
  protected override drainOneFn(i: number, cb: RecordCallback | undefined, budget: DrainBudget): () => boolean {
    const r = this.#rings[i]!;
    if (cb === undefined && r.onBatch !== undefined) {
      const onBatch = r.onBatch;
      return () => {
        if (r.closed) return false;
        r.pacer.begin(budget);
        drainBatches(r, onBatch, i);
        return r.outcome === YIELDED;
      };
    }
    const onRecord = cb ?? r.onRecord;
    if (onRecord === undefined) return super.drainOneFn(i, cb, budget); // throws the usual error on the first wakeup
    return () => {
      if (r.closed) return false;
      r.pacer.begin(budget);
      drainRecords(r, onRecord, i);
      return r.outcome === YIELDED;
    };
  }

  /** Bytes committed or reserved but not consumed yet (ring__avail_data_size). */
  available(index = 0): number {
    this.assertOpen();
    const r = this.#ring(index);
    return (Atomics.load(r.prod32, 0) - r.cons) >>> 0;
  }

  /** The full 64-bit positions, for diagnostics (not the hot path). */
  positions(index = 0): { consumer: bigint; producer: bigint } {
    this.assertOpen();
    const r = this.#ring(index);
    return {
      consumer: BigInt.asUintN(64, Atomics.load(r.cons64, 0)),
      producer: BigInt.asUintN(64, Atomics.load(new BigInt64Array(r.producerMap.buffer, 0, 1), 0)),
    };
  }

  /** Size in bytes of ring `index`'s data area. */
  size(index = 0): number {
    this.assertOpen();
    return this.#ring(index).size;
  }

  /**
   * Unmap every ring and close the consumer's fds. Idempotent. May be called
   * from a record callback: the drain stops right after that record, and
   * nothing more is delivered. Views handed to callbacks that are still
   * referenced read zeros afterwards (the ranges are overmapped), never crash.
   * The maps given to the consumer are not closed: they belong to the caller.
   */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.closeWaiting();
    for (const r of this.#rings) r.close();
    log('ringbuf consumer closed (%d rings)', this.#rings.length);
    this.#rings = [];
  }

  get closed(): boolean {
    return this.closedFlag;
  }
}
