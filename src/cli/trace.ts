// `tsbpf trace`: follow tracefs's trace_pipe, where bpf_printk writes, through
// the library's TracePipe (src/attach/trace_pipe.ts). Reading trace_pipe
// consumes what it returns: one reader sees each line.
import { TracePipe } from '../attach/trace_pipe.ts';
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
  optionHelp: { pid: 'only lines of this pid (the writer\'s thread id)', comm: 'only lines of tasks with this command name', duration: 'stop after S seconds' },
  json: true,
  positionals: [0, 0] as [number, number],
  examples: ['tsbpf trace', 'tsbpf trace --comm curl --json'],
};

export async function main(args: string[]): Promise<number> {
  const { values } = parse(args, SPEC);
  const pid = values.pid !== undefined ? intArg('--pid', values.pid, SPEC.usage) : undefined;
  const duration = values.duration !== undefined ? secondsArg('--duration', values.duration, SPEC.usage) : undefined;
  const comm = values.comm;
  if (comm !== undefined && comm.length === 0) throw new ArgError('--comm needs a name', SPEC.usage);
  const pipe = TracePipe.open({ mount: process.getuid?.() === 0, pid, comm });
  try {
    pipe.onLine((l) => out(values.json ? JSON.stringify({ task: l.task, pid: l.pid, cpu: l.cpu, timestamp: l.timestamp, event: l.event, message: l.message }) : l.raw));
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
      if (duration !== undefined) setTimeout(resolve, duration * 1000);
    });
  } finally {
    pipe.close();
  }
  return 0;
}
