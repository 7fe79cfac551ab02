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
import { type MapSource, type RecordCallback, RingBufferError, log, onlineCpus, resolveMap } from './common.ts';
import { EventSource } from './source.ts';
import { step } from '../util/pipeline.ts';

export const BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4;
export const PERF_RECORD_LOST = 2;
export const PERF_RECORD_SAMPLE = 9;
const DATA_HEAD = 1024 / 4;
const DATA_TAIL = 1032 / 4;

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
  readonly data32: Int32Array;
  readonly size: number;
  readonly mask: number;
  readonly chunk: number;
  tail: number;
  tailHi: number;
  published: number;
  lost = 0;

  constructor(
    readonly cpu: number,
    readonly event: FD,
    readonly mapping: Mapping,
    pages: number,
  ) {
    this.size = pages * PAGE_SIZE;
    this.mask = this.size - 1;
    this.chunk = Math.max(this.size >>> 2, 8);
    this.meta32 = new Int32Array(mapping.buffer, 0, PAGE_SIZE / 4);
    this.meta64 = new BigInt64Array(mapping.buffer, 0, PAGE_SIZE / 8);
    this.view = new DataView(mapping.buffer, PAGE_SIZE, this.size);
    this.data32 = new Int32Array(mapping.buffer, PAGE_SIZE, this.size >>> 2);
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

let stopped = false;

/**
 * Drain one CPU's ring. Like the ring buffer's loop (ringbuf.ts), a free
 * function over locals that walks one chunk at a time in 32-bit word indexes,
 * masking only the chunk's start; the rare record that wraps the end of the
 * ring (a perf ring is mapped once) ends the chunk and is reassembled by
 * deliverWrapped.
 */
function drainCpuRing(r: CpuRing, cb: RecordCallback, scratch: DataView, onLost: LostCallback | undefined): number {
  const view = r.view;
  const data32 = r.data32;
  const meta32 = r.meta32;
  const mask = r.mask;
  const sizeW = r.size >>> 2;
  const chunk = r.chunk;
  const cpu = r.cpu;
  let tail = r.tail;
  let n = 0;
  let stop = false;
  for (;;) {
    let avail = (Atomics.load(meta32, DATA_HEAD) - tail) | 0; // acquire: the records below data_head are written
    if (avail <= 0) break;
    if (avail > chunk) avail = chunk;
    const startW = (tail & mask) >>> 2;
    let endW = startW + (avail >>> 2);
    if (endW > sizeW) endW = sizeW;
    let w = startW;
    let wraps = false;
    while (w < endW) {
      // records are 8-byte aligned: the header never straddles the end
      const type = data32[w]!;
      const len = data32[w + 1]! >>> 16;
      if (len === 0) {
        // publish what was delivered before it, so that a caller who catches this does not see those again
        r.tail = (tail + ((w - startW) << 2)) | 0;
        r.publish(r.tail);
        throw new RingBufferError(`perf ring of cpu ${cpu}: zero-sized record at ${w << 2}`);
      }
      const next = w + (len >>> 2);
      if (next > sizeW) {
        wraps = true;
        break;
      }
      if (type === PERF_RECORD_SAMPLE) {
        n++;
        if (cb(view, (w << 2) + 12, data32[w + 2]!, cpu)) {
          w = next;
          stop = true;
          break;
        }
      } else if (type === PERF_RECORD_LOST) {
        recordLost(r, view, w << 2, onLost);
      }
      w = next;
    }
    let consumed = (w - startW) << 2;
    if (wraps) {
      const len = data32[w + 1]! >>> 16;
      consumed += len;
      const delivered = deliverWrapped(r, w << 2, len, scratch, cb, onLost);
      if (delivered < 0) stop = true;
      n += delivered === 0 ? 0 : 1;
    }
    if (consumed === 0) break;
    tail = (tail + consumed) | 0;
    r.tail = tail;
    r.publish(tail); // release: we are done reading those bytes
    if (stop) break;
  }
  stopped = stop;
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
 * It owns the perf events and their mappings; on close() it removes its
 * entries from the map (the map itself belongs to the caller).
 */
export class PerfBuffer extends EventSource {
  #rings: CpuRing[] = [];
  readonly #mapFd: number;
  readonly #elem: MapElemCommands;
  readonly #onRecord: RecordCallback | undefined;
  readonly #onLost: LostCallback | undefined;
  readonly #scratch: DataView;

  constructor(map: MapSource, opts: PerfBufferOptions = {}) {
    super();
    const m = resolveMap(map, BPF_MAP_TYPE_PERF_EVENT_ARRAY, 'BPF_MAP_TYPE_PERF_EVENT_ARRAY');
    const pages = opts.pageCount ?? 64;
    if (!Number.isInteger(pages) || pages <= 0 || (pages & (pages - 1)) !== 0)
      throw new RingBufferError(`perf buffer on ${m.name}: pageCount ${pages} is not a power of two`);
    this.#mapFd = m.fd;
    this.#elem = new MapElemCommands(m.fd, `perf event array ${m.name}`);
    this.#onRecord = opts.onRecord;
    this.#onLost = opts.onLost;
    this.#scratch = new DataView(new ArrayBuffer(1 << 16)); // a record is at most 64 KiB (u16 size)
    const cpus = opts.cpus ?? onlineCpus().filter((c) => c < m.maxEntries);
    try {
      for (const cpu of cpus) this.#rings.push(this.#openCpu(cpu, m.name, pages, opts));
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
      const key = new Uint8Array(4);
      const value = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, cpu, true);
      new DataView(value.buffer).setUint32(0, event.value, true);
      this.#elem.update(key, value);
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

  /** Drain every CPU ring now; returns the number of samples delivered. */
  consume(cb?: RecordCallback): number {
    return this.drainAll(cb);
  }

  protected drainAll(cb: RecordCallback | undefined, ready?: (i: number) => boolean): number {
    this.assertOpen();
    const f = cb ?? this.#onRecord;
    if (f === undefined) throw new RingBufferError('perf buffer: no callback given to consume() and no onRecord option');
    let n = 0;
    stopped = false;
    for (let i = 0; i < this.#rings.length; i++) {
      if (ready !== undefined && !ready(i)) continue;
      n += drainCpuRing(this.#rings[i]!, f, this.#scratch, this.#onLost);
      if (stopped) break;
    }
    return n;
  }

  #release(): void {
    for (const r of this.#rings) {
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, r.cpu, true);
      try {
        this.#elem.delete(key);
      } catch (e) {
        log('perf buffer: removing cpu %d from map fd %d failed: %s', r.cpu, this.#mapFd, (e as Error).message);
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
  }

  /** Remove our events from the map, close them and unmap the rings. Idempotent; stale views read zeros. */
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
