// The CLI bundle's export: `run` starts `tsbpf` with the process's arguments
// and exits with its code (dist/cli.cjs calls it).
import { once } from 'node:events';
import { main, oneLine } from './main.ts';

export { main };

export async function run(): Promise<void> {
  // A reader that goes away (`tsbpf ... | head`) is not an error of ours.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  // An error outside a command's own flow (a callback of a ring buffer, a timer) is still one line.
  const fatal = (e: unknown): void => {
    if (/tsbpf|\*/.test(process.env.DEBUG ?? '') && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.stderr.write(`tsbpf ${process.argv[2] ?? ''}: ${oneLine(e)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  const code = await main(process.argv.slice(2));
  // Writes to a pipe are queued once the pipe is full: let them out before exiting.
  if (process.stdout.writableLength > 0) await once(process.stdout, 'drain');
  // Exit explicitly: a trace_pipe read may still hold a threadpool thread.
  process.exit(code);
}
