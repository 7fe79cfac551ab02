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
