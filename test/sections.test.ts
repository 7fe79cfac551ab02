// The section table: a section name parses once into a typed attach target.
import { describe, expect, it } from 'vitest';
import { NotSupportedError, TsbpfError } from '../src/errors.ts';
import { AttachError, attachTarget, attachesByName, autoAttach, knownSectionForms, parseSection, SECTION_DEFS } from '../src/attach/index.ts';
import { BpfAttachType as A } from '../src/prog/index.ts';
import { parseObject } from '../src/object/index.ts';
import { readFileSync, readdirSync } from 'node:fs';

const target = (name: string) => parseSection(name)?.target;
const fakeProg = { name: 'p', fd: -1 };

describe('parseSection', () => {
  it('parses the attach target of each kind into typed fields', () => {
    expect(target('tp/syscalls/sys_enter_getpgid')).toEqual({ kind: 'tracepoint', category: 'syscalls', name: 'sys_enter_getpgid' });
    expect(target('tracepoint/sched/sched_switch')).toEqual({ kind: 'tracepoint', category: 'sched', name: 'sched_switch' });
    expect(target('raw_tp.w/sys_enter')).toEqual({ kind: 'raw_tracepoint', name: 'sys_enter' });
    expect(target('kprobe/do_sys_openat2+0x10')).toEqual({ kind: 'kprobe', func: 'do_sys_openat2', offset: 16, retprobe: false });
    expect(target('kretprobe/do_sys_openat2')).toEqual({ kind: 'kprobe', func: 'do_sys_openat2', offset: 0, retprobe: true });
    expect(target('kretsyscall/getpgid')).toEqual({ kind: 'ksyscall', syscall: 'getpgid', retprobe: true });
    expect(target('uprobe/libc.so.6:malloc+4')).toEqual({ kind: 'uprobe', binary: 'libc.so.6', func: 'malloc', offset: 4, retprobe: false });
    expect(target('uretprobe.s//usr/bin/x:0x1000')).toEqual({ kind: 'uprobe', binary: '/usr/bin/x', func: undefined, offset: 0x1000, retprobe: true });
    expect(target('fexit/do_unlinkat')).toEqual({ kind: 'tracing', func: 'do_unlinkat', attachType: A.BPF_TRACE_FEXIT });
    expect(target('lsm.s/file_open')).toEqual({ kind: 'tracing', func: 'file_open', attachType: A.BPF_LSM_MAC });
    expect(target('iter/task')).toEqual({ kind: 'iter', target: 'task' });
    expect(target('xdp')).toEqual({ kind: 'xdp' });
    expect(target('tc/egress')).toEqual({ kind: 'tcx', direction: 'egress' });
    expect(target('tcx/ingress')).toEqual({ kind: 'tcx', direction: 'ingress' });
    expect(target('cgroup/connect4')).toEqual({ kind: 'cgroup', attachType: A.BPF_CGROUP_INET4_CONNECT });
    expect(target('cgroup_skb/ingress')).toEqual({ kind: 'cgroup', attachType: A.BPF_CGROUP_INET_INGRESS });
    expect(target('cgroup/skb')).toMatchObject({ kind: 'none' });
    expect(target('sockops')).toEqual({ kind: 'cgroup', attachType: A.BPF_CGROUP_SOCK_OPS });
    expect(target('sk_lookup')).toEqual({ kind: 'netns', attachType: A.BPF_SK_LOOKUP });
    expect(target('usdt//usr/bin/node:node:gc__start')).toEqual({ kind: 'usdt', binary: '/usr/bin/node', provider: 'node', name: 'gc__start' });
    expect(target('kretprobe.multi/vfs_*')).toEqual({ kind: 'kprobe_multi', pattern: 'vfs_*', retprobe: true, session: false });
    expect(target('uprobe.session//bin/x:f*')).toEqual({ kind: 'uprobe_multi', binary: '/bin/x', pattern: 'f*', retprobe: false, session: true });
    expect(target('struct_ops/init')).toEqual({ kind: 'struct_ops', member: 'init' });
  });

  it('says why a name alone cannot attach', () => {
    expect(target('kprobe')).toMatchObject({ kind: 'none', reason: expect.stringMatching(/SEC\("kprobe"\) names no function/) });
    expect(target('tp/nocategory')).toMatchObject({ kind: 'none', reason: expect.stringMatching(/"nocategory" is not <category>\/<name>/) });
    expect(target('tc')).toMatchObject({ kind: 'none', reason: expect.stringMatching(/no direction/) });
    expect(target('xdp/devmap')).toMatchObject({ kind: 'none' });
    expect(target('socket')).toMatchObject({ kind: 'none', reason: expect.stringMatching(/no auto-attach target/) });
    expect(target('freplace/f')).toMatchObject({ kind: 'none', reason: expect.stringMatching(/another program/) });
  });

  it('returns undefined for an unknown name; the error names it and lists the known forms', () => {
    expect(parseSection('bogus/x')).toBeUndefined();
    expect(parseSection('.text')).toBeUndefined();
    const forms = knownSectionForms();
    expect(forms).toContain('tp/<category>/<name>');
    expect(forms).toContain('kprobe/<function>[+<offset>]');
    expect(forms).toContain('xdp');
    expect(forms.length).toBe(SECTION_DEFS.length);
    let err: unknown;
    try {
      autoAttach(fakeProg, 'bogus/x');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AttachError);
    expect((err as Error).message).toMatch(/unknown section name "bogus\/x"; known forms: socket, .*tp\/<category>\/<name>/);
  });

  it('every table entry parses to a target, and the pending kinds throw NotSupportedError at attach', () => {
    for (const def of SECTION_DEFS) {
      const name = def.sec.endsWith('+') ? def.sec.slice(0, -1) : def.sec;
      expect(parseSection(name)?.def).toBe(def);
    }
    // usdt attaches by name, through its object's usdt.bpf.h maps (BpfObject.attach passes them)
    expect(attachesByName(target('usdt//bin/true:p:n')!)).toBe(true);
    expect(() => attachTarget(fakeProg, target('usdt//bin/true:p:n')!)).toThrow(/usdt\.bpf\.h maps: attach it through BpfObject/);
    for (const name of ['kprobe.session/f', 'uprobe.session//bin/true:f', 'struct_ops/x']) {
      const t = target(name)!;
      expect(attachesByName(t)).toBe(false);
      expect(() => attachTarget(fakeProg, t)).toThrow(NotSupportedError);
    }
    const e = (() => {
      try {
        attachTarget(fakeProg, target('perf_event')!);
      } catch (e) {
        return e;
      }
    })();
    expect(e).toBeInstanceOf(TsbpfError);
  });

  it('each program of the committed objects carries its parsed target', () => {
    const dir = new URL('../bpf/', import.meta.url);
    let n = 0;
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.bpf.o'))) {
      const spec = parseObject(readFileSync(new URL(f, dir)));
      for (const p of spec.programs) {
        expect(p.target).toEqual(parseSection(p.sectionName)!.target);
        n++;
      }
    }
    expect(n).toBeGreaterThan(10);
  });
});
