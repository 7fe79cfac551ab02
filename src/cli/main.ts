// `tsbpf`: the command-line tool. This module is the entry of the CLI bundle
// (dist/tsbpf-cli.cjs, started by dist/cli.cjs): it picks the subcommand and
// imports only that command's module (esbuild keeps dynamically imported
// modules lazy inside the bundle), so `tsbpf --help` or `tsbpf inspect`
// initializes no more of the library than it uses.
//
// Exit codes: 0 ok, 1 failure (the kernel or the input said no), 2 usage (the
// command line is wrong). Errors are printed on one line, "tsbpf <command>:
// <what failed and why>"; the stack only with DEBUG=tsbpf:*.
import { ArgError, HelpRequested } from './args.ts';

export type CommandMain = (args: string[]) => Promise<number> | number;

interface CommandEntry {
  summary: string;
  load: () => Promise<CommandMain>;
}

/** The subcommands, each loaded on demand. */
const COMMANDS: Record<string, CommandEntry> = {
  inspect: { summary: 'what an object file holds: programs, maps, globals, externs, relocations, BTF', load: async () => (await import('./inspect.ts')).main },
  prog: { summary: 'programs loaded in the kernel: list, show ID', load: async () => (await import('./kernel_objects.ts')).progMain },
  map: { summary: 'maps in the kernel: list, show ID, dump ID|PINPATH [--hist]', load: async () => (await import('./kernel_objects.ts')).mapMain },
  link: { summary: 'links in the kernel: list, show ID', load: async () => (await import('./kernel_objects.ts')).linkMain },
  btf: { summary: 'dump BTF (vmlinux, a raw BTF file or an object) as C, TypeScript or a raw listing', load: async () => (await import('./btf_dump.ts')).main },
  gen: { summary: 'generate code from an object: gen skeleton OBJ', load: async () => (await import('./gen.ts')).main },
  run: { summary: 'load and attach an object, stream its ring/perf buffer events as JSON lines', load: async () => (await import('./run.ts')).main },
  trace: { summary: 'follow the kernel trace pipe (what bpf_printk writes)', load: async () => (await import('./trace.ts')).main },
  feature: { summary: 'what this kernel supports: program, map, link types, helpers, BTF kinds', load: async () => (await import('./feature.ts')).main },
};

function topHelp(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'Usage: tsbpf COMMAND [ARGS...] [--json] [--help]',
    '',
    'Inspect BPF objects, what the kernel holds, and run BPF programs (the tsbpf loader, no libbpf).',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(w)}  ${c.summary}`),
    '',
    '`tsbpf COMMAND --help` describes each command. Exit codes: 0 ok, 1 failure, 2 usage error.',
    'DEBUG=tsbpf:* narrates what the library does (and prints stacks on errors).',
    '',
  ].join('\n');
}

function debugging(): boolean {
  return /(^|,)\s*tsbpf(:\*|\*|,|$)/.test(process.env.DEBUG ?? '') || /(^|,)\s*\*/.test(process.env.DEBUG ?? '');
}

/** One line: the message with its newlines folded, and the cause when it adds something. */
export function oneLine(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  let msg = e.message;
  const cause = e.cause instanceof Error ? e.cause.message : undefined;
  if (cause && !msg.includes(cause)) msg += `: ${cause}`;
  return msg.replace(/\s*\n\s*/g, '; ');
}

/** A hint for errors that mean "not allowed": most of tsbpf needs root. */
function permissionHint(e: unknown): string {
  let code: string | undefined;
  for (let x = e as { code?: unknown; cause?: unknown } | undefined, n = 0; x && n < 8; x = x.cause as typeof x, n++)
    if (typeof x.code === 'string') { code = x.code; break; }
  if ((code === 'EPERM' || code === 'EACCES') && process.getuid?.() !== 0) return ' (bpf() needs root, or CAP_BPF with CAP_PERFMON/CAP_NET_ADMIN/CAP_SYS_ADMIN)';
  return '';
}

/** Run `tsbpf ARGS`; the exit code. Never throws. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] && COMMANDS[rest[0]]) return main([rest[0], '--help']);
    process.stdout.write(topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write('tsbpf 0.1.0\n');
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`tsbpf: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see tsbpf --help)\n`);
    return 2;
  }
  try {
    const run = await cmd.load();
    return await run(rest);
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(e.text);
      return 0;
    }
    if (debugging() && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    if (e instanceof ArgError) {
      process.stderr.write(`tsbpf ${name}: ${oneLine(e)}${e.usage ? ` (usage: ${e.usage}; see --help)` : ''}\n`);
      return 2;
    }
    const isUsage = e instanceof Error && e.name === 'UsageError';
    const code = (e as { exitCode?: unknown }).exitCode;
    process.stderr.write(`tsbpf ${name}: ${oneLine(e)}${permissionHint(e)}\n`);
    return typeof code === 'number' ? code : isUsage ? 2 : 1;
  }
}
