// What bench/ringbuf.ts and its child share about the drain runs.
/** The drain shapes: records per run, rb_produce's rec_size (0 = mixed), discard_every. */
export const DRAIN_SHAPES = {
  drain: { records: 600_000, recSize: 16, discardEvery: 0 },
  drain_256: { records: 60_000, recSize: 256, discardEvery: 0 },
  drain_mixed: { records: 120_000, recSize: 0, discardEvery: 7 },
} as const;
