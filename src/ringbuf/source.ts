// The waiting half shared by RingBuffer and PerfBuffer: blocking poll(2),
// the event-driven mode on libuv (never blocks the event loop) and the async
// iterator. Subclasses supply the fds and the drain.
//
// Readiness, and why a perf buffer needs one drain after registration.
// A BPF ring buffer's poll is level-triggered and side-effect free
// (ringbuf_map_poll_kern: readable while producer_pos != consumer_pos). A
// perf event's is not: perf_poll() returns the pending wakeup and clears it
// (atomic_xchg(&rb->poll, 0)), so every poll of the fd consumes readiness.
// Two things poll a freshly watched fd before our callback can be told:
//   1. uv_poll_init() probes the fd with epoll_ctl(ADD) + epoll_ctl(DEL)
//      (uv__io_check_fd): a wakeup pending at start() is eaten there;
//   2. libuv adds the fd to its epoll set only at the beginning of its next
//      poll phase, and epoll polls a new item twice: once in ep_insert (to
//      queue it as ready) and again in ep_send_events (to fetch revents),
//      which now reads 0 and skips it.
// So a record written before the registration takes effect raises no
// callback: it waits in the ring for the NEXT wakeup (a later record), which
// may never come. Wakeups after the registration arrive through the wait
// queue (ep_poll_callback, no poll) and are reported normally. The fix is to
// drain once after the registration is in place: every record written
// before it is then in the ring, and every one after it wakes us.
// `afterRegistration` finds that point from libuv's loop order (timers,
// pending, idle/prepare, poll, check, close): an immediate queued now may run
// in the check phase of the current iteration, before the next poll phase
// when we are called from an I/O callback; an immediate queued from it runs
// in the check phase of the following iteration, after a poll phase, so
// after the epoll_ctl(ADD). (A plain setImmediate, as before, missed records
// produced between that first check phase and the next poll phase.)
//
// Overload. A drain under a producer that outruns it never catches up, so the
// event-driven drains run under a budget (common.ts, DrainBudget): when it
// runs out, the drain returns with records left and a continuation is queued
// with setImmediate; timers and I/O run in between. While a continuation is
// queued, wakeups of that ring do nothing (the ring fd stays readable and
// libuv reports it on every turn): exactly one drain per ring per turn.
import { UsageError } from '../errors.ts';
import { DEFAULT_BUDGET, type DrainBudget, PollSet, POLLIN, type PollHandle, type RecordCallback, UNBOUNDED, copyRecord, log, watchFd } from './common.ts';
import { DISPOSE } from '../util/dispose.ts';

export interface StartOptions {
  /** Called with whatever the record callback (or the drain) throws. Default: stop and rethrow asynchronously. */
  onError?: (err: unknown) => void;
  /**
   * The most one drain may do before it yields to the event loop (default
   * DEFAULT_BUDGET, 10 ms). `false` drains until caught up, however long that
   * takes: under overload the event loop then stalls for as long as it lasts.
   */
  budget?: DrainBudget | false;
}

export abstract class EventSource {
  readonly #pollSet = new PollSet();
  #watchers: PollHandle[] = [];
  #waiters: (() => void)[] = [];
  #iterWatchers: PollHandle[] | null = null;
  #unref = false;
  protected closedFlag: boolean;
  /** Set by drainAll(): its budget ran out before it caught up. */
  protected exhausted = false;

  constructor() {
    this.closedFlag = true; // written twice: see Ring's constructor (ringbuf.ts)
    this.closedFlag = false;
  }

  /** The fds to wait on, in ring order. */
  protected abstract fds(): number[];
  /**
   * Drain every ring (all when `ready` is undefined, else those whose flag is
   * set) under `budget`, setting `exhausted` when it ran out first.
   */
  protected abstract drainAll(cb: RecordCallback | undefined, ready?: (i: number) => boolean, budget?: DrainBudget): number;
  /** True when some ring holds unread bytes (a cheap check of the positions; no syscall, no side effect). */
  protected abstract hasData(): boolean;

  /** Stop, and release what this consumer owns. Idempotent. */
  abstract close(): void;

  /** close(), for `using` (explicit resource management). */
  [DISPOSE](): void {
    this.close();
  }
  /**
   * A function draining ring `i` alone with `cb` (or the ring's own callbacks) under
   * `budget`, for the event-driven watcher of that ring; it returns true when the budget
   * ran out (records may remain). It must do nothing once the source is closed.
   */
  protected drainOneFn(i: number, cb: RecordCallback | undefined, budget: DrainBudget): () => boolean {
    const ready = (j: number): boolean => j === i;
    return () => {
      if (this.closedFlag) return false;
      this.drainAll(cb, ready, budget);
      return this.exhausted;
    };
  }
  /** True when polling the fds consumes their readiness (perf events): see the header. */
  protected get pollConsumesReadiness(): boolean {
    return false;
  }

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
    if (this.closedFlag) throw new UsageError(`${this.constructor.name} used after close(): create a new one`);
  }

  /**
   * Wait up to `timeoutMs` (-1 forever, 0 = just check) for data, then drain
   * the rings that have some (under `budget`, unbounded by default: see
   * consume()). Blocks the calling thread while waiting. Returns the number
   * of records delivered.
   */
  poll(timeoutMs: number, cb?: RecordCallback, budget: DrainBudget = UNBOUNDED): number {
    this.assertOpen();
    if (!Number.isInteger(timeoutMs) || timeoutMs < -1) throw new UsageError(`${this.constructor.name}.poll(): timeout ${timeoutMs} is not -1 (forever) or a number of milliseconds`);
    const ready = this.#pollSet.wait(timeoutMs);
    if (ready === 0) return 0;
    const ps = this.#pollSet;
    return this.drainAll(cb, (i) => ps.revents(i) !== 0, budget);
  }

  #eventCb: RecordCallback | undefined;
  #eventOpts: StartOptions = {};

  /**
   * Event-driven mode: each ring fd is watched by libuv on the main loop and
   * drained when it becomes readable. Never blocks the event loop; the
   * process stays alive while started (see `unref`).
   *
   * What a wakeup costs (Linux 6.18, Node 20, measured with tracepoints on
   * our own thread): from the return of libuv's epoll_wait to the record
   * callback ~14 us after a sleep (libuv, koffi's poll handle, the call into
   * V8, all with cold caches; 2.5 us when hot), where `poll()` takes ~5 us
   * from its syscall's return. Choose `poll()` on a thread of its own when
   * wakeup latency matters more than a free event loop.
   */
  start(cb?: RecordCallback, opts: StartOptions = {}): this {
    this.assertOpen();
    if (this.#watchers.length > 0) return this;
    // libuv allows one poll handle per fd: a second one on the same fd aborts the process
    if (this.#iterWatchers !== null) throw new UsageError(`${this.constructor.name}.start() while an async iterator is reading it: use one or the other`);
    this.#eventCb = cb;
    this.#eventOpts = opts;
    const budget = opts.budget === false ? UNBOUNDED : (opts.budget ?? DEFAULT_BUDGET);
    const onError =
      opts.onError ??
      ((err: unknown) => {
        this.stop();
        queueMicrotask(() => {
          throw err;
        });
      });
    const watchers: PollHandle[] = [];
    this.#watchers = watchers;
    this.fds().forEach((fd, i) => {
      // the wakeup path (libuv -> koffi -> here) runs once per wakeup: one closure, the ring's
      // own drain bound in advance, nothing looked up or allocated per call
      const drain = this.drainOneFn(i, cb, budget);
      let queued = false;
      const run = (): void => {
        queued = false;
        if (this.#watchers !== watchers) return; // stopped (or restarted) since
        try {
          if (drain()) {
            // budget spent, records left: continue after the loop has had its turn
            queued = true;
            const next = setImmediate(run);
            if (this.#unref) next.unref();
          }
        } catch (err) {
          onError(err);
        }
      };
      watchers.push(
        watchFd(fd, false, () => {
          if (!queued) run();
        }),
      );
    });
    if (this.#unref) for (const w of watchers) w.unref();
    log('%s: event-driven mode on fds %o', this.constructor.name, this.fds());
    if (this.pollConsumesReadiness) {
      // wakeups before the registration are lost (see the header): drain once it is in place
      afterRegistration(() => {
        if (this.closedFlag || this.#watchers !== watchers || !this.hasData()) return;
        try {
          this.drainAll(cb, undefined, budget);
          // what the budget left is drained by the watchers' next wakeups or by the loop below
          if (this.exhausted) afterRegistration(() => this.#drainRest(watchers, cb, budget, onError));
        } catch (err) {
          onError(err);
        }
      });
    }
    return this;
  }

  /** The perf buffer's first drain ran out of budget: go on, a turn at a time, until caught up. */
  #drainRest(watchers: PollHandle[], cb: RecordCallback | undefined, budget: DrainBudget, onError: (err: unknown) => void): void {
    if (this.closedFlag || this.#watchers !== watchers) return;
    try {
      this.drainAll(cb, undefined, budget);
      if (this.exhausted) {
        const next = setImmediate(() => this.#drainRest(watchers, cb, budget, onError));
        if (this.#unref) next.unref();
      }
    } catch (err) {
      onError(err);
    }
  }

  /** Leave the event-driven mode. */
  stop(): void {
    if (this.#watchers.length === 0) return;
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
  }

  /** Let the process exit while in event-driven mode. */
  unref(): void {
    this.#unref = true;
    for (const w of this.#watchers) w.unref();
  }

  /**
   * Records as owned copies, waiting on the event loop when the rings are
   * empty. Ends when the consumer is closed. Copying is the price of a
   * record that outlives the drain; use consume()/start() for zero-copy.
   */
  async *records(budget: DrainBudget = DEFAULT_BUDGET): AsyncGenerator<Uint8Array, void, undefined> {
    const pending: Uint8Array[] = [];
    const take: RecordCallback = (view, offset, size) => {
      pending.push(copyRecord(view, offset, size));
    };
    try {
      while (!this.closedFlag) {
        this.drainAll(take, undefined, budget);
        const more = this.exhausted;
        if (pending.length > 0) for (const rec of pending.splice(0)) yield rec;
        // yielding only runs microtasks: under overload, give the event loop its turn
        if (more) await new Promise<void>((resolve) => setImmediate(resolve));
        else if (pending.length === 0 && !this.closedFlag && !this.hasData()) await this.#readable();
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
        if (this.#watchers.length > 0) {
          this.#waiters.splice(this.#waiters.indexOf(resolve), 1);
          throw new UsageError(`${this.constructor.name}: async iteration while start() is draining it: stop() first, or use one or the other`);
        }
        this.#iterWatchers = this.fds().map((fd) => watchFd(fd, false, wake));
      } else {
        for (const w of this.#iterWatchers) w.start({ readable: true }, wake);
      }
      if (this.pollConsumesReadiness) {
        // (re)arming registers the fds anew: a record written since the last drain raised a
        // wakeup that the registration ate (see the header); look once it is in place
        const waiters = this.#waiters;
        afterRegistration(() => {
          if (waiters.includes(resolve) && this.hasData()) wake();
        });
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

/** Run `fn` after libuv has added the fds watched now to its epoll set (see the header). */
function afterRegistration(fn: () => void): void {
  setImmediate(() => setImmediate(fn));
}
