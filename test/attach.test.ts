// Attach tests on the development kernel (Linux 6.18, no kprobes): each
// attachment fires exactly as often as the test triggers it, and destroying
// links leaves no fds behind.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { libcGetpgid } from '../src/syscall/index.ts';
import { BpfProgType } from '../src/prog/index.ts';
import { AttachError, PerfEventLink, attachRawTracepoint, attachTracepoint, destroyLinks, tracefsPath, bpffsPath, removeStaleLegacyEvents } from '../src/attach/index.ts';
import { fdCount, needsRoot } from './helpers/env.ts';
import { Counters, counterProgram } from './attach_helpers.ts';

const getpgidN = (n: number) => {
  for (let i = 0; i < n; i++) libcGetpgid(0);
};

describe.skipIf(needsRoot)('tracepoints and raw tracepoints', () => {
  let counters: Counters;
  beforeAll(() => {
    tracefsPath({ mount: true });
    counters = new Counters();
  });
  afterAll(() => counters.close());

  for (const mode of ['BPF perf link', 'PERF_EVENT_IOC_SET_BPF'] as const) {
    it(`tp/syscalls/sys_enter_getpgid fires once per getpgid call (${mode})`, () => {
      counters.reset();
      const prog = counterProgram(BpfProgType.BPF_PROG_TYPE_TRACEPOINT, counters.fd.value, { pid: process.pid, name: 'count_getpgid' });
      const before = fdCount();
      const link = attachTracepoint(prog, 'syscalls', 'sys_enter_getpgid', { forceIoctl: mode !== 'BPF perf link' });
      try {
        expect(link).toBeInstanceOf(PerfEventLink);
        expect(link.isBpfLink).toBe(mode === 'BPF perf link');
        getpgidN(17);
        expect(counters.get(0)).toBe(17n);
      } finally {
        link.destroy();
        link.destroy(); // idempotent
      }
      getpgidN(5);
      expect(counters.get(0)).toBe(17n);
      expect(fdCount()).toBe(before);
      prog.close();
    });
  }

  it('raw_tp/sys_enter fires for each syscall of ours (at least the getpgid calls)', () => {
    counters.reset();
    const prog = counterProgram(BpfProgType.BPF_PROG_TYPE_RAW_TRACEPOINT, counters.fd.value, { pid: process.pid, name: 'count_raw' });
    const link = attachRawTracepoint(prog, 'sys_enter');
    getpgidN(100);
    const n = counters.get(0);
    link.destroy();
    expect(n).toBeGreaterThanOrEqual(100n);
    expect(link.info).toBeDefined();
    prog.close();
  });

  it('pins a link on bpffs, reports its info, and unpins it', () => {
    const prog = counterProgram(BpfProgType.BPF_PROG_TYPE_RAW_TRACEPOINT, counters.fd.value, { name: 'pinned' });
    const link = attachRawTracepoint(prog, 'sys_enter');
    const path = join(bpffsPath({ mount: true }), `tsbpf_attach_test_${process.pid}`);
    try {
      const info = link.info();
      expect(info.typeName).toBe('BPF_LINK_TYPE_RAW_TRACEPOINT');
      expect(info.id).toBeGreaterThan(0);
      expect(info.progId).toBe(prog.info().id);
      link.pin(path);
      expect(existsSync(path)).toBe(true);
      link.unpin();
      expect(existsSync(path)).toBe(false);
    } finally {
      link.destroy();
      prog.close();
    }
  });

  it('removes legacy probe events left by a dead tsbpf process, and only those', () => {
    const root = tracefsPath();
    if (!existsSync(join(root, 'uprobe_events'))) return;
    let dead = 4_000_000;
    while (existsSync(`/proc/${dead}`)) dead++;
    const ev = `uprobes/tsbpf_${dead}_stale_0_0`;
    appendFileSync(join(root, 'uprobe_events'), `p:${ev} /bin/true:0x0\n`);
    expect(readFileSync(join(root, 'uprobe_events'), 'utf8')).toContain(ev);
    expect(removeStaleLegacyEvents(root, 'uprobe', true)).toContain(ev);
    expect(readFileSync(join(root, 'uprobe_events'), 'utf8')).not.toContain(ev);
  });

  it('names a missing tracepoint and the tracefs path it looked for', () => {
    const prog = counterProgram(BpfProgType.BPF_PROG_TYPE_TRACEPOINT, counters.fd.value, { name: 'nope' });
    try {
      attachTracepoint(prog, 'syscalls', 'sys_enter_nope');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AttachError);
      expect((e as Error).message).toMatch(
        /program "nope": cannot attach to tracepoint syscalls\/sys_enter_nope: tracepoint syscalls\/sys_enter_nope does not exist \(no \/sys\/kernel(\/debug)?\/tracing\/events\/syscalls\/sys_enter_nope\)/,
      );
    } finally {
      prog.close();
    }
  });

  it('destroyLinks releases 10 tracepoint links concurrently and leaks no fd', async () => {
    const names = ['getpgid', 'getppid', 'getpid', 'gettid', 'getuid', 'geteuid', 'getgid', 'getegid', 'getsid', 'getpgrp'];
    const prog = counterProgram(BpfProgType.BPF_PROG_TYPE_TRACEPOINT, counters.fd.value, { name: 'ten' });
    const before = fdCount();
    const links = names.map((n) => attachTracepoint(prog, 'syscalls', `sys_enter_${n}`));
    expect(fdCount()).toBe(before + 20);
    await destroyLinks(links);
    expect(links.every((l) => l.destroyed)).toBe(true);
    expect(fdCount()).toBe(before);
    await destroyLinks(links); // idempotent
    prog.close();
  });
});
