// Command-line parsing for `tsbpf`: Node's util.parseArgs, plus what every
// subcommand shares: --help, --json, a usage error that exits 2.
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';

/** A command-line mistake: printed on one line with the usage hint, exit code 2. */
export class ArgError extends UsageError {
  constructor(message: string, readonly usage?: string) {
    super(message);
    this.name = 'ArgError';
  }
}

/** Thrown by parse() when --help was asked: the caller prints `text` and exits 0. */
export class HelpRequested {
  constructor(readonly text: string) {}
}

type OptionSpec = { type: 'boolean' | 'string'; short?: string; multiple?: boolean; default?: string | boolean | string[] };

export interface CommandSpec<O extends Record<string, OptionSpec>> {
  /** "tsbpf inspect OBJ". */
  usage: string;
  /** What the command does, one paragraph. */
  summary: string;
  /** Options besides --help (and --json when `json` is set), each with its help line. */
  options: O;
  optionHelp?: Partial<Record<keyof O, string>>;
  /** The command prints data and takes --json. */
  json?: boolean;
  /** Number of positional arguments allowed: [min, max]. */
  positionals: [number, number];
  /** Lines after the options: examples. */
  examples?: string[];
}

export type Parsed<O extends Record<string, OptionSpec>> = {
  values: { [K in keyof O]: O[K]['type'] extends 'boolean' ? boolean | undefined : O[K]['multiple'] extends true ? string[] | undefined : string | undefined } & { json?: boolean; help?: boolean };
  positionals: string[];
};

/** The --help text of a command. */
export function helpText<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): string {
  const lines = [`Usage: ${spec.usage}`, '', spec.summary, ''];
  const rows: [string, string][] = [];
  for (const [name, o] of Object.entries(spec.options)) {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ' VALUE' : ''}`;
    rows.push([flag, (spec.optionHelp?.[name as keyof O] ?? '') + (o.multiple ? ' (repeatable)' : '')]);
  }
  if (spec.json) rows.push(['    --json', 'print JSON instead of text']);
  rows.push(['-h, --help', 'show this help']);
  const w = Math.max(...rows.map((r) => r[0].length));
  lines.push('Options:', ...rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`));
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

/** Parse `args` against `spec`; throws HelpRequested or ArgError. */
export function parse<O extends Record<string, OptionSpec>>(args: string[], spec: CommandSpec<O>): Parsed<O> {
  const options: Record<string, OptionSpec> = { ...spec.options, help: { type: 'boolean', short: 'h' } };
  if (spec.json) options.json = { type: 'boolean' };
  let r: ReturnType<typeof parseArgs>;
  try {
    r = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    // parseArgs's messages are one line and name the option ("Unknown option '--x'").
    throw new ArgError(((e as Error).message.split('\n')[0] ?? 'bad arguments').replace(/\. To specify a positional.*$/, ''), spec.usage);
  }
  if (r.values.help) throw new HelpRequested(helpText(spec));
  const [min, max] = spec.positionals;
  if (r.positionals.length < min) throw new ArgError(`missing argument${min - r.positionals.length > 1 ? 's' : ''}`, spec.usage);
  if (r.positionals.length > max) throw new ArgError(`unexpected argument "${r.positionals[max]}"`, spec.usage);
  return r as unknown as Parsed<O>;
}

/** A non-negative integer argument (an id, a count), or an ArgError naming it. */
export function intArg(what: string, s: string, usage?: string): number {
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new ArgError(`${what} must be a non-negative integer, got "${s}"`, usage);
  return Number(s);
}

/** A duration in seconds ("2", "0.5"), or an ArgError. */
export function secondsArg(what: string, s: string, usage?: string): number {
  const n = Number(s);
  if (!/^\d+(\.\d+)?$/.test(s) || !Number.isFinite(n)) throw new ArgError(`${what} must be a number of seconds, got "${s}"`, usage);
  return n;
}
