// Tracepoints (SEC("tp/<category>/<name>"), SEC("tracepoint/...")): the
// event's id from tracefs, a perf event of PERF_TYPE_TRACEPOINT on it, and
// the program attached to that event.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PERF_TYPE_TRACEPOINT, perfEventOpen } from '../syscall/index.ts';
import { AttachError } from './errors.ts';
import { PerfEventLink, type AttachableProgram } from './link.ts';
import { attachToPerfEvent, type PerfAttachOptions } from './perf_attach.ts';
import { tracefsPath, type TracefsOptions } from './tracefs.ts';

export interface TracepointOptions extends PerfAttachOptions, TracefsOptions {}

/** The id of tracefs event `<category>/<name>`, with a clear error when it does not exist. */
export function tracepointId(category: string, name: string, opts: TracefsOptions = {}, program = ''): number {
  const target = `tracepoint ${category}/${name}`;
  if (!category || !name || category.includes('/') || name.includes('/') || category.includes('..') || name.includes('..'))
    throw new AttachError(program, target, `"${category}/${name}" is not a tracepoint name (expected <category>/<name>)`);
  let root: string;
  try {
    root = tracefsPath(opts);
  } catch (e) {
    throw new AttachError(program, target, (e as AttachError).reason ?? String(e), { cause: e });
  }
  const dir = join(root, 'events', category, name);
  if (!existsSync(dir)) throw new AttachError(program, target, `tracepoint ${category}/${name} does not exist (no ${dir})`);
  const text = readFileSync(join(dir, 'id'), 'utf8').trim();
  const id = Number(text);
  if (!Number.isInteger(id) || id < 0) throw new AttachError(program, target, `unexpected content in ${join(dir, 'id')}: "${text}"`);
  return id;
}

/** Attach a tracepoint program to `<category>/<name>` (all CPUs). */
export function attachTracepoint(prog: AttachableProgram, category: string, name: string, opts: TracepointOptions = {}): PerfEventLink {
  const target = `tracepoint ${category}/${name}`;
  const id = tracepointId(category, name, opts, prog.name);
  let perf;
  try {
    // One event (pid -1, cpu 0) is enough: a BPF program on a tracepoint runs
    // from the tracepoint's own program array, on every CPU.
    perf = perfEventOpen({ type: PERF_TYPE_TRACEPOINT, config: id, sample_period: 1, wakeup_events: 1 }, -1, 0, `opening ${target}`);
  } catch (e) {
    throw new AttachError(prog.name, target, (e as Error).message, { cause: e });
  }
  return attachToPerfEvent(prog, perf, target, opts, (p, l) => new PerfEventLink(prog.name, target, p, l));
}
