// Debug logging, the `debug` package's way (which tsbpf used before): each
// module has a namespace `tsbpf:<module>`, silent unless the DEBUG
// environment variable names it (`DEBUG=tsbpf:*`, `DEBUG=tsbpf:btf,tsbpf:maps`,
// `DEBUG=*,-tsbpf:syscall`). Lines go to stderr as
//   <ISO time> tsbpf:<module> <message>             (stderr not a terminal, or DEBUG_COLORS=0)
//     tsbpf:<module> <message> +<ms since the last line of that namespace>   (a terminal)
// with printf-style %s %d %o %O %j (node:util's format).
//
// Why not `debug` itself: importing it costs ~4-5 ms of a fresh process's
// start (it loads supports-color, tty and ms, and evaluates every namespace's
// pattern match lazily anyway), and a short-lived tool pays that every run.
// This is the part tsbpf used, in one small module. DEBUG is read once, when
// this module loads, as `debug` does.
import { format } from 'node:util';

/** A namespace's logger: call it like printf; `enabled` tells whether the namespace is on. */
export interface Logger {
  (fmt: string, ...args: unknown[]): void;
  readonly enabled: boolean;
  readonly namespace: string;
}

interface Patterns {
  include: RegExp[];
  exclude: RegExp[];
}

/** DEBUG's patterns: comma- or space-separated, `*` any run of characters, a leading `-` excludes. */
export function parseDebugPatterns(spec: string): Patterns {
  const out: Patterns = { include: [], exclude: [] };
  for (const part of spec.split(/[\s,]+/)) {
    if (part === '') continue;
    const negated = part.startsWith('-');
    const body = (negated ? part.slice(1) : part).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*?');
    (negated ? out.exclude : out.include).push(new RegExp(`^${body}$`));
  }
  return out;
}

/** Whether `namespace` is on under `patterns` (an exclusion wins). */
export function namespaceEnabled(namespace: string, patterns: Patterns): boolean {
  if (patterns.exclude.some((re) => re.test(namespace))) return false;
  return patterns.include.some((re) => re.test(namespace));
}

const patterns = parseDebugPatterns(process.env.DEBUG ?? '');

// the colors `debug` picks from for a namespace (basic ANSI, by a hash of the name)
const COLORS = [6, 2, 3, 4, 5, 1];

function colorOf(namespace: string): number {
  let h = 0;
  for (let i = 0; i < namespace.length; i++) h = ((h << 5) - h + namespace.charCodeAt(i)) | 0;
  return COLORS[Math.abs(h) % COLORS.length]!;
}

/** The logger of `namespace` (e.g. 'tsbpf:btf'). A disabled one does nothing. */
export function createLog(namespace: string): Logger {
  if (!namespaceEnabled(namespace, patterns)) return Object.assign(() => {}, { enabled: false, namespace });
  const tty = process.stderr.isTTY === true && process.env.DEBUG_COLORS !== '0' && process.env.DEBUG_COLORS !== 'false';
  const c = colorOf(namespace);
  let last = 0;
  const log = (fmt: string, ...args: unknown[]): void => {
    const msg = format(fmt, ...args);
    if (tty) {
      const now = Date.now();
      const delta = last === 0 ? 0 : now - last;
      last = now;
      const prefix = `  \u001b[3${c};1m${namespace} \u001b[0m`;
      process.stderr.write(`${prefix}${msg.split('\n').join(`\n${prefix}`)} \u001b[3${c}m+${delta}ms\u001b[0m\n`);
    } else {
      process.stderr.write(`${new Date().toISOString()} ${namespace} ${msg}\n`);
    }
  };
  return Object.assign(log, { enabled: true, namespace });
}
