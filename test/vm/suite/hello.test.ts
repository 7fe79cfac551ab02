// examples/hello.ts in the Debian 6.1 guest (npm run test:vm), where kprobes
// exist: it attaches through the kprobe on execve (ksyscall/execve, no
// fallback) and prints the hello line of a process we exec; Ctrl-C exits 0.
import { spawn, spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '..', '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(process.env.TSBPF_VM !== '1')('examples/hello on a kernel with kprobes (6.1 guest)', () => {
  it('says hello from the kprobe for a process we exec', { timeout: 180_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/hello.ts'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    try {
      const deadline = Date.now() + 150_000;
      while (!out.includes('hello: attached through') && Date.now() < deadline && child.exitCode === null) await sleep(200);
      expect(out, err).toContain('hello: attached through a kprobe (ksyscall/execve)');
      expect(err).not.toContain('falling back');
      const truePath = realpathSync('/bin/true');
      const pids: number[] = [];
      const seen = () => out.split('\n').some((l) => pids.some((p) => l.includes(`-${p} [`)) && l.includes(`hello (kprobe): execve ${truePath}`));
      while (!seen() && Date.now() < deadline) {
        pids.push(spawnSync(truePath).pid!);
        await sleep(300);
      }
      expect(seen(), out).toBe(true);
      const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(err).toContain('hello: SIGINT: detached and closed');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
