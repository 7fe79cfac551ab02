// Ring buffer, perf buffer and user ring buffer consumers/producers.
export * from './common.ts';
export { EventSource, type StartOptions } from './source.ts';
export * from './ringbuf.ts';
export * from './perfbuf.ts';
export * from './user.ts';
export * from './worker.ts';
