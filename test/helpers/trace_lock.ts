// The kernel lets one process at a time read the top-level trace_pipe (since
// Linux 6.6 a second open is EBUSY), and bpf_printk writes only there. Test
// files run in parallel processes, so the tests that read it (in-process or
// through a child) take this machine-wide lock first: a file created with
// O_EXCL holding the owner's pid; a lock whose owner is gone is taken over.
import { openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOCK = join(tmpdir(), 'tsbpf-test-trace-pipe.lock');
const WAIT_MS = 120_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Run `fn` while this process alone (among the tests) reads trace_pipe. */
export async function withTracePipe<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(readFileSync(LOCK, 'utf8') || '0');
      if (owner > 0 && owner !== process.pid && !alive(owner)) rmSync(LOCK, { force: true });
      else if (Date.now() > deadline) throw new Error(`trace_pipe lock ${LOCK} held by pid ${owner} for ${WAIT_MS / 1000} s`);
      else await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { force: true });
  }
}
