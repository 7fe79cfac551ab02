// The worker side of RingBufferWorker (worker.ts): runs in a worker_thread,
// started by the main thread with the ring's fd, an eventfd to be woken by,
// and the handler's module and export. It maps the ring itself (fds are
// process-wide, so the kernel object is the same; the mapping is this
// thread's own), then does what a C consumer thread does: sleep in poll(2)
// until the ring or the eventfd is readable, drain, repeat. The handler runs
// here, on this thread, with zero-copy views over this thread's mapping.
// Once woken by the eventfd it drains a last time (every record committed
// before close() was asked is delivered), unmaps (a view the handler kept
// reads zeros from then on), calls the handler's onClose and reports.
import { parentPort, workerData } from 'node:worker_threads';
import { POLLIN, POLLNVAL, PollSet, RingBufferError } from './common.ts';
import { RingBuffer } from './ringbuf.ts';
import { setThreadFifo, setThreadNice } from '../syscall/index.ts';
import type { WorkerContext, WorkerHandler, WorkerHandlerFactory, WorkerInit, WorkerReport } from './worker.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const report = (m: WorkerReport): void => port.postMessage(m);

async function handler(): Promise<WorkerHandler> {
  const mod = (await import(init.module)) as Record<string, unknown>;
  const factory = mod[init.exportName];
  if (typeof factory !== 'function')
    throw new RingBufferError(`ringbuf worker: ${init.module} has no function export "${init.exportName}"`);
  const ctx: WorkerContext = { data: init.data, post: (value, transfer) => port.postMessage({ tsbpf: 'message', value }, transfer) };
  const made = await (factory as WorkerHandlerFactory)(ctx);
  const h = typeof made === 'function' ? { onRecord: made } : made;
  if (typeof h?.onRecord !== 'function')
    throw new RingBufferError(`ringbuf worker: ${init.module}#${init.exportName} returned neither a record callback nor { onRecord }`);
  return h;
}

async function run(): Promise<void> {
  const p = init.priority;
  if (p !== undefined && 'nice' in p) setThreadNice(p.nice, 'ringbuf worker');
  if (p !== undefined && 'fifo' in p) setThreadFifo(p.fifo, 'ringbuf worker');
  const h = await handler();
  const rb = new RingBuffer(init.fd, { onRecord: h.onRecord });
  try {
    const waits = new PollSet();
    waits.set([init.fd, init.wakeFd], POLLIN);
    report({ tsbpf: 'ready' });
    for (;;) {
      rb.consume();
      waits.wait(-1);
      if (waits.revents(1) !== 0) break;
      // the fd number no longer names an open file: the map was closed under us
      if ((waits.revents(0) & POLLNVAL) !== 0) throw new RingBufferError(`ringbuf worker: map fd ${init.fd} was closed while the worker ran`);
    }
    rb.consume(); // what was committed before close() was asked
  } finally {
    rb.close();
  }
  report({ tsbpf: 'closed', result: await h.onClose?.() });
}

run().catch((error: unknown) => report({ tsbpf: 'error', error }));
