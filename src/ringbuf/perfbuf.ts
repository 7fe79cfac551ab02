// BPF_MAP_TYPE_PERF_EVENT_ARRAY consumer (libbpf's perf_buffer).
//
// One perf event per CPU (PERF_TYPE_SOFTWARE / PERF_COUNT_SW_BPF_OUTPUT,
// sample_type PERF_SAMPLE_RAW), stored in the map at index cpu; a BPF
// program's bpf_perf_event_output(.., BPF_F_CURRENT_CPU, ..) writes into the
// event of the CPU it runs on. Each event has its own mmap'd ring:
//   page 0      struct perf_event_mmap_page: u64 data_head at 1024 (written
//               by the kernel), u64 data_tail at 1032 (written by us)
//   pages 1..n  data, 2^k pages, mapped once: records may wrap the end
// Records: struct perf_event_header { u32 type; u16 misc; u16 size } then
//   PERF_RECORD_SAMPLE (9): u32 raw_size, raw bytes (raw_size includes the
//                           kernel's padding to 8 bytes)
//   PERF_RECORD_LOST   (2): u64 id, u64 lost   (samples dropped, ring full)
// A record that wraps the end is reassembled into a scratch buffer, so the
// callback always sees contiguous bytes.
//
// Positions: u64 byte counters, read and written as their low 32 bits (the
// distance head - tail never exceeds the ring size), the whole u64 stored
// only when the low word wraps; see ringbuf.ts for the argument.
import { FD, MapElemCommands, Mapping, MAP_SHARED, PAGE_SIZE, PERF_COUNT_SW_BPF_OUTPUT, PERF_EVENT_IOC_DISABLE, PERF_EVENT_IOC_ENABLE, PERF_SAMPLE_RAW, PERF_TYPE_SOFTWARE, PROT_READ, PROT_WRITE, PerfFlag, ioctl, perfEventOpen } from '../syscall/index.ts';
import { MapType, PERF_MMAP_PAGE_DATA_HEAD, PERF_MMAP_PAGE_DATA_TAIL, PerfEventType } from '../uapi/kernel.ts';
import type { BpfMap } from '../maps/map.ts';
import { CAUGHT_UP, DRAINING, type DrainBudget, type MapSource, Pacer, type RecordCallback, RingBufferError, STOPPED, UNBOUNDED, UNBOUNDED_STRIDE, YIELDED, log, onlineCpus, openMap } from './common.ts';
import { UsageError } from '../errors.ts';
import { EventSource } from './source.ts';
import { step } from '../util/pipeline.ts';

const { BPF_MAP_TYPE_PERF_EVENT_ARRAY } = MapType;
const { PERF_RECORD_LOST, PERF_RECORD_SAMPLE } = PerfEventType;
export { PERF_RECORD_LOST, PERF_RECORD_SAMPLE };
// the literals of the drain loop (see there)
if (PERF_RECORD_SAMPLE !== 9 || PERF_RECORD_LOST !== 2) throw new RingBufferError('perfbuf: the record types in src/uapi changed; update the drain loop');
/** perf_event_mmap_page's data_head and data_tail, as Int32Array indexes of the page. */
const DATA_HEAD = PERF_MMAP_PAGE_DATA_HEAD / 4;
const DATA_TAIL = PERF_MMAP_PAGE_DATA_TAIL / 4;

export interface PerfBufferOptions {
  /** Data pages per CPU, a power of two. Default 64 (256 KiB). */
  pageCount?: number;
  /** Wake the poller after this many samples (default 1). Ignored when `watermark` is set. */
  wakeupEvents?: number;
  /** Wake the poller when this many bytes are in the ring, instead of counting samples. */
  watermark?: number;
  /** Default per-sample callback: (view, offset, size, cpu). */
  onRecord?: RecordCallback;
  /** Called for each PERF_RECORD_LOST with the number of samples the kernel dropped. */
  onLost?: (cpu: number, lost: number) => void;
  /** CPUs to open (default: the online CPUs that fit in the map). */
  cpus?: number[];
}

class CpuRing {
  readonly meta32: Int32Array;
  readonly meta64: BigInt64Array;
  readonly view: DataView;
  readonly size: number;
  readonly mask: number;
  readonly chunk: number;
  tail: number;
  tailHi: number;
  published: number;
  lost = 0;
  /** How the last drain ended (CAUGHT_UP, STOPPED, YIELDED). */
  outcome = CAUGHT_UP;
  /** Set by close(), which a callback may call mid-drain (see drainCpuRing). */
  closed: boolean;
  readonly pacer = new Pacer();

  constructor(
    readonly cpu: number,
    readonly event: FD,
    readonly mapping: Mapping,
    pages: number,
  ) {
    this.closed = true; // written twice: see Ring's constructor (ringbuf.ts)
    this.closed = false;
    this.size = pages * PAGE_SIZE;
    this.mask = this.size - 1;
    this.chunk = Math.max(this.size >>> 2, 8);
    this.meta32 = new Int32Array(mapping.buffer, 0, PAGE_SIZE / 4);
    this.meta64 = new BigInt64Array(mapping.buffer, 0, PAGE_SIZE / 8);
    this.view = new DataView(mapping.buffer, PAGE_SIZE, this.size);
    const tail = BigInt.asUintN(64, Atomics.load(this.meta64, DATA_TAIL / 2));
    this.tail = Number(tail & 0xffffffffn) | 0;
    this.tailHi = Number(tail >> 32n);
    this.published = this.tail;
  }

  publish(tail: number): void {
    const prev = this.published;
    if (tail === prev) return;
    this.published = tail;
    if (tail >>> 0 < prev >>> 0) {
      this.tailHi = (this.tailHi + 1) >>> 0;
      Atomics.store(this.meta64, DATA_TAIL / 2, (BigInt(this.tailHi) << 32n) | BigInt(tail >>> 0));
    } else {
      Atomics.store(this.meta32, DATA_TAIL, tail);
    }
  }
}

/**
 * Drain one CPU's ring. Like the ring buffer's loop (ringbuf.ts), a free
 * function over locals that walks one chunk at a time in byte offsets,
 * masking only the chunk's start; the rare record that wraps the end of the
 * ring (a perf ring is mapped once) ends the chunk and is reassembled by
 * deliverWrapped. A budget cuts chunks to the pacer's stride and is looked at
 * between chunks (the caller begins the ring's pacer: see ringbuf.ts); close()
 * from a callback leaves pages of zeros, whose first header (size 0, never a
 * real record) ends the drain. How the drain ended is left in `r.outcome`.
 */
function drainCpuRing(r: CpuRing, cb: RecordCallback, scratch: DataView, onLost: LostCallback | undefined): number {
  // Locals and literals only in the loop (see ringbuf.ts): 9 is PERF_RECORD_SAMPLE, 2 PERF_RECORD_LOST.
  // The inner loop handles samples only; anything else (a lost-samples record, a record that
  // wraps the end, a zero header) ends it and is handled below: fewer live values in the loop,
  // so that V8 keeps the position in a register (spilled, the dependency chain went through memory).
  const view = r.view;
  const meta32 = r.meta32;
  const mask = r.mask;
  const size = r.size;
  const chunk = r.chunk;
  const cpu = r.cpu;
  let tail = r.tail;
  let n = 0;
  let stop = false;
  let outcome = DRAINING;
  do {
    pass: {
      let avail = (Atomics.load(meta32, DATA_HEAD) - tail) | 0; // acquire: the records below data_head are written
      if (avail <= 0) {
        outcome = CAUGHT_UP;
        break pass;
      }
      if (avail > chunk) avail = chunk;
      const stride = r.pacer.stride | 0; // an int32: `avail`, and so the loop bound, stay int32
      if (avail > stride) avail = stride;
      const start = tail & mask;
      let end = start + avail;
      if (end > size) end = size;
      let b = start;
      while (b < end) {
        // records are 8-byte aligned: the header never straddles the end
        const len = view.getUint16(b + 6, true);
        const next = b + len;
        if (len === 0 || next > size) break;
        const type = view.getInt32(b, true);
        if (type === 9) {
          n++;
          if (cb(view, b + 12, view.getInt32(b + 8, true), cpu)) {
            b = next;
            stop = true;
            break;
          }
        } else if (type === 2) {
          break;
        }
        b = next;
      }
      if (r.closed) {
        outcome = STOPPED;
        break pass;
      }
      let consumed = b - start;
      if (!stop && b < end) {
        // what ended the loop: a zero header, a record that wraps the end, or a lost-samples record
        const len = view.getUint16(b + 6, true);
        if (len === 0) {
          // publish what was delivered before it, so that a caller who catches this does not see those again
          r.tail = (tail + consumed) | 0;
          r.publish(r.tail);
          throw new RingBufferError(`perf ring of cpu ${cpu}: zero-sized record at ${b}`);
        }
        consumed += len;
        if (b + len > size) {
          const delivered = deliverWrapped(r, b, len, scratch, cb, onLost);
          if (delivered !== 0) n++;
          if (r.closed) {
            outcome = STOPPED;
            break pass;
          }
          if (delivered < 0) stop = true;
        } else {
          recordLost(r, view, b, onLost);
        }
      }
      if (consumed === 0) {
        outcome = CAUGHT_UP;
        break pass;
      }
      tail = (tail + consumed) | 0;
      r.tail = tail;
      r.publish(tail); // release: we are done reading those bytes
      if (stop) outcome = STOPPED;
      else if (r.pacer.stride !== UNBOUNDED_STRIDE && !r.pacer.next(n)) outcome = YIELDED;
    }
    r.outcome = outcome; // on every pass (see "One exit" in ringbuf.ts)
  } while (outcome === DRAINING);
  return n;
}

type LostCallback = (cpu: number, lost: number) => void;

/** A PERF_RECORD_LOST at byte `off` of `v`: u64 id, then u64 lost. */
function recordLost(r: CpuRing, v: DataView, off: number, onLost: LostCallback | undefined): void {
  const lost = Number(v.getBigUint64(off + 16, true));
  r.lost += lost;
  onLost?.(r.cpu, lost);
}

/**
 * The record at byte `off` wraps the end of the ring: copy it into `scratch`
 * and deliver it from there. Returns 1 for a sample delivered, -1 for a sample
 * whose callback asked to stop, 0 for anything else.
 */
function deliverWrapped(r: CpuRing, off: number, len: number, scratch: DataView, cb: RecordCallback, onLost: LostCallback | undefined): number {
  const view = r.view;
  const first = r.size - off;
  const dst = new Uint8Array(scratch.buffer, 0, len);
  dst.set(new Uint8Array(view.buffer, view.byteOffset + off, first), 0);
  dst.set(new Uint8Array(view.buffer, view.byteOffset, len - first), first);
  const type = scratch.getUint32(0, true);
  if (type === PERF_RECORD_SAMPLE) return cb(scratch, 12, scratch.getUint32(8, true), r.cpu) ? -1 : 1;
  if (type === PERF_RECORD_LOST) recordLost(r, scratch, 0, onLost);
  return 0;
}

/**
 * One consumer over the per-CPU rings of a BPF_MAP_TYPE_PERF_EVENT_ARRAY.
 * It owns the perf events, their mappings and its own duplicate of the map's
 * fd; on close() it removes its entries from the map (the map itself belongs
 * to the caller, who may close it or destroy its object at any time).
 */
export class PerfBuffer extends EventSource {
  #rings: CpuRing[] = [];
  readonly #map: BpfMap;
  readonly #onRecord: RecordCallback | undefined;
  readonly #onLost: LostCallback | undefined;
  readonly #scratch: DataView;
  /** Where the next budgeted drainAll() starts, so that one busy CPU cannot starve the others. */
  #first = 0;

  constructor(map: MapSource, opts: PerfBufferOptions = {}) {
    super();
    const pages = opts.pageCount ?? 64;
    if (!Number.isInteger(pages) || pages <= 0 || (pages & (pages - 1)) !== 0)
      throw new UsageError(`perf buffer: pageCount ${pages} is not a power of two`);
    const m = openMap(map, BPF_MAP_TYPE_PERF_EVENT_ARRAY, 'BPF_MAP_TYPE_PERF_EVENT_ARRAY');
    this.#map = m;
    this.#onRecord = opts.onRecord;
    this.#onLost = opts.onLost;
    this.#scratch = new DataView(new ArrayBuffer(1 << 16)); // a record is at most 64 KiB (u16 size)
    const cpus = opts.cpus ?? onlineCpus().filter((c) => c < m.maxEntries);
    try {
      for (const cpu of cpus) {
        if (!Number.isInteger(cpu) || cpu < 0 || cpu >= m.maxEntries) throw new UsageError(`perf buffer on ${m.name}: cpu ${cpu} has no slot in the map (${m.maxEntries} entries)`);
        this.#rings.push(this.#openCpu(cpu, m.name, pages, opts));
      }
    } catch (e) {
      this.#release();
      throw e;
    }
    log('perf buffer on %s: %d CPUs x %d pages', m.name, cpus.length, pages);
    step('ring buffer', 'perf buffer on %s: %d CPUs x %d pages', m.name, cpus.length, pages);
    this.fdsChanged();
  }

  #openCpu(cpu: number, name: string, pages: number, opts: PerfBufferOptions): CpuRing {
    const watermark = opts.watermark !== undefined;
    const event = perfEventOpen(
      {
        type: PERF_TYPE_SOFTWARE,
        config: BigInt(PERF_COUNT_SW_BPF_OUTPUT),
        sample_type: PERF_SAMPLE_RAW,
        sample_period: 1n,
        wakeup_events: watermark ? opts.watermark! : (opts.wakeupEvents ?? 1),
        flags: watermark ? PerfFlag.watermark : 0n,
      },
      -1,
      cpu,
      `perf buffer for map ${name}, cpu ${cpu}`,
    );
    let mapping: Mapping | undefined;
    try {
      mapping = Mapping.map(event.value, (pages + 1) * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0, `perf ring cpu ${cpu}`);
      ioctl(event.value, PERF_EVENT_IOC_ENABLE, 0, `enabling the perf event of cpu ${cpu}`);
      this.#map.update(cpu, event.value);
      return new CpuRing(cpu, event, mapping, pages);
    } catch (e) {
      mapping?.unmap();
      event.close();
      throw e;
    }
  }

  protected fds(): number[] {
    return this.#rings.map((r) => r.event.value);
  }

  protected hasData(): boolean {
    for (const r of this.#rings) if (Atomics.load(r.meta32, DATA_HEAD) !== r.tail) return true;
    return false;
  }

  /** perf_poll() hands out the pending wakeup and clears it (see source.ts). */
  protected override get pollConsumesReadiness(): boolean {
    return true;
  }

  /** The CPUs with a ring, in ring order (the `ring` index of a callback is the CPU number). */
  get cpus(): number[] {
    return this.#rings.map((r) => r.cpu);
  }

  /** Samples the kernel reported lost (PERF_RECORD_LOST), summed over CPUs, so far. */
  get lost(): number {
    let n = 0;
    for (const r of this.#rings) n += r.lost;
    return n;
  }

  /**
   * Drain every CPU ring now; returns the number of samples delivered. A
   * truthy return from the callback, or close() called from it, stops the
   * drain right after that sample. Unbounded unless given a budget (see
   * RingBuffer.consume()).
   */
  consume(cb?: RecordCallback, budget: DrainBudget = UNBOUNDED): number {
    return this.drainAll(cb, undefined, budget);
  }

  protected drainAll(cb: RecordCallback | undefined, ready?: (i: number) => boolean, budget: DrainBudget = UNBOUNDED): number {
    this.assertOpen();
    const f = cb ?? this.#onRecord;
    if (f === undefined) throw new RingBufferError('perf buffer: no callback given to consume() and no onRecord option');
    this.exhausted = false;
    let n = 0;
    const rings = this.#rings;
    const count = rings.length;
    const first = this.#first < count ? this.#first : 0;
    for (let k = 0; k < count; k++) {
      const i = (first + k) % count;
      if (ready !== undefined && !ready(i)) continue;
      const r = rings[i]!;
      r.pacer.begin(budget);
      n += drainCpuRing(r, f, this.#scratch, this.#onLost);
      if (this.closedFlag || r.outcome === STOPPED) break;
      if (r.outcome === YIELDED) {
        this.exhausted = true;
        this.#first = (i + 1) % count;
        break;
      }
    }
    return n;
  }

  #release(): void {
    for (const r of this.#rings) {
      r.closed = true;
      try {
        this.#map.delete(r.cpu);
      } catch (e) {
        log('perf buffer: removing cpu %d from map %s failed: %s', r.cpu, this.#map.name, (e as Error).message);
      }
      try {
        ioctl(r.event.value, PERF_EVENT_IOC_DISABLE, 0, `disabling the perf event of cpu ${r.cpu}`);
      } catch {
        /* closing it below disables it anyway */
      }
      r.mapping.close();
      r.event.close();
    }
    this.#rings = [];
    this.#map.close();
  }

  /**
   * Remove our events from the map, close them, unmap the rings and close our
   * fd of the map. Idempotent. May be called from a sample callback: the
   * drain stops right after that sample. Stale views read zeros.
   */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.closeWaiting();
    this.#release();
    log('perf buffer closed');
  }

  get closed(): boolean {
    return this.closedFlag;
  }
}
