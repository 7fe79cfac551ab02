// Memory mappings shared with the kernel (ring buffers, perf rings, mmapable
// array maps). A mapping is an owned object like an FD: unmapped exactly once.
//
// Hazard: touching an ArrayBuffer view of unmapped memory kills the process
// with SIGSEGV, and Node 20 cannot detach such a view. So `close()` does not
// leave a hole: it maps anonymous zero pages over the same range (MAP_FIXED),
// and stale views read zeros instead of crashing. Those pages are then owned
// by the process until exit, a few pages per closed ring, by design.
import createDebug from 'debug';
import { SyscallError } from './errors.ts';
import { errno, libcMmap, libcMunmap, viewOf } from './libc.ts';
import { UsageError } from '../errors.ts';
import { DISPOSE } from '../util/dispose.ts';

const log = createDebug('tsbpf:mmap');

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;

export const PAGE_SIZE = 4096;

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
    if (this.#buffer === null) return;
    this.#buffer = null;
    const got = libcMmap(this.#addr, this.length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (got === -1 || got === -1n) {
      // Could not overmap: keep the kernel mapping alive rather than risk a SIGSEGV.
      log('overmap of %s failed (errno %d); leaving it mapped', this.what, errno());
      return;
    }
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
