// bpf/attach.bpf.o through the object loader (src/object) and auto-attach:
// tp, raw_tp, tp_btf, uprobe/uretprobe, perf_event and iter/task on the dev
// kernel. (kprobe/ksyscall/fentry/fexit run in the 6.1 guest: test/vm/suite.)
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject } from '../src/object/index.ts';
import { PERF_COUNT_SW_CPU_CLOCK, PERF_TYPE_SOFTWARE, libcGetpgid } from '../src/syscall/index.ts';
import { IterLink, attachPerfEvent, attachUprobe, attachUretprobe, autoAttach, destroyLinks, tracefsPath, type Link } from '../src/attach/index.ts';
import { fdCount, hasKernelBtf, needsRoot } from './helpers/env.ts';

const REPO = resolve(import.meta.dirname, '..');
const TARGET = join(REPO, 'test', 'build', 'uprobe_target');
const ON_HOST_ONLY = ['kprobe_openat2', 'kretprobe_openat2', 'ksyscall_getpgid', 'fentry_openat2', 'fexit_openat2'];

describe.skipIf(needsRoot || !hasKernelBtf)('bpf/attach.bpf.o: auto-attach by section name', () => {
  let obj: BpfObject;
  const count = (slot: number) => Buffer.from(obj.bss.raw('counts')).readBigUInt64LE(slot * 8);
  const prog = (name: string) => {
    const p = obj.program(name);
    return { name: p.name, fd: p.fd, section: p.sectionName };
  };
  beforeAll(() => {
    mkdirSync(join(REPO, 'test', 'build'), { recursive: true });
    execFileSync('cc', ['-O1', '-g', '-o', TARGET, join(REPO, 'test', 'fixtures', 'uprobe_target.c')]);
    tracefsPath({ mount: true });
    obj = BpfObject.open(join(REPO, 'bpf', 'attach.bpf.o'));
    // fentry/fexit are refused here by policy (EPERM); kprobes load but have nothing to attach to.
    for (const n of ON_HOST_ONLY) obj.program(n).autoload = false;
    obj.rodata.set('target_pid', process.pid);
    obj.load();
  });
  afterAll(async () => {
    await obj?.destroy();
  });

  it('tp/, raw_tp/ and tp_btf/ each count exactly the getpgid calls made', async () => {
    const before = fdCount();
    const links: Link[] = ['tp_getpgid', 'raw_tp_sys_enter', 'tp_btf_sys_enter'].map((n) => autoAttach(prog(n), prog(n).section));
    const base = [0, 1, 2].map(count);
    for (let i = 0; i < 25; i++) libcGetpgid(0);
    expect([0, 1, 2].map((s) => count(s) - base[s]!)).toEqual([25n, 25n, 25n]);
    await destroyLinks(links);
    for (let i = 0; i < 5; i++) libcGetpgid(0);
    expect([0, 1, 2].map((s) => count(s) - base[s]!)).toEqual([25n, 25n, 25n]);
    expect(fdCount()).toBe(before);
  });

  it('uprobe/uretprobe programs see the arguments and the return value', () => {
    // target_pid filters on our pid, so probe a function this process calls: libc's getpgid.
    const l1 = attachUprobe(prog('uprobe_fn'), 'libc.so.6', { symbol: 'getpgid', pid: process.pid });
    const l2 = attachUretprobe(prog('uretprobe_fn'), 'libc.so.6', { symbol: 'getpgid', pid: process.pid });
    const base = [3, 4].map(count);
    const pgid = libcGetpgid(0);
    libcGetpgid(process.pid);
    l1.destroy();
    l2.destroy();
    expect([count(3) - base[0]!, count(4) - base[1]!]).toEqual([2n, 2n]);
    const bss = obj.bss;
    const args = Buffer.from(bss.raw('uprobe_args'));
    expect(args.readBigInt64LE(0)).toBe(BigInt(process.pid)); // last call's first argument
    expect(Buffer.from(bss.raw('uretprobe_ret')).readBigInt64LE(0)).toBe(BigInt(pgid));
  });

  it('perf_event: the program runs on a software clock event', () => {
    const base = count(5);
    const link = attachPerfEvent(prog('on_perf_event'), 0, { type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_CPU_CLOCK, samplePeriod: 1_000_000 });
    const end = Date.now() + 60;
    while (Date.now() < end);
    link.destroy();
    expect(count(5)).toBeGreaterThan(base);
    expect(Buffer.from(obj.bss.raw('perf_sample_period')).readBigUInt64LE(0)).toBe(1_000_000n);
  });

  it('iter/task: reads one line per task, including ours, as a string and as a stream', async () => {
    const link = autoAttach(prog('dump_task'), prog('dump_task').section) as IterLink;
    expect(link).toBeInstanceOf(IterLink);
    const text = link.readString();
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe('tgid pid comm');
    expect(lines).toContain(`${process.pid} ${process.pid} ${execFileSync('cat', [`/proc/${process.pid}/comm`], { encoding: 'utf8' }).trim()}`);
    let streamed = '';
    for await (const chunk of link.stream(4096)) streamed += chunk.toString();
    expect(streamed.split('\n')[0]).toBe('tgid pid comm');
    expect(link.info().typeName).toBe('BPF_LINK_TYPE_ITER');
    link.destroy();
  });
});
