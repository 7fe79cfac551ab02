// The waiting half shared by RingBuffer and PerfBuffer: blocking poll(2),
// the event-driven mode on libuv (never blocks the event loop) and the async
// iterator. Subclasses supply the fds and the drain.
import { PollSet, POLLIN, type PollHandle, type RecordCallback, copyRecord, log, watchFd } from './common.ts';

export interface StartOptions {
  /** Called with whatever the record callback (or the drain) throws. Default: stop and rethrow asynchronously. */
  onError?: (err: unknown) => void;
}

export abstract class EventSource {
  readonly #pollSet = new PollSet();
  #watchers: PollHandle[] = [];
  #waiters: (() => void)[] = [];
  #iterWatchers: PollHandle[] | null = null;
  protected closedFlag = false;

  /** The fds to wait on, in ring order. */
  protected abstract fds(): number[];
  /** Drain every ring (all when `ready` is undefined, else those whose flag is set). */
  protected abstract drainAll(cb: RecordCallback | undefined, ready?: (i: number) => boolean): number;

  protected fdsChanged(): void {
    this.#pollSet.set(this.fds(), POLLIN);
    if (this.#watchers.length > 0) {
      // re-arm the event-driven mode over the new set
      const cb = this.#eventCb;
      const opts = this.#eventOpts;
      this.stop();
      this.start(cb, opts);
    }
  }

  protected assertOpen(): void {
    if (this.closedFlag) throw new Error(`${this.constructor.name} used after close`);
  }

  /**
   * Wait up to `timeoutMs` (-1 forever, 0 = just check) for data, then drain
   * the rings that have some. Blocks the calling thread while waiting.
   * Returns the number of records delivered.
   */
  poll(timeoutMs: number, cb?: RecordCallback): number {
    this.assertOpen();
    const ready = this.#pollSet.wait(timeoutMs);
    if (ready === 0) return 0;
    const ps = this.#pollSet;
    return this.drainAll(cb, (i) => ps.revents(i) !== 0);
  }

  #eventCb: RecordCallback | undefined;
  #eventOpts: StartOptions = {};

  /**
   * Event-driven mode: each ring fd is watched by libuv on the main loop and
   * drained when it becomes readable. Never blocks the event loop; the
   * process stays alive while started (see `unref`).
   */
  start(cb?: RecordCallback, opts: StartOptions = {}): this {
    this.assertOpen();
    if (this.#watchers.length > 0) return this;
    this.#eventCb = cb;
    this.#eventOpts = opts;
    const onError =
      opts.onError ??
      ((err: unknown) => {
        this.stop();
        queueMicrotask(() => {
          throw err;
        });
      });
    this.fds().forEach((fd, i) => {
      this.#watchers.push(
        watchFd(fd, false, () => {
          if (this.closedFlag) return;
          try {
            this.drainAll(cb, (j) => j === i);
          } catch (err) {
            onError(err);
          }
        }),
      );
    });
    log('%s: event-driven mode on fds %o', this.constructor.name, this.fds());
    // libuv adds the fds to its epoll set on the next loop turn. A perf
    // event's readiness is edge-like (perf_poll consumes the pending wakeup),
    // so records written before then may not be reported: drain once when
    // the loop gets there, after the registration.
    const watchers = this.#watchers;
    setImmediate(() => {
      if (this.closedFlag || this.#watchers !== watchers || watchers.length === 0) return;
      try {
        this.drainAll(cb);
      } catch (err) {
        onError(err);
      }
    });
    return this;
  }

  /** Leave the event-driven mode. */
  stop(): void {
    if (this.#watchers.length === 0) return;
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
  }

  /** Let the process exit while in event-driven mode. */
  unref(): void {
    for (const w of this.#watchers) w.unref();
  }

  /**
   * Records as owned copies, waiting on the event loop when the rings are
   * empty. Ends when the consumer is closed. Copying is the price of a
   * record that outlives the drain; use consume()/start() for zero-copy.
   */
  async *records(): AsyncGenerator<Uint8Array, void, undefined> {
    const pending: Uint8Array[] = [];
    const take: RecordCallback = (view, offset, size) => {
      pending.push(copyRecord(view, offset, size));
    };
    try {
      while (!this.closedFlag) {
        this.drainAll(take);
        if (pending.length > 0) {
          for (const rec of pending.splice(0)) yield rec;
          continue;
        }
        await this.#readable();
      }
    } finally {
      this.#closeIterWatchers();
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    return this.records();
  }

  /** Resolves when any fd is readable (or the consumer closes). */
  #readable(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#waiters.push(resolve);
      const wake = (): void => {
        // level-triggered: stop watching until the next wait, or libuv calls us every loop turn
        for (const w of this.#iterWatchers ?? []) w.stop();
        for (const r of this.#waiters.splice(0)) r();
      };
      if (this.#iterWatchers === null) {
        this.#iterWatchers = this.fds().map((fd) => watchFd(fd, false, wake));
      } else {
        for (const w of this.#iterWatchers) (w as unknown as { start(o: object, cb: () => void): void }).start({ readable: true }, wake);
      }
    });
  }

  #closeIterWatchers(): void {
    for (const w of this.#iterWatchers ?? []) w.close();
    this.#iterWatchers = null;
  }

  /** Stop watching and wake pending iterators (they end). */
  protected closeWaiting(): void {
    this.stop();
    this.#closeIterWatchers();
    for (const r of this.#waiters.splice(0)) r();
  }
}
