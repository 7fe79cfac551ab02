// An eventfd (eventfd(2)): the doorbell of a thread blocked in poll(2). Any
// thread of the process may ring it (fds are process-wide); the blocked
// poll returns with the eventfd readable and stays readable until read.
import { SyscallError } from './errors.ts';
import { errno, libcClose, libcEventfd, libcRead, libcWrite } from './libc.ts';
import { EFD_CLOEXEC, EFD_NONBLOCK } from '../uapi/defines.ts';

export class EventFd {
  readonly fd: number;
  #closed = false;
  readonly #one = new Uint8Array(new BigUint64Array([1n]).buffer);

  constructor(what: string) {
    const fd = libcEventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) throw new SyscallError('eventfd', errno(), `creating the eventfd of ${what}`);
    this.fd = fd;
  }

  /** Add 1 to the counter: a poll(2) waiting on the fd returns. */
  signal(): void {
    if (this.#closed) return;
    if (libcWrite(this.fd, this.#one, 8) !== 8) throw new SyscallError('write', errno(), `signalling eventfd ${this.fd}`);
  }

  /** Read and reset the counter (0 when nothing was signalled). */
  take(): bigint {
    const buf = new Uint8Array(8);
    return libcRead(this.fd, buf, 8) === 8 ? new BigUint64Array(buf.buffer)[0]! : 0n;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libcClose(this.fd);
  }
}
