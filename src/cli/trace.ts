// `tsbpf trace`: follow tracefs's trace_pipe, where bpf_printk writes.
// Reading trace_pipe consumes what it returns (it is a pipe, one reader sees
// each line), so only one `tsbpf trace` (or `cat trace_pipe`) should run.
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { tracefsPath } from '../attach/tracefs.ts';
import { ArgError, intArg, parse, secondsArg } from './args.ts';
import { out } from './output.ts';

const SPEC = {
  usage: 'tsbpf trace [--pid PID] [--comm NAME] [--duration S] [--json]',
  summary: 'Print the lines BPF programs write with bpf_printk (tracefs trace_pipe) as they come, optionally only those of one pid or command. tracefs is mounted at /sys/kernel/tracing when it is missing and we are root. Reading consumes the lines: run one reader at a time.',
  options: {
    pid: { type: 'string' as const, short: 'p' },
    comm: { type: 'string' as const, short: 'c' },
    duration: { type: 'string' as const, short: 'd' },
  },
  optionHelp: { pid: 'only lines of this pid', comm: 'only lines of tasks with this command name', duration: 'stop after S seconds' },
  json: true,
  positionals: [0, 0] as [number, number],
  examples: ['tsbpf trace', 'tsbpf trace --comm curl --json'],
};

export interface TraceLine {
  task: string;
  pid: number;
  cpu: number;
  flags: string;
  timestamp: number;
  message: string;
}

// "  <task>-<pid>  [<cpu>] <flags> <secs>.<usecs>: <event>: <message>"
const LINE = /^\s*(.*?)-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(\d+)\]\s+(?:(\S{4,5})\s+)?(\d+\.\d+):\s+(?:bpf_trace_printk:\s)?(.*)$/;

/** One trace_pipe line, parsed (undefined for lines of another shape). */
export function parseTraceLine(line: string): TraceLine | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  return { task: m[1]!, pid: Number(m[2]), cpu: Number(m[3]), flags: m[4] ?? '', timestamp: Number(m[5]), message: m[6]! };
}

export async function main(args: string[]): Promise<number> {
  const { values } = parse(args, SPEC);
  const pid = values.pid !== undefined ? intArg('--pid', values.pid, SPEC.usage) : undefined;
  const duration = values.duration !== undefined ? secondsArg('--duration', values.duration, SPEC.usage) : undefined;
  const comm = values.comm;
  if (comm !== undefined && comm.length === 0) throw new ArgError('--comm needs a name', SPEC.usage);
  const dir = tracefsPath({ mount: process.getuid?.() === 0 });
  const pipe = join(dir, 'trace_pipe');

  const stream = createReadStream(pipe, { encoding: 'utf8', highWaterMark: 4096 });
  let rest = '';
  await new Promise<void>((resolve, reject) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (duration !== undefined) setTimeout(stop, duration * 1000);
    stream.on('error', reject);
    stream.on('data', (chunk) => {
      rest += chunk as string;
      const lines = rest.split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        const t = parseTraceLine(line);
        if (!t) continue;
        if (pid !== undefined && t.pid !== pid) continue;
        if (comm !== undefined && t.task !== comm) continue;
        out(values.json ? JSON.stringify(t) : line);
      }
    });
  });
  // The read in flight blocks a threadpool thread until the next line: the caller exits the process.
  stream.destroy();
  return 0;
}
