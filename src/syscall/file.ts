// Reading a whole file with raw read(2) calls, for files that the kernel hands
// out in small pieces.
//
// Why not fs.readFileSync? sysfs binary files such as /sys/kernel/btf/vmlinux
// (5.5 MB) return at most one page per read(), so reading one takes ~1,350
// read() calls, and in a fresh process most of the cost above the kernel's is
// per-call JS: fs.readSync's argument checks (~2 µs a call), or, with koffi, a
// new Uint8Array view per call for the destination. Passing the destination as
// a plain address (the buffer's address + bytes read so far) makes each call
// one koffi call with three numbers.
//
// The other half of the cost is the kernel's: a fresh 5.5 MB buffer takes one
// page fault per 4 KiB page as read() first writes it (~2 µs each in the VMs
// this runs in). madvise(MADV_POPULATE_WRITE) maps all of those pages in one
// call, in about 60% of the time.
//
// Measured in fresh processes, one session, /sys/kernel/btf/vmlinux (wall,
// q1 of 21): readFileSync 7.9 ms; this 4.6 ms (about 1.2 ms more without the
// madvise); C's fopen + fread into a malloc'd buffer 5.2 ms.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { EINTR, SyscallError } from './errors.ts';
import { addressOf, errno, libcMadvise as madvise, libcReadAt as readAt } from './libc.ts';
import { MAP_PRIVATE, Mapping, PROT_READ } from './mem.ts';
import { MADV_POPULATE_WRITE } from '../uapi/defines.ts';
import { PAGE_SIZE } from '../uapi/arch.ts';

// MADV_POPULATE_WRITE prefaults pages writable (Linux 5.14); older kernels answer EINVAL and the pages fault in as usual.
/** Below this, per-page faults cost too little to be worth a syscall. */
const POPULATE_MIN_BYTES = 1 << 20;

/** Map in the whole pages of [addr, addr + len) now rather than one fault at a time. A hint: failures are ignored. */
function prefault(addr: number, len: number): void {
  const start = Math.ceil(addr / PAGE_SIZE) * PAGE_SIZE;
  const end = Math.floor((addr + len) / PAGE_SIZE) * PAGE_SIZE;
  if (end > start) madvise(start, end - start, MADV_POPULATE_WRITE);
}

/**
 * The whole content of `path`, read with read(2) into one Buffer sized from
 * fstat (no copy when the size is right, which it is for sysfs and regular
 * files). Files whose stat size is wrong (procfs reports 0) still read fully:
 * the buffer grows. Throws the fs error for open/fstat, SyscallError for read.
 */
export function readFileRaw(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    // One spare byte: the last read(), the one that returns 0 to prove the end
    // of the file, then needs no growth.
    let buf = Buffer.allocUnsafe(Math.max(size + 1, 4096));
    let addr = Number(addressOf(buf)); // < 2^53: user-space addresses are 47 bits
    if (buf.length >= POPULATE_MIN_BYTES) prefault(addr, buf.length);
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        // The file is longer than stat said: grow (rare: procfs, a file being appended to).
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
        addr = Number(addressOf(buf));
      }
      const n = readAt(fd, addr + len, buf.length - len);
      if (n > 0) len += n;
      else if (n === 0) break;
      else {
        const e = errno();
        if (e !== EINTR) throw new SyscallError('read', e, `reading ${path}`);
      }
    }
    return buf.subarray(0, len);
  } finally {
    closeSync(fd);
  }
}

/**
 * The whole of `path` mapped read-only (PROT_READ, MAP_PRIVATE), or undefined
 * when the file cannot be mapped (an empty file, or a file whose driver has no
 * mmap: sysfs answers ENODEV/EINVAL/EACCES for those, as /sys/kernel/btf/vmlinux
 * does before Linux 6.16). Callers then read it instead.
 *
 * Why: since Linux 6.16 (libbpf 1.6 uses it) /sys/kernel/btf/vmlinux can be
 * mmapped: the kernel maps its own BTF pages into the process (remap_pfn_range,
 * page tables filled at once), so "reading" 5.5 MB costs one syscall and no copy,
 * ~0.1 ms instead of readFileRaw's ~4.6 ms.
 *
 * Hazards, for the caller: the mapping must outlive every view of it (reading
 * unmapped memory is a SIGSEGV, see mem.ts), writing to it is a SIGSEGV too, and
 * a regular file truncated while mapped raises SIGBUS on access. Map only files
 * that cannot change under you, such as the kernel's own BTF.
 */
export function mapFileReadOnly(path: string): Mapping | undefined {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return undefined;
    try {
      return Mapping.map(fd, size, PROT_READ, MAP_PRIVATE, 0, path);
    } catch (e) {
      if (e instanceof SyscallError) return undefined;
      throw e;
    }
  } finally {
    closeSync(fd); // a mapping does not need its fd
  }
}
