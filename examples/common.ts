// What every example does the same way: --help, the root check, Ctrl-C.
import { TsbpfError } from 'tsbpf';

/** Print `usage` and exit 0 when -h/--help is among the arguments. */
export function helpIfAsked(argv: readonly string[], usage: string): void {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(usage.trim());
    process.exit(0);
  }
}

/** Exit 1 with a clear message unless running as root. */
export function requireRoot(name: string): void {
  if (process.getuid?.() !== 0) {
    console.error(`${name}: needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN) to load and attach BPF programs; try: sudo ...`);
    process.exit(1);
  }
}

/** On Ctrl-C (SIGINT) or SIGTERM: run `cleanup` once (detach, close), say so, exit 0. */
export function onInterrupt(name: string, cleanup: () => Promise<void> | void): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    try {
      await cleanup();
      console.error(`${name}: ${signal}: detached and closed`);
      process.exit(0);
    } catch (err) {
      console.error(`${name}: ${signal}: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** Run `main`, printing a tsbpf error's message (it names what failed) instead of a stack. */
export function run(name: string, main: () => Promise<void> | void): void {
  Promise.resolve()
    .then(main)
    .catch((err: unknown) => {
      console.error(`${name}: ${err instanceof TsbpfError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    });
}

/** The value after flag `name` (e.g. -d 100), or undefined. */
export function flag(argv: readonly string[], ...names: string[]): string | undefined {
  for (let i = 0; i < argv.length - 1; i++) if (names.includes(argv[i]!)) return argv[i + 1];
  return undefined;
}
