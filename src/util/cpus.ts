// The CPUs the kernel may ever bring online ("possible" CPUs). Per-CPU maps
// hold one value slot per possible CPU, so user space must size its buffers
// by this number, not by the CPUs online now.
//
// Documented process-wide cache: the possible set is fixed at boot, so it is
// read once, on first use, and kept for the life of the process.
import { readFileSync } from 'node:fs';
import { TsbpfError } from '../errors.ts';

const POSSIBLE_CPUS_PATH = '/sys/devices/system/cpu/possible';
const ONLINE_CPUS_PATH = '/sys/devices/system/cpu/online';

/**
 * Parse the kernel's CPU list format ("0-3,5,7-8\n") into CPU numbers.
 * Throws a RangeError on anything that is not such a list.
 */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  const trimmed = text.trim();
  if (trimmed === '') return cpus;
  for (const part of trimmed.split(',')) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (range === null) throw new TsbpfError(`not a CPU list: ${JSON.stringify(text)}`);
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    if (last < first) throw new TsbpfError(`not a CPU list (range ${part} runs backwards): ${JSON.stringify(text)}`);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

let possibleCache: readonly number[] | null = null;

/** The possible CPUs, from /sys/devices/system/cpu/possible (cached for the process). */
export function possibleCpus(): readonly number[] {
  if (possibleCache === null) possibleCache = Object.freeze(parseCpuList(readFileSync(POSSIBLE_CPUS_PATH, 'utf8')));
  return possibleCache;
}

/**
 * How many value slots a per-CPU map has: the number of possible CPUs (the
 * kernel walks them with for_each_possible_cpu when copying values out).
 */
export function numPossibleCpus(): number {
  return possibleCpus().length;
}

/** The CPUs online right now (not cached: CPUs can come and go). */
export function onlineCpus(): number[] {
  return parseCpuList(readFileSync(ONLINE_CPUS_PATH, 'utf8'));
}
