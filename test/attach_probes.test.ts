// uprobes, perf_event programs, XDP, errors and auto-attach on the dev kernel.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERF_COUNT_SW_CPU_CLOCK, PERF_TYPE_SOFTWARE, libcGetpgid } from '../src/syscall/index.ts';
import { BpfProgType } from '../src/prog/index.ts';
import {
  AttachError,
  attachKprobe,
  attachKsyscall,
  attachPerfEventAllCpus,
  attachUprobe,
  attachUretprobe,
  attachXdp,
  autoAttach,
  destroyLinks,
  findLibrary,
  listLegacyEvents,
  parseLdCache,
  probePmu,
  resolveSymbolOffset,
  tracefsPath,
} from '../src/attach/index.ts';
import { fdCount, needsRoot, hasCommand } from './helpers/env.ts';
import { Counters, counterProgram, uprobeRecorder } from './attach_helpers.ts';

const REPO = resolve(import.meta.dirname, '..');
const BUILD = join(REPO, 'test', 'build');
const TARGET = join(BUILD, 'uprobe_target');

function buildTarget(): void {
  mkdirSync(BUILD, { recursive: true });
  execFileSync('cc', ['-O1', '-g', '-o', TARGET, join(REPO, 'test', 'fixtures', 'uprobe_target.c')]);
}

describe('symbol and library resolution (no kernel)', () => {
  beforeAll(buildTarget);
  it('finds a function in the test binary and maps it to a file offset', () => {
    const off = resolveSymbolOffset(TARGET, 'tsbpf_add');
    // cross-check with nm: for this PIE the .text segment has vaddr == offset
    const nm = execFileSync('nm', [TARGET], { encoding: 'utf8' });
    const addr = BigInt('0x' + /^([0-9a-f]+) T tsbpf_add$/m.exec(nm)![1]);
    expect(off).toBe(addr);
  });
  it('resolves libc.so.6 through /etc/ld.so.cache and finds getpgid in its .dynsym', () => {
    const entries = parseLdCache(Buffer.from(execFileSync('cat', ['/etc/ld.so.cache'])));
    expect(entries.some((e) => e.name === 'libc.so.6')).toBe(true);
    const libc = findLibrary('libc.so.6')!;
    expect(libc).toMatch(/libc\.so\.6$/);
    expect(resolveSymbolOffset(libc, 'getpgid')).toBeGreaterThan(0n);
  });
  it('names a missing symbol and a missing binary', () => {
    expect(() => resolveSymbolOffset(TARGET, 'no_such_fn')).toThrow(`symbol no_such_fn not found in ${TARGET}`);
    const fake = { name: 'p', fd: -1 };
    expect(() => attachUprobe(fake, '/nonexistent/bin', { symbol: 'f' })).toThrow(/program "p": cannot attach to uprobe \/nonexistent\/bin:f: binary \/nonexistent\/bin does not exist/);
    expect(() => attachUprobe(fake, 'libnope.so.9', { symbol: 'f' })).toThrow(/library libnope\.so\.9 not found/);
  });
});

describe.skipIf(needsRoot)('uprobes, perf events, XDP and errors on the real kernel', () => {
  let counters: Counters;
  beforeAll(() => {
    buildTarget();
    tracefsPath({ mount: true });
    counters = new Counters();
  });
  afterAll(() => counters.close());

  for (const mode of ['pmu', 'legacy'] as const) {
    it(`uprobe and uretprobe on tsbpf_add see its argument and return value (${mode})`, () => {
      counters.reset();
      const up = uprobeRecorder(counters.fd.value, 'arg', 'up_arg');
      const ret = uprobeRecorder(counters.fd.value, 'ret', 'up_ret');
      const before = fdCount();
      const l1 = attachUprobe(up, TARGET, { symbol: 'tsbpf_add', mode });
      const l2 = attachUretprobe(ret, TARGET, { symbol: 'tsbpf_add', mode });
      if (mode === 'legacy') expect(listLegacyEvents(tracefsPath(), 'uprobe')).toHaveLength(2);
      try {
        expect(execFileSync(TARGET, ['5'], { encoding: 'utf8' }).trim()).toBe(String(40 + 41 + 42 + 43 + 44 + 10));
        // 5 entries + 5 returns; the last call was tsbpf_add(44, 2) = 46
        expect(counters.get(0)).toBe(10n);
        expect(counters.get(1)).toBe(44n);
        expect(counters.get(2)).toBe(46n);
      } finally {
        l1.destroy();
        l2.destroy();
      }
      expect(fdCount()).toBe(before);
      expect(listLegacyEvents(tracefsPath(), 'uprobe')).toEqual([]);
      execFileSync(TARGET, ['3']);
      expect(counters.get(0)).toBe(10n);
      up.close();
      ret.close();
    });
  }

  it('uprobe on libc.so.6:getpgid for our pid counts our getpgid calls (section name form)', () => {
    counters.reset();
    const prog = counterProgram(BpfProgType.BPF_PROG_TYPE_KPROBE, counters.fd.value, { name: 'libc_getpgid' });
    const link = autoAttach(prog, 'uprobe/libc.so.6:getpgid', { pid: process.pid });
    for (let i = 0; i < 9; i++) libcGetpgid(0);
    link.destroy();
    expect(counters.get(0)).toBe(9n);
    prog.close();
  });

  it('a perf_event program on the software CPU clock runs on every CPU', async () => {
    counters.reset();
    const prog = counterProgram(BpfProgType.BPF_PROG_TYPE_PERF_EVENT, counters.fd.value, { name: 'on_clock' });
    const before = fdCount();
    const links = attachPerfEventAllCpus(prog, { type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_CPU_CLOCK, sampleFreq: 1000 });
    const end = Date.now() + 100;
    while (Date.now() < end); // burn CPU so the clock ticks here too
    await destroyLinks(links);
    expect(counters.get(0)).toBeGreaterThan(0n);
    expect(fdCount()).toBe(before);
    prog.close();
  });

  it('says this kernel has no kprobes, naming what is absent', () => {
    if (probePmu('kprobe') || existsSync(join(tracefsPath(), 'kprobe_events'))) return; // a kernel with kprobes: see test/vm
    const prog = counterProgram(BpfProgType.BPF_PROG_TYPE_KPROBE, counters.fd.value, { name: 'kp' });
    try {
      for (const f of [() => attachKprobe(prog, 'do_sys_openat2'), () => attachKsyscall(prog, 'getpgid'), () => autoAttach(prog, 'kretprobe/do_sys_openat2')]) {
        expect(f).toThrow(AttachError);
        expect(f).toThrow(
          'this kernel has no kprobe support: /sys/bus/event_source/devices/kprobe is absent and tracefs has no kprobe_events (CONFIG_KPROBES/CONFIG_KPROBE_EVENTS not set)',
        );
      }
      expect(() => attachKprobe(prog, 'do_sys_openat2')).toThrow(/program "kp": cannot attach to kprobe do_sys_openat2/);
    } finally {
      prog.close();
    }
  });

  it('says tracefs is not mounted, with the command that fixes it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-notracefs-'));
    try {
      expect(() => tracefsPath({ paths: [dir], mount: false })).toThrow(`tracefs is not mounted: mount -t tracefs nodev ${dir}`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('auto-attach explains sections without a target', () => {
    const p = { name: 'x', fd: -1 };
    expect(() => autoAttach(p, 'perf_event')).toThrow(/program "x": cannot attach to section "perf_event": SEC\("perf_event"\) has no auto-attach target/);
    expect(() => autoAttach(p, 'xdp')).toThrow(/needs an interface/);
    expect(() => autoAttach(p, 'cgroup_skb/ingress')).toThrow(/needs a cgroup/);
    expect(() => autoAttach(p, 'uprobe')).toThrow(/names no path>:<function/);
    expect(() => autoAttach(p, 'bogus/x')).toThrow(/unknown section name/);
  });
});

// An XDP program on one end of a veth pair, the other end in a test network
// namespace that pings us.
const hasIp = hasCommand('ip', ['-V']);

describe.skipIf(needsRoot || !hasIp)('XDP on a veth (packets sent from a test network namespace)', () => {
  const ns = `tsbpf_xdp_${process.pid}`;
  const host = `tsx${process.pid % 100000}a`;
  const peer = `tsx${process.pid % 100000}b`;
  const sh = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  // n UDP datagrams from the namespace to the host end (node: no ping on the CI image)
  const sendUdp = (n: number) =>
    execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e',
      `const s=require('dgram').createSocket('udp4');let k=0;const go=()=>s.send('x',9,'10.211.77.1',()=>{if(++k<${n})go();else s.close()});go()`], { stdio: 'pipe' });
  beforeAll(() => {
    sh('netns', 'add', ns);
    sh('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
    sh('link', 'set', peer, 'netns', ns);
    sh('addr', 'add', '10.211.77.1/30', 'dev', host);
    sh('link', 'set', host, 'up');
    sh('-n', ns, 'addr', 'add', '10.211.77.2/30', 'dev', peer);
    sh('-n', ns, 'link', 'set', peer, 'up');
    sh('-n', ns, 'link', 'set', 'lo', 'up');
  });
  afterAll(() => {
    try {
      sh('link', 'del', host);
    } catch {}
    try {
      sh('netns', 'del', ns);
    } catch {}
  });

  it('counts the packets arriving on the host end and detaches cleanly', () => {
    const counters = new Counters();
    const prog = counterProgram(BpfProgType.BPF_PROG_TYPE_XDP, counters.fd.value, { name: 'xdp_count', ret: 2 /* XDP_PASS */ });
    const before = fdCount();
    const link = attachXdp(prog, host);
    try {
      const info = link.info();
      expect(info.typeName).toBe('BPF_LINK_TYPE_XDP');
      expect(info.ifindex).toBeGreaterThan(0);
      sendUdp(5);
      expect(counters.get(0)).toBeGreaterThanOrEqual(5n); // 5 datagrams (+ ARP)
    } finally {
      link.destroy();
    }
    expect(fdCount()).toBe(before);
    const n = counters.get(0);
    sendUdp(2);
    expect(counters.get(0)).toBe(n);
    prog.close();
    counters.close();
  });
});
