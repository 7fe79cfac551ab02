import createDebug from 'debug';
import { libcClose, libcCloseAsync } from './libc.ts';
import { TsbpfError, UsageError } from '../errors.ts';
import { DISPOSE } from '../util/dispose.ts';

const log = createDebug('tsbpf:fd');

// Safety net only: an FD that becomes unreachable without close() is closed
// by the garbage collector, and the leak is logged. Correct code never relies
// on it.
const leaked = new FinalizationRegistry<{ fd: number; what: string }>(({ fd, what }) => {
  log('closing leaked fd %d (%s) from the finalizer', fd, what);
  libcClose(fd);
});

/** Number of FDs this process currently holds open through tsbpf (for tests and debugging). */
let openCount = 0;
export const openFdCount = (): number => openCount;

/**
 * An owned file descriptor: closed exactly once, by `close()` or, as a last
 * resort, by the finalizer.
 */
export class FD {
  #fd: number;
  readonly what: string;

  constructor(fd: number, what: string) {
    if (!Number.isInteger(fd) || fd < 0) throw new UsageError(`invalid file descriptor ${fd} for ${what}`);
    this.#fd = fd;
    this.what = what;
    openCount++;
    leaked.register(this, { fd, what }, this);
  }

  /** The raw descriptor number. Throws once closed, so a stale number is never reused by mistake. */
  get value(): number {
    if (this.#fd < 0) throw new UsageError(`file descriptor of ${this.what} used after close`);
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    openCount--;
    leaked.unregister(this);
    libcClose(fd);
    log('closed fd %d (%s)', fd, this.what);
  }

  /** close(), for `using` (explicit resource management). */
  [DISPOSE](): void {
    this.close();
  }

  /**
   * close(2) on the libuv threadpool. The FD counts as closed at once (its
   * number is no longer usable); the promise settles when the kernel has
   * finished releasing the file, which for tracepoint and kprobe links means
   * after one or more RCU grace periods.
   */
  closeAsync(): Promise<void> {
    const fd = this.#fd;
    if (fd < 0) return Promise.resolve();
    this.#fd = -1;
    openCount--;
    leaked.unregister(this);
    return new Promise((resolve, reject) => {
      libcCloseAsync.async(fd, (err) => {
        if (err) reject(err instanceof Error ? err : new TsbpfError(String(err)));
        else {
          log('closed fd %d (%s) on the threadpool', fd, this.what);
          resolve();
        }
      });
    });
  }

  toString(): string {
    return `FD(${this.#fd}, ${this.what})`;
  }
}
