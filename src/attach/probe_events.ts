// What kprobes and uprobes share: the dynamic PMUs that create them in one
// perf_event_open (Linux 4.17+), and the legacy tracefs interface
// (kprobe_events / uprobe_events) used when a PMU is absent or when forced.
import createDebug from 'debug';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PERF_TYPE_TRACEPOINT, perfEventOpen, type FD } from '../syscall/index.ts';
import { AttachError } from './errors.ts';

const log = createDebug('tsbpf:attach');

// The PMUs themselves are probed in src/features/pmu.ts.
export { PMU_DIR, probePmu, type ProbeKind, type ProbePmu } from '../features/index.ts';
import type { ProbeKind } from '../features/index.ts';

// ---------------------------------------------------------------- legacy tracefs probes

/** tracefs group of our legacy events (the kernel's default group names). */
export const legacyGroup = (kind: ProbeKind): string => (kind === 'kprobe' ? 'kprobes' : 'uprobes');
const eventsFile = (kind: ProbeKind): string => `${kind}_events`;
const EVENT_PREFIX = 'tsbpf_';
/** MAX_EVENT_NAME_LEN in kernel/trace/trace_probe.h is 64, NUL included. */
const MAX_EVENT_NAME = 63;

let counter = 0;

/** A unique event name: tsbpf_<pid>_<what>_<offset>_<n>, sanitized and short enough for the kernel. */
export function legacyEventName(what: string, offset: number | bigint): string {
  const tail = `_${offset.toString(16)}_${counter++}`;
  const head = `${EVENT_PREFIX}${process.pid}_`;
  const clean = what.replace(/[^A-Za-z0-9_]/g, '_').slice(0, MAX_EVENT_NAME - head.length - tail.length);
  return `${head}${clean}${tail}`;
}

const pidAlive = (pid: number): boolean => existsSync(`/proc/${pid}`);
const cleaned = new Set<string>();

/**
 * Remove events left by an earlier tsbpf process that died without cleaning
 * up (its pid, in the event name, no longer exists). Only our own prefix is
 * touched, and only once per tracefs and kind per process.
 */
export function removeStaleLegacyEvents(tracefs: string, kind: ProbeKind, force = false): string[] {
  const key = `${tracefs}:${kind}`;
  if (cleaned.has(key) && !force) return [];
  cleaned.add(key);
  const file = join(tracefs, eventsFile(kind));
  if (!existsSync(file)) return [];
  const removed: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    // "p:kprobes/tsbpf_1234_do_sys_openat2_0_0 do_sys_openat2" ("r16:..." for a
    // kretprobe: the kernel shows its maxactive)
    const m = /^[pr]\d*:([^/\s]+)\/(tsbpf_(\d+)_\S+)/.exec(line);
    if (!m || Number(m[3]) === process.pid || pidAlive(Number(m[3]))) continue;
    const ev = `${m[1]}/${m[2]}`;
    try {
      appendFileSync(file, `-:${ev}\n`);
      removed.push(ev);
      log('removed stale %s event %s', kind, ev);
    } catch (e) {
      log('could not remove stale %s event %s: %s', kind, ev, (e as Error).message);
    }
  }
  return removed;
}

/** Our legacy events currently defined in tracefs (tests: nothing may be left behind). */
export function listLegacyEvents(tracefs: string, kind: ProbeKind, pid = process.pid): string[] {
  const file = join(tracefs, eventsFile(kind));
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => /^[pr]\d*:(\S+)/.exec(l)?.[1])
    .filter((e): e is string => e !== undefined && e.includes(`/${EVENT_PREFIX}${pid}_`));
}

export interface LegacyEvent {
  /** "kprobes/tsbpf_..." */
  event: string;
  perf: FD;
  remove: () => void;
}

/**
 * Define a legacy probe through tracefs and open a perf event on it.
 * `definition` is what follows the event name ("do_sys_openat2+0",
 * "/usr/bin/x:0x1139"). On failure nothing is left defined.
 */
export function createLegacyEvent(
  tracefs: string,
  kind: ProbeKind,
  retprobe: boolean,
  eventName: string,
  definition: string,
  program: string,
  target: string,
  explain: (err: NodeJS.ErrnoException) => string,
  pid = -1,
): LegacyEvent {
  const file = join(tracefs, eventsFile(kind));
  const group = legacyGroup(kind);
  const event = `${group}/${eventName}`;
  removeStaleLegacyEvents(tracefs, kind);
  try {
    // O_APPEND matters: opening kprobe_events with O_TRUNC deletes every probe.
    appendFileSync(file, `${retprobe ? 'r' : 'p'}:${event} ${definition}\n`);
  } catch (e) {
    throw new AttachError(program, target, explain(e as NodeJS.ErrnoException), { cause: e });
  }
  log('defined legacy %s %s: %s', kind, event, definition);
  const remove = (): void => removeLegacyEvent(file, event);
  try {
    const id = Number(readFileSync(join(tracefs, 'events', group, eventName, 'id'), 'utf8'));
    const perf = perfEventOpen({ type: PERF_TYPE_TRACEPOINT, config: id, sample_period: 1, wakeup_events: 1 }, pid, pid === -1 ? 0 : -1, `opening ${target}`);
    return { event, perf, remove };
  } catch (e) {
    remove();
    throw new AttachError(program, target, (e as Error).message, { cause: e });
  }
}

/** Delete a legacy event; retried briefly while the kernel still reports it busy. */
export function removeLegacyEvent(file: string, event: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      appendFileSync(file, `-:${event}\n`);
      log('removed legacy event %s', event);
      return;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') return; // already gone
      if (err.code !== 'EBUSY' || attempt >= 50) throw new AttachError('', event, `cannot remove tracefs event ${event} from ${file}: ${err.message}`, { cause: e });
      // The perf event is still being released by another holder (a fork in
      // progress): wait a little, synchronously, and try again.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}
