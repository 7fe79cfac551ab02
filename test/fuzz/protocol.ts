// What the fuzzing worker and its watchdog share.

/** Layout of the shared memory: Int32 slots, a Float64 start time, then the current input's bytes. */
export const SHARED = {
  exec: 0, running: 1, len: 2, target: 3, ints: 4,
  timeAt: 16,
  inputAt: 64,
  /** Largest input the watchdog can record whole. */
  maxInput: 4 << 20,
} as const;

export interface WorkerJob {
  seed: number;
  /** Executions [start, end) of the seed's sequence. */
  start: number;
  end: number;
  /** Date.now() after which the worker stops. */
  deadline: number;
  /** Target names (all registered targets when omitted). */
  targets?: string[];
  /** Finding signatures already reported (not minimised or reported again). */
  seen: string[];
  shared: SharedArrayBuffer;
}

export type WorkerMessage =
  | { type: 'stats' | 'done'; next: number; outcomes: Record<string, number> }
  | { type: 'finding'; exec: number; target: string; reason: string; signature: string; message: string; stack?: string; input: Uint8Array };
