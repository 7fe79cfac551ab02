// perf_event programs (SEC("perf_event")): run on a software or hardware
// perf event's overflow, e.g. every N ms of CPU clock for profiling. A perf
// event counts on one CPU, so "all CPUs" means one event and one link per CPU.
import { PerfFlag, perfEventOpen } from '../syscall/index.ts';
import { onlineCpus } from '../util/cpus.ts';
import { AttachError } from './errors.ts';
import { PerfEventLink, type AttachableProgram } from './link.ts';
import { attachToPerfEvent, type PerfAttachOptions } from './perf_attach.ts';

export interface PerfEventOptions extends PerfAttachOptions {
  /** PERF_TYPE_SOFTWARE, PERF_TYPE_HARDWARE, ... */
  type: number;
  /** PERF_COUNT_SW_CPU_CLOCK, PERF_COUNT_HW_CPU_CYCLES, ... */
  config: number | bigint;
  /** Run the program every `samplePeriod` events ... */
  samplePeriod?: number | bigint;
  /** ... or `sampleFreq` times a second (the kernel adjusts the period). One of the two; default period 1. */
  sampleFreq?: number;
  /** Only this process (default -1: every process on the CPU). */
  pid?: number;
}

/** Attach a perf_event program to one perf event on `cpu` (-1 with a pid: that process on any CPU). */
export function attachPerfEvent(prog: AttachableProgram, cpu: number, opts: PerfEventOptions): PerfEventLink {
  const target = `perf event type ${opts.type} config ${opts.config} on ${cpu < 0 ? 'any CPU' : `CPU ${cpu}`}${opts.pid !== undefined && opts.pid >= 0 ? ` pid ${opts.pid}` : ''}`;
  if (opts.samplePeriod !== undefined && opts.sampleFreq !== undefined) throw new AttachError(prog.name, target, 'give samplePeriod or sampleFreq, not both');
  let perf;
  try {
    perf = perfEventOpen(
      {
        type: opts.type,
        config: opts.config,
        sample_period: opts.sampleFreq ?? opts.samplePeriod ?? 1,
        flags: opts.sampleFreq !== undefined ? PerfFlag.freq : 0n,
      },
      opts.pid ?? -1,
      cpu,
      `opening ${target}`,
    );
  } catch (e) {
    throw new AttachError(prog.name, target, (e as Error).message, { cause: e });
  }
  return attachToPerfEvent(prog, perf, target, opts, (p, l) => new PerfEventLink(prog.name, target, p, l));
}

/** One perf event and link per online CPU. On failure the links made so far are destroyed. */
export function attachPerfEventAllCpus(prog: AttachableProgram, opts: PerfEventOptions): PerfEventLink[] {
  const links: PerfEventLink[] = [];
  try {
    for (const cpu of onlineCpus()) links.push(attachPerfEvent(prog, cpu, opts));
    return links;
  } catch (e) {
    for (const l of links) l.destroy();
    throw e;
  }
}
