// Memory mappings shared with the kernel (ring buffers, perf rings, mmapable
// array maps). A mapping is an owned object like an FD: unmapped exactly once.
//
// Hazard: touching an ArrayBuffer view of unmapped memory kills the process
// with SIGSEGV, and Node 20 cannot detach such a view. So `close()` does not
// leave a hole: it maps anonymous zero pages over the same range (MAP_FIXED),
// and stale views read zeros instead of crashing. Those pages stay mapped
// while a view of them may still be read: once the garbage collector has
// collected the mapping's ArrayBuffer (so no view of it is left anywhere),
// they are unmapped for good, and the address range returns to the process.
import { createLog } from '../util/log.ts';
import { SyscallError } from './errors.ts';
import { errno, libcMmap, libcMunmap, viewOf } from './libc.ts';
import { UsageError } from '../errors.ts';
import { DISPOSE } from '../util/dispose.ts';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_NORESERVE, MAP_PRIVATE, MAP_SHARED, PROT_NONE, PROT_READ, PROT_WRITE } from '../uapi/defines.ts';
import { PAGE_SIZE } from '../uapi/arch.ts';

const log = createLog('tsbpf:mmap');

/** The zero pages left by close(), unmapped once their ArrayBuffer (and so every view of it) is collected. */
const zeroPages = new FinalizationRegistry<{ addr: number | bigint; length: number; what: string }>(({ addr, length, what }) => {
  libcMunmap(addr, length);
  log('unmapped the zero pages of %s (its last view was collected)', what);
});

export { PROT_NONE, PROT_READ, PROT_WRITE, MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS, MAP_NORESERVE, PAGE_SIZE };

export class Mapping {
  #addr: number | bigint;
  #buffer: ArrayBuffer | null;
  readonly length: number;
  readonly what: string;
  readonly writable: boolean;

  private constructor(addr: number | bigint, length: number, what: string, writable: boolean) {
    this.#addr = addr;
    this.length = length;
    this.what = what;
    this.writable = writable;
    this.#buffer = viewOf(addr, length);
  }

  /** mmap(NULL, length, prot, flags, fd, offset) */
  static map(fd: number, length: number, prot: number, flags: number, offset: number, what: string): Mapping {
    const addr = libcMmap(0, length, prot, flags, fd, offset);
    if (addr === -1 || addr === -1n) throw new SyscallError('mmap', errno(), `mapping ${what} (${length} bytes at offset ${offset})`);
    log('mmap %s: %d bytes at 0x%s', what, length, addr.toString(16));
    return new Mapping(addr, length, what, (prot & PROT_WRITE) !== 0);
  }

  get address(): number | bigint {
    return this.#addr;
  }

  get closed(): boolean {
    return this.#buffer === null;
  }

  /** The mapped bytes, shared with the kernel (no copy). */
  get buffer(): ArrayBuffer {
    if (this.#buffer === null) throw new UsageError(`${this.what}: mapping used after close`);
    return this.#buffer;
  }

  /**
   * Release the kernel mapping. Stale views keep reading: the range is
   * replaced by private zero pages rather than left unmapped.
   */
  close(): void {
    const buffer = this.#buffer;
    if (buffer === null) return;
    this.#buffer = null;
    const got = libcMmap(this.#addr, this.length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (got === -1 || got === -1n) {
      // Could not overmap: keep the kernel mapping alive rather than risk a SIGSEGV.
      log('overmap of %s failed (errno %d); leaving it mapped', this.what, errno());
      return;
    }
    zeroPages.register(buffer, { addr: this.#addr, length: this.length, what: this.what });
    log('unmapped %s (overmapped with zero pages)', this.what);
  }

  /** close(), for `using` (explicit resource management). */
  [DISPOSE](): void {
    this.close();
  }

  /** A true munmap, for mappings no view was ever handed out for. */
  unmap(): void {
    if (this.#buffer === null) return;
    this.#buffer = null;
    libcMunmap(this.#addr, this.length);
  }
}
