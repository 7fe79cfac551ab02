// Record handlers for test/ringbuf_worker.test.ts: loaded by RingBufferWorker
// inside its worker thread (by module URL and export name).
import type { RecordCallback, WorkerContext, WorkerHandler } from '../../src/ringbuf/index.ts';
import { REC_SIZE, recCheck } from './ringbuf_record.ts';

/**
 * The strict checker of ringbuf_object.test.ts, on the worker: record i must be
 * the i-th record not discarded (seq % k == k - 1 is discarded), intact. It
 * keeps the last record's view; onClose (after the worker unmapped the ring)
 * reads the kept bytes back: they must be zeros, not a crash.
 */
export function checker(ctx: WorkerContext): WorkerHandler {
  const discardEvery = (ctx.data as { discardEvery: number }).discardEvery;
  const st = { next: 0, seen: 0, bad: 0 };
  let held: Uint8Array | undefined;
  const onRecord: RecordCallback = (v, off, size) => {
    if (discardEvery > 0 && st.next % discardEvery === discardEvery - 1) st.next++;
    const seq = v.getUint32(off, true);
    const [lo, hi] = recCheck(seq);
    if (size !== REC_SIZE || seq !== st.next || v.getInt32(off + 4, true) !== 0 || v.getInt32(off + 8, true) !== lo || v.getInt32(off + 12, true) !== hi) st.bad++;
    st.next = seq + 1;
    st.seen++;
    if ((st.seen & 0xfffff) === 0) ctx.post(st.seen); // progress, through the main thread's onMessage
    held = new Uint8Array(v.buffer, v.byteOffset + off, size);
  };
  return {
    onRecord,
    onClose: () => ({ ...st, heldAfterClose: held === undefined ? null : Array.from(held) }),
  };
}

/** Throws on the first record. */
export function throwing(): RecordCallback {
  return () => {
    throw new Error('handler failed on purpose');
  };
}

/** Not a function: start() must refuse it. */
export const notAFunction = 42;

/** Reports the worker thread's scheduling as the kernel has it (/proc/thread-self/stat) and its thread id. */
export async function sched(): Promise<WorkerHandler> {
  const { readFileSync } = await import('node:fs');
  const { gettid } = await import('../../src/syscall/index.ts');
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  const seen = { tid: gettid(), nice: Number(f[16]), rtPriority: Number(f[37]), policy: Number(f[38]) };
  return { onRecord: () => {}, onClose: () => seen };
}
