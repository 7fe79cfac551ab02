// RingBufferWorker: a ring buffer consumer on a thread of its own, for
// wakeup latency at C's level without blocking the main event loop.
//
// Why a thread. The event-driven mode (RingBuffer.start) wakes up through
// libuv's epoll on the main loop, then koffi's poll handle, then a call into
// V8: about 10 us more than a thread that does nothing but wait, and much
// more at the tail when the loop is busy with something else. C libbpf gets
// its latency from such a thread (ring_buffer__poll in a loop). A
// worker_thread can do the same: it blocks in poll(2) on the ring's fd (fds
// are process-wide), drains with the same code as RingBuffer.consume over a
// mapping of its own, and calls the handler right there.
//
// What it changes for the user: the handler runs in the worker, so it cannot
// be a closure of the main thread (functions do not cross threads). It is
// named by module and export; the export is a factory called once in the
// worker with { data, post }, returning the record callback (or { onRecord,
// onClose }). The handler talks back with post() (onMessage on this side);
// close() resolves with what onClose returned.
//
// Stopping. close() rings an eventfd that is in the worker's poll set; the
// worker drains what was committed until then, unmaps, calls onClose and
// reports. A view the handler kept past close reads zeros (the ranges are
// overmapped, as in RingBuffer.close), never faults.
import type { Transferable, Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../errors.ts';
import { builtin } from '../util/builtin.ts';
import { ownFile } from '../util/own_file.ts';
import { EventFd } from '../syscall/index.ts';
import type { BpfMap } from '../maps/map.ts';
import { MapType } from '../uapi/kernel.ts';
import { type MapSource, type RecordCallback, RingBufferError, log, openMap } from './common.ts';

/** What the handler's factory receives, in the worker. */
export interface WorkerContext {
  /** RingBufferWorkerOptions.data (structured-cloned). */
  readonly data: unknown;
  /** Send a value to the main thread (RingBufferWorkerOptions.onMessage). */
  post(value: unknown, transfer?: readonly Transferable[]): void;
}

/** A handler with a close hook: onClose runs after the last record, its result resolves close(). */
export interface WorkerHandler {
  onRecord: RecordCallback;
  onClose?: () => unknown;
}

/** The handler module's export: called once in the worker. */
export type WorkerHandlerFactory = (ctx: WorkerContext) => RecordCallback | WorkerHandler | Promise<RecordCallback | WorkerHandler>;

export interface RingBufferWorkerOptions {
  /** The handler's module: a file: URL or an absolute path (resolved in the worker). */
  module: string | URL;
  /** The export holding the factory. Default 'default'. */
  export?: string;
  /** Passed to the factory (must be structured-cloneable). */
  data?: unknown;
  /** Values the handler post()s. */
  onMessage?: (value: unknown) => void;
  /** An error in the worker after start (the handler threw, the map fd was closed): the worker has stopped. Default: rethrown asynchronously. */
  onError?: (err: unknown) => void;
  /**
   * The consumer thread's scheduling, set in the worker before it reports
   * ready (start() rejects if the kernel refuses). The thread competes for the
   * CPUs with the process's other threads, V8's compiler and GC helpers
   * among them; ahead of them, a wakeup no longer waits behind a compile job
   * (see docs/API.md). `{ nice: n }`: a nice value, -20 to 19; `{ fifo: p }`:
   * SCHED_FIFO at priority 1 to 99 (a handler that never returns then holds
   * its CPU). Below the process's own nice, or real-time, needs
   * CAP_SYS_NICE. Default: the thread keeps the process's scheduling.
   */
  priority?: ThreadPriority;
}

/** See RingBufferWorkerOptions.priority. */
export type ThreadPriority = { nice: number } | { fifo: number };

/** @internal what the worker gets (workerData). */
export interface WorkerInit {
  fd: number;
  wakeFd: number;
  module: string;
  exportName: string;
  data: unknown;
  priority: ThreadPriority | undefined;
}

/** @internal what the worker reports. */
export type WorkerReport =
  | { tsbpf: 'ready' }
  | { tsbpf: 'message'; value: unknown }
  | { tsbpf: 'closed'; result: unknown }
  | { tsbpf: 'error'; error: unknown };

/** The worker's script: src/ringbuf/worker_entry.ts from sources, ringbuf-worker.cjs next to the bundle in dist/. */
function workerScript(): { file: string; fromSource: boolean } {
  const here = ownFile(import.meta.url);
  if (here.endsWith('.ts')) return { file: join(dirname(here), 'worker_entry.ts'), fromSource: true };
  return { file: join(dirname(here), 'ringbuf-worker.cjs'), fromSource: false };
}

function startWorker(init: WorkerInit): Worker {
  // required here, not imported: node:worker_threads (and the node:stream it loads) cost every
  // import of the package ~1.5-2 ms, for a class few programs use
  const { Worker } = builtin<typeof import('node:worker_threads')>('node:worker_threads');
  const { file, fromSource } = workerScript();
  if (!fromSource) return new Worker(file, { workerData: init });
  // running from TypeScript sources (tsx, vitest): the worker needs tsx's loader to import them
  // (its ESM entry: the CommonJS one cannot register the ESM hooks from a worker)
  const pkg = createRequire(file).resolve('tsx/package.json');
  const exp = (JSON.parse(readFileSync(pkg, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api']!;
  const tsx = pathToFileURL(join(dirname(pkg), exp.import.default)).href;
  const code = `import(${JSON.stringify(tsx)}).then((t) => { (t.register ?? t.default.register)(); return import(${JSON.stringify(pathToFileURL(file).href)}); });`;
  return new Worker(code, { eval: true, workerData: init });
}

function checkPriority(p: ThreadPriority | undefined): ThreadPriority | undefined {
  if (p === undefined) return undefined;
  const keys = typeof p === 'object' && p !== null ? Object.keys(p) : [];
  const ok = (v: unknown, lo: number, hi: number): boolean => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
  if (keys.length === 1 && 'nice' in p && ok(p.nice, -20, 19)) return { nice: p.nice };
  if (keys.length === 1 && 'fifo' in p && ok(p.fifo, 1, 99)) return { fifo: p.fifo };
  throw new UsageError(`RingBufferWorker: priority must be { nice: -20..19 } or { fifo: 1..99 }, not ${JSON.stringify(p)}`);
}

function moduleUrl(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (m.startsWith('file:')) return m;
  if (isAbsolute(m)) return pathToFileURL(m).href;
  throw new UsageError(`RingBufferWorker: handler module "${m}" must be a file: URL or an absolute path (it is imported in the worker)`);
}

/**
 * A consumer of one BPF_MAP_TYPE_RINGBUF map on a worker thread. The map stays
 * owned by the caller and must stay open until close() has resolved.
 *
 *   const w = await RingBufferWorker.start(obj.map('events').map, { module: new URL('./handler.js', import.meta.url) });
 *   ...
 *   const summary = await w.close();
 */
export class RingBufferWorker {
  readonly #worker: Worker;
  readonly #wake: EventFd;
  /** Our duplicate of the map's fd, closed once the worker has exited. */
  readonly #map: BpfMap;
  readonly #exited: Promise<void>;
  #closing: Promise<unknown> | undefined;
  #result: { value: unknown } | undefined;
  #error: { error: unknown } | undefined;
  #onError: (err: unknown) => void;

  private constructor(worker: Worker, wake: EventFd, map: BpfMap, opts: RingBufferWorkerOptions) {
    this.#worker = worker;
    this.#wake = wake;
    this.#map = map;
    this.#onError =
      opts.onError ??
      ((err) => {
        queueMicrotask(() => {
          throw err;
        });
      });
    this.#exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  }

  /** Start the worker; resolves once it has mapped the ring and waits for records. */
  static async start(map: MapSource, opts: RingBufferWorkerOptions): Promise<RingBufferWorker> {
    // our own duplicate of the map's fd: the caller may close theirs while the worker reads
    const priority = checkPriority(opts.priority);
    const handlerModule = moduleUrl(opts.module);
    const own = openMap(map, MapType.BPF_MAP_TYPE_RINGBUF, 'BPF_MAP_TYPE_RINGBUF');
    const { fd, name } = own;
    let wake: EventFd | undefined;
    let worker: Worker;
    try {
      wake = new EventFd(`ringbuf ${name} worker`);
      worker = startWorker({ fd, wakeFd: wake.fd, module: handlerModule, exportName: opts.export ?? 'default', data: opts.data, priority });
    } catch (e) {
      wake?.close();
      own.close();
      throw e;
    }
    const self = new RingBufferWorker(worker, wake, own, opts);
    await new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: WorkerReport) => {
        switch (m.tsbpf) {
          case 'ready':
            ready = true;
            log('ringbuf %s: worker %d consuming fd %d', name, worker.threadId, fd);
            resolve();
            break;
          case 'message':
            opts.onMessage?.(m.value);
            break;
          case 'closed':
            self.#result = { value: m.result };
            break;
          case 'error':
            self.#error = { error: m.error };
            if (ready && self.#closing === undefined) self.#onError(m.error);
            else reject(m.error);
        }
      });
      worker.once('error', (err) => {
        self.#error ??= { error: err };
        if (ready) self.#onError(err);
        else reject(err);
      });
      worker.once('exit', (code) => {
        if (!ready) reject(self.#error?.error ?? new RingBufferError(`ringbuf ${name}: worker exited (code ${code}) before it was ready`));
      });
    }).catch(async (e: unknown) => {
      await worker.terminate();
      wake.close();
      own.close();
      throw e;
    });
    return self;
  }

  /** The worker's thread id. */
  get threadId(): number {
    return this.#worker.threadId;
  }

  /** Let the process exit while the worker runs. */
  unref(): void {
    this.#worker.unref();
  }

  /**
   * Stop: the worker drains every record committed so far, unmaps and exits.
   * Resolves with the handler's onClose result; rejects with the error that
   * stopped the worker, if one did. Idempotent.
   */
  close(): Promise<unknown> {
    this.#closing ??= (async () => {
      this.#wake.signal();
      await this.#exited;
      this.#wake.close();
      this.#map.close();
      if (this.#error !== undefined) throw this.#error.error;
      return this.#result?.value;
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
