// The dynamic PMUs that create kprobes and uprobes in one perf_event_open
// (Linux 4.17+): their perf type and the config bits for a return probe and a
// uprobe's reference counter, read from sysfs once.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cached } from './cache.ts';

export type ProbeKind = 'kprobe' | 'uprobe';

export interface ProbePmu {
  /** perf_event_attr.type of the PMU. */
  type: number;
  /** config bit that makes a return probe (format/retprobe, "config:0"). */
  retprobeBit: number;
  /** uprobe only: first config bit of ref_ctr_offset (format/ref_ctr_offset, "config:32-63"), if supported. */
  refCtrShift?: number;
}

export const PMU_DIR = '/sys/bus/event_source/devices';

/** Parse a PMU format file: "config:0" -> 0, "config:32-63" -> 32. */
export function parsePmuFormatBit(text: string): number | undefined {
  const m = /^config:(\d+)(?:-\d+)?\s*$/.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}

/** The kprobe/uprobe PMU, or null when the kernel has none (memoized as 'pmu:<kind>'). */
export function probePmu(kind: ProbeKind): ProbePmu | null {
  return cached(`pmu:${kind}`, () => {
    const dir = join(PMU_DIR, kind);
    if (!existsSync(join(dir, 'type'))) return null;
    const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : undefined);
    const retText = read('format/retprobe');
    const refText = read('format/ref_ctr_offset');
    return {
      type: Number(read('type')),
      retprobeBit: (retText ? parsePmuFormatBit(retText) : undefined) ?? 0,
      refCtrShift: refText ? parsePmuFormatBit(refText) : undefined,
    };
  });
}
