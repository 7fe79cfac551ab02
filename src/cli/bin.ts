// The CLI bundle's export: `run` starts `tsbpf` with the process's arguments
// and exits with its code (dist/cli.cjs calls it).
import { once } from 'node:events';
import { main } from './main.ts';

export { main };

export async function run(): Promise<void> {
  // A reader that goes away (`tsbpf ... | head`) is not an error of ours.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  const code = await main(process.argv.slice(2));
  // Writes to a pipe are queued once the pipe is full: let them out before exiting.
  if (process.stdout.writableLength > 0) await once(process.stdout, 'drain');
  // Exit explicitly: a trace_pipe read may still hold a threadpool thread.
  process.exit(code);
}
