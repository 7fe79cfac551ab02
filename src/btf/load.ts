// BPF_BTF_LOAD: hand a BTF blob to the kernel and get an fd back. Like program
// loading, the first attempt has no log; a failure is retried with one so the
// error can quote the kernel's reason.
import { createLog } from '../util/log.ts';
import { BPF_F_TOKEN_FD } from '../uapi/kernel.ts';
import { BtfLoadAttr, ENOSPC, FD, btfLoadRaw, errnoDescription, errnoName } from '../syscall/index.ts';
import { BtfError } from './errors.ts';

const log = createLog('tsbpf:btf');

/** The kernel refused a BTF blob; `log` is its BTF verifier log. */
export class BtfLoadError extends BtfError {
  override readonly errno: number;
  override readonly code: string;
  readonly log: string;
  constructor(what: string, errno: number, kernelLog: string) {
    const tail = kernelLog.trim().split('\n').slice(-3).join('\n  ');
    super(`loading BTF of ${what} into the kernel: ${errnoName(errno)} (${errnoDescription(errno)})${tail ? `\n  ${tail}` : ''}`);
    this.errno = errno;
    this.code = errnoName(errno);
    this.log = kernelLog;
  }
}

/** Load raw BTF bytes; returns the BTF object's fd. `tokenFd`: a BPF token (6.9+) that permits it. */
export function loadBtfIntoKernel(bytes: Uint8Array, what: string, logSizeMax = 16 * 1024 * 1024, tokenFd?: number): FD {
  const attr = BtfLoadAttr.create({ btf: bytes, btf_size: bytes.length });
  if (tokenFd !== undefined) attr.assign({ btf_token_fd: tokenFd, btf_flags: BPF_F_TOKEN_FD });
  let r = btfLoadRaw(attr);
  let logBuf: Buffer | null = null;
  if (r.ret < 0) {
    logBuf = Buffer.alloc(64 * 1024);
    attr.assign({ btf_log_buf: logBuf, btf_log_size: logBuf.length, btf_log_level: 1 });
    r = btfLoadRaw(attr);
    while (r.ret < 0 && r.errno === ENOSPC && logBuf.length < logSizeMax) {
      const want = attr.get('btf_log_true_size');
      logBuf = Buffer.alloc(Math.min(logSizeMax, want > logBuf.length ? want : logBuf.length * 4));
      attr.assign({ btf_log_buf: logBuf, btf_log_size: logBuf.length });
      r = btfLoadRaw(attr);
    }
  }
  if (r.ret < 0) {
    const text = logBuf ? logBuf.subarray(0, Math.max(0, logBuf.indexOf(0))).toString('utf8') : '';
    throw new BtfLoadError(what, r.errno, text);
  }
  log('loaded BTF of %s (%d bytes) as fd %d', what, bytes.length, r.ret);
  void bytes;
  return new FD(r.ret, `BTF of ${what}`);
}
