// BPF iterators (SEC("iter/<target>"), e.g. iter/task, iter/bpf_map_elem):
// BPF_LINK_CREATE with attach type BPF_TRACE_ITER (plus, for map/cgroup/task
// iterators, a `union bpf_iter_link_info` narrowing what is walked) gives a
// link; each BPF_ITER_CREATE on it gives a fresh fd whose read(2) runs the
// program over every object and returns what it printed (BPF_SEQ_PRINTF).
import type { Readable } from 'node:stream';
import { EAGAIN, EINTR, FD, SyscallError, iterCreate, lastErrno, libcRead, linkCreate } from '../syscall/index.ts';
import { BpfAttachType } from '../prog/index.ts';
import { AttachError } from './errors.ts';
import { BpfLink, type AttachableProgram } from './link.ts';
import { builtin } from '../util/builtin.ts';

export interface IterOptions {
  /** Map iterators (bpf_map_elem, sockmap...): the map to walk. */
  mapFd?: number;
  /** Task iterators (5.19+): only this thread (tid), process (pid) or pidfd. */
  task?: { tid?: number; pid?: number; pidFd?: number };
  /** cgroup iterators (6.1+): the cgroup fd or id and the walk order (BPF_CGROUP_ITER_*). */
  cgroup?: { fd?: number; id?: bigint; order?: number };
  /** For messages: the iterator's target ("task"). */
  targetName?: string;
}

/** union bpf_iter_link_info, encoded for the options given (undefined when none). */
function iterInfo(opts: IterOptions): Buffer | undefined {
  if (opts.mapFd !== undefined) {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(opts.mapFd, 0);
    return b;
  }
  if (opts.cgroup) {
    // struct { enum bpf_cgroup_iter_order order; __u32 cgroup_fd; __u64 cgroup_id; }
    const b = Buffer.alloc(16);
    b.writeUInt32LE(opts.cgroup.order ?? 0, 0);
    b.writeUInt32LE(opts.cgroup.fd ?? 0, 4);
    b.writeBigUInt64LE(opts.cgroup.id ?? 0n, 8);
    return b;
  }
  if (opts.task) {
    // struct { __u32 tid; __u32 pid; __u32 pid_fd; }
    const b = Buffer.alloc(12);
    b.writeUInt32LE(opts.task.tid ?? 0, 0);
    b.writeUInt32LE(opts.task.pid ?? 0, 4);
    b.writeUInt32LE(opts.task.pidFd ?? 0, 8);
    return b;
  }
  return undefined;
}

/** An iterator link: each `open()`/`read()`/`stream()` is one full pass. */
export class IterLink extends BpfLink {
  /** A new readable iterator fd (BPF_ITER_CREATE). The caller closes it. */
  open(): FD {
    try {
      return iterCreate(this.fd, `creating an iterator from the link of program "${this.program}" (${this.target})`);
    } catch (e) {
      throw new AttachError(this.program, this.target, (e as Error).message, { cause: e });
    }
  }

  /** One pass, all output as bytes. */
  read(chunkSize = 64 * 1024): Buffer {
    const fd = this.open();
    try {
      const chunks: Buffer[] = [];
      for (;;) {
        const c = readChunk(fd, chunkSize, this);
        if (c === null) break;
        chunks.push(c);
      }
      return Buffer.concat(chunks);
    } finally {
      fd.close();
    }
  }

  /** One pass, all output as text. */
  readString(encoding: BufferEncoding = 'utf8'): string {
    return this.read().toString(encoding);
  }

  /**
   * One pass as a Node Readable stream of Buffers. Each read(2) runs the
   * program over the next batch of objects in the kernel (CPU work, no
   * waiting), so it is done synchronously inside _read.
   */
  stream(chunkSize = 64 * 1024): Readable {
    const fd = this.open();
    const link = this;
    // required here, not imported: node:stream costs a fresh process ~1 ms (src/util/builtin.ts)
    const { Readable } = builtin<typeof import('node:stream')>('node:stream');
    return new Readable({
      read() {
        try {
          const c = readChunk(fd, chunkSize, link);
          this.push(c);
        } catch (e) {
          this.destroy(e as Error);
        }
      },
      destroy(err, cb) {
        fd.close();
        cb(err);
      },
    });
  }
}

function readChunk(fd: FD, size: number, link: IterLink): Buffer | null {
  const buf = Buffer.alloc(size);
  for (;;) {
    const n = libcRead(fd.value, buf, size);
    if (n > 0) return buf.subarray(0, n);
    if (n === 0) return null;
    const e = lastErrno();
    if (e === EINTR || e === EAGAIN) continue;
    throw new AttachError(link.program, link.target, new SyscallError('read', e, `reading iterator output of program "${link.program}"`).message);
  }
}

/** Attach an iterator program (loaded against its bpf_iter_<target> BTF id). */
export function attachIter(prog: AttachableProgram, opts: IterOptions = {}): IterLink {
  const target = `iterator ${opts.targetName ?? ''}`.trim();
  const info = iterInfo(opts);
  try {
    const fd = linkCreate(
      { prog_fd: prog.fd, target_fd: 0, attach_type: BpfAttachType.BPF_TRACE_ITER, iter_info: info ?? null, iter_info_len: info?.length ?? 0 },
      `attaching program "${prog.name}" to ${target}`,
    );
    return new IterLink(prog.name, target, fd);
  } catch (e) {
    throw new AttachError(prog.name, target, (e as Error).message, { cause: e });
  }
}
