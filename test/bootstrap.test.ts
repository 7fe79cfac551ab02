// The bootstrap tracer end to end on the real kernel:
//  - in process: bootstrap.bpf.o (CO-RE reads of real_parent->tgid, comm,
//    start times, the exec'd filename) attached to sched_process_exec/exit,
//    events through the ring buffer; a spawned process is checked field by
//    field against /proc;
//  - as users run it: `npm start` prints the exec and exit lines of a process
//    we spawn, and exits 0 on SIGINT with its programs and links gone.
import { spawn, spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { BpfCmd, getFdById } from '../src/syscall/index.ts';
import { describe, expect, it } from 'vitest';
import { autoAttach } from '../src/attach/index.ts';
import { BpfObject } from '../src/object/index.ts';
import { Program } from '../src/prog/index.ts';
import { RingBuffer } from '../src/ringbuf/index.ts';
import { event as bootstrapEvent, type event as BootstrapEvent } from '../bpf/skel/bootstrap.skel.ts';
import { BPF_DIR, REPO_ROOT } from './helpers/oracle.ts';
import { needsRoot } from './helpers/env.ts';
import { procStat } from './helpers/proc.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(needsRoot)('bootstrap: exec/exit tracer', () => {
  it('sees a spawned process exec and exit, with every CO-RE field matching /proc', async () => {
    const obj = BpfObject.openAndLoad(`${BPF_DIR}/bootstrap.bpf.o`);
    const events: BootstrapEvent[] = [];
    const rb = new RingBuffer(obj.map('rb').map!);
    try {
      for (const p of obj.programs.values()) obj.adopt(autoAttach(p.prog!, p.sectionName, { mount: true }));
      rb.start((view, off) => {
        events.push(bootstrapEvent.decode(view, off));
      });
      const sleepBin = realpathSync('/bin/sleep');
      const child = spawn(sleepBin, ['0.5']);
      // sample /proc while the child lives
      await sleep(150);
      const stat = procStat(child.pid!);
      await new Promise((r) => child.on('exit', r));
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && !events.some((e) => e.pid === child.pid && e.exit_event)) await sleep(20);
      const exec = events.find((e) => e.pid === child.pid && !e.exit_event);
      const exit = events.find((e) => e.pid === child.pid && e.exit_event);
      expect(exec, 'exec event of the spawned process').toBeDefined();
      expect(exit, 'exit event of the spawned process').toBeDefined();
      expect(exec!.ppid).toBe(process.pid);
      expect(exec!.ppid).toBe(Number(stat[4]));
      expect(exec!.comm).toBe(stat[2]);
      expect(exec!.comm).toBe('sleep');
      expect(exec!.filename).toBe(sleepBin);
      expect(exit!.exit_code).toBe(0);
      // ~500 ms between exec and exit
      expect(Number(exit!.duration_ns) / 1e6).toBeGreaterThan(400);
      expect(Number(exit!.duration_ns) / 1e6).toBeLessThan(3000);
    } finally {
      rb.close();
      await obj.destroy();
    }
  });

  it('npm start prints exec and exit lines and exits 0 on SIGINT with its links gone', { timeout: 90_000 }, async () => {
    const tracer = spawn('npm', ['start', '--', '-v'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    tracer.stdout.on('data', (d) => (out += d));
    tracer.stderr.on('data', (d) => (err += d));
    try {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !out.includes('FILENAME/EXIT CODE')) await sleep(50);
      expect(out, err).toContain('FILENAME/EXIT CODE');
      const r = spawnSync('/bin/sh', ['-c', 'exec /bin/true']);
      expect(r.status).toBe(0);
      const pid = r.pid;
      const lineDeadline = Date.now() + 5000;
      const has = (kind: string) => out.split('\n').some((l) => l.includes(kind) && l.split(/\s+/).includes(String(pid)));
      while (Date.now() < lineDeadline && !(has('EXEC') && has('EXIT'))) await sleep(50);
      expect(has('EXEC'), out).toBe(true);
      expect(has('EXIT'), out).toBe(true);
      const progIds = [...err.matchAll(/prog id (\d+)/g)].map((m) => Number(m[1]));
      expect(progIds.length).toBe(2);
      // Ctrl-C: SIGINT to the tracer itself (npm and tsx then exit with its status)
      const tracerPid = Number(/tracer pid (\d+)/.exec(err)![1]);
      process.kill(tracerPid, 'SIGINT');
      const code = await new Promise<number | null>((r) => tracer.on('exit', (c) => r(c)));
      expect(code).toBe(0);
      // its programs (and so its links) are gone from the kernel
      for (const id of progIds) expect(() => Program.fromId(id)).toThrow(/ENOENT/);
      const linkIds = [...err.matchAll(/link id (\d+)/g)].map((m) => Number(m[1]));
      for (const id of linkIds) expect(() => getFdById(BpfCmd.BPF_LINK_GET_FD_BY_ID, id)).toThrow(/ENOENT/);
    } finally {
      if (tracer.exitCode === null) process.kill(-tracer.pid!, 'SIGKILL');
    }
  });
});
