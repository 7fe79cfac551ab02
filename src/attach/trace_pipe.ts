// The trace pipe: what bpf_printk (bpf_trace_printk) writes lands in the
// kernel's trace ring and is read, and consumed, from tracefs's trace_pipe.
// Reading is non-blocking: the fd is opened O_NONBLOCK and watched by libuv
// on the main loop (no thread, no blocking read), so close() stops it at once.
//
// A line looks like (the flags column depends on the trace options):
//   "            node-4242    [001] d..31  5301.236120: bpf_trace_printk: BPF triggered from PID 4242."
// The pipe is one per system and reading consumes: two readers share the
// lines between them.
import createDebug from 'debug';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.ts';
import { watchFd, type PollHandle } from '../ringbuf/common.ts';
import { AttachError } from './errors.ts';
import { tracefsPath, type TracefsOptions } from './tracefs.ts';

const log = createDebug('tsbpf:attach');

/** One parsed line of the trace pipe. */
export interface TraceLine {
  /** The task's comm ("<...>" when the kernel no longer had it). */
  task: string;
  pid: number;
  cpu: number;
  /** Seconds since boot, as the line prints it. */
  timestamp: number;
  /** The event ("bpf_trace_printk" for bpf_printk). */
  event: string;
  /** What was printed (without the trailing newline). */
  message: string;
  /** The whole line. */
  raw: string;
}

export interface TracePipeOptions extends TracefsOptions {
  /** Keep only lines of these process ids (the pid column: the thread id of the writer). */
  pid?: number | readonly number[];
  /** Keep only lines whose task (comm) is this. */
  comm?: string;
}

const LINE = /^\s*(.*)-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(\d+)\]\s+(?:\S+\s+)?(\d+\.\d+):\s+([^:\s]+):\s?(.*)$/;

/** Parse one trace_pipe line; undefined for a line of another shape (e.g. "CPU:1 [LOST 3 EVENTS]"). */
export function parseTraceLine(raw: string): TraceLine | undefined {
  const m = LINE.exec(raw);
  if (!m) return undefined;
  return { task: m[1]!.trim(), pid: Number(m[2]), cpu: Number(m[3]), timestamp: Number(m[4]), event: m[5]!, message: m[6]!, raw };
}

const READ_CHUNK = 64 * 1024;
/** A line longer than this without a newline is cut (the kernel's own lines are far shorter). */
const MAX_LINE = 64 * 1024;
/** How often the pipe is read besides the kernel's (rare) wakeups. */
const POLL_INTERVAL_MS = 50;
/** Lines kept while nobody iterates. */
const MAX_QUEUED = 10_000;

/**
 * A reader of tracefs's trace_pipe. Use it as an async iterator
 * (`for await (const line of pipe)`) or with `onLine(cb)`; close() stops
 * either and releases the fd.
 */
export class TracePipe implements AsyncIterable<TraceLine> {
  readonly path: string;
  #fd: number;
  #watcher: PollHandle | undefined;
  #timer: NodeJS.Timeout | undefined;
  #partial = '';
  readonly #buf = Buffer.alloc(READ_CHUNK);
  readonly #queue: TraceLine[] = [];
  #waiters: ((r: IteratorResult<TraceLine>) => void)[] = [];
  #listener: ((line: TraceLine) => void) | undefined;
  #closed = false;
  readonly #pids: Set<number> | undefined;
  readonly #comm: string | undefined;

  private constructor(path: string, fd: number, opts: TracePipeOptions) {
    this.path = path;
    this.#fd = fd;
    this.#pids = opts.pid === undefined ? undefined : new Set(typeof opts.pid === 'number' ? [opts.pid] : opts.pid);
    this.#comm = opts.comm;
  }

  /**
   * Open trace_pipe (finding tracefs, or mounting it with `mount: true`).
   * Throws an AttachError naming what is missing.
   */
  static open(opts: TracePipeOptions = {}): TracePipe {
    const path = join(tracefsPath(opts), 'trace_pipe');
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new AttachError('', 'the trace pipe', `cannot open ${path}: ${code ?? (err as Error).message}${code === 'EACCES' ? ' (reading it needs root)' : ''}`, { cause: err });
    }
    log('trace pipe %s open (fd %d)', path, fd);
    return new TracePipe(path, fd, opts);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Deliver every line (after the filters) to `cb`, from the event loop, until close(). */
  onLine(cb: (line: TraceLine) => void): this {
    if (this.#closed) throw new UsageError('TracePipe.onLine() after close()');
    if (this.#listener) throw new UsageError('TracePipe.onLine(): a listener is already set');
    this.#listener = cb;
    for (const l of this.#queue.splice(0)) cb(l);
    this.#watch();
    return this;
  }

  [Symbol.asyncIterator](): AsyncIterator<TraceLine> {
    if (this.#listener) throw new UsageError('TracePipe: iterate or use onLine(), not both');
    this.#watch();
    return {
      next: () => {
        const l = this.#queue.shift();
        if (l) return Promise.resolve({ value: l, done: false });
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#waiters.push(resolve));
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /** Stop reading and close the fd. Pending iterations end. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    clearInterval(this.#timer);
    closeSync(this.#fd);
    this.#fd = -1;
    for (const w of this.#waiters.splice(0)) w({ value: undefined, done: true });
    log('trace pipe closed');
  }

  #watch(): void {
    if (this.#watcher || this.#closed) return;
    this.#watcher = watchFd(this.#fd, false, () => this.#drain());
    // The kernel wakes a trace_pipe poller only once the trace buffer is buffer_percent
    // (default 50%) full: a few printk lines would wait for minutes. A timer drains meanwhile.
    this.#timer = setInterval(() => this.#drain(), POLL_INTERVAL_MS).unref();
  }

  /** Read what is there (never blocks: the fd is non-blocking) and dispatch whole lines. */
  #drain(): void {
    while (!this.#closed) {
      let n: number;
      try {
        n = readSync(this.#fd, this.#buf, 0, READ_CHUNK, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR') return;
        throw new AttachError('', 'the trace pipe', `reading ${this.path}: ${code ?? (err as Error).message}`, { cause: err });
      }
      if (n <= 0) return;
      const text = this.#partial + this.#buf.toString('utf8', 0, n);
      const lines = text.split('\n');
      this.#partial = lines.pop()!;
      if (this.#partial.length > MAX_LINE) this.#partial = '';
      for (const raw of lines) this.#dispatch(raw);
    }
  }

  #dispatch(raw: string): void {
    const line = parseTraceLine(raw);
    if (!line) return;
    if (this.#pids && !this.#pids.has(line.pid)) return;
    if (this.#comm !== undefined && line.task !== this.#comm) return;
    if (this.#listener) return this.#listener(line);
    const w = this.#waiters.shift();
    if (w) w({ value: line, done: false });
    else {
      // nobody is reading: keep the newest lines only
      if (this.#queue.length >= MAX_QUEUED) this.#queue.shift();
      this.#queue.push(line);
    }
  }

  /** Stop the watcher from keeping the process alive. */
  unref(): this {
    this.#watch();
    this.#watcher?.unref();
    return this;
  }
}
