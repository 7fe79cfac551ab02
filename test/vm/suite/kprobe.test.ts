// kprobes in the Debian 6.1 guest (npm run test:vm): kprobe, kretprobe,
// ksyscall and kretsyscall fire on a triggered kernel function, through the
// kprobe PMU and through legacy tracefs kprobe_events (each forced in turn),
// and detach cleanly: no fds and no kprobe_events entries left behind.
import { closeSync, openSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject } from '../../../src/object/index.ts';
import { libcGetpgid } from '../../../src/syscall/index.ts';
import { AttachError, attachKprobe, autoAttach, listLegacyEvents, tracefsPath } from '../../../src/attach/index.ts';

const REPO = resolve(import.meta.dirname, '..', '..', '..');
const fdCount = () => readdirSync('/proc/self/fd').length;
const SLOT = { kprobe: 8, kretprobe: 9, ksyscall: 10 };

describe.skipIf(process.env.TSBPF_VM !== '1')(`kprobes (${process.env.TSBPF_VM_KERNEL} guest)`, () => {
  let obj: BpfObject;
  const count = (slot: number) => Buffer.from(obj.bss.raw('counts')).readBigUInt64LE(slot * 8);
  const prog = (name: string) => obj.program(name);
  beforeAll(() => {
    obj = BpfObject.open(join(REPO, 'bpf', 'attach.bpf.o'));
    for (const p of obj.programs.values()) p.autoload = ['kprobe_openat2', 'kretprobe_openat2', 'ksyscall_getpgid'].includes(p.name);
    obj.rodata.set('target_pid', process.pid);
    obj.load();
  });
  afterAll(async () => {
    await obj?.destroy();
  });

  for (const mode of ['pmu', 'legacy'] as const) {
    it(`kprobe and kretprobe on do_sys_openat2 count our opens (${mode})`, () => {
      const tracefs = tracefsPath();
      const before = fdCount();
      const kp = autoAttach(prog('kprobe_openat2'), 'kprobe/do_sys_openat2', { probeMode: mode });
      const krp = autoAttach(prog('kretprobe_openat2'), 'kretprobe/do_sys_openat2', { probeMode: mode });
      const base = [count(SLOT.kprobe), count(SLOT.kretprobe)];
      try {
        expect(listLegacyEvents(tracefs, 'kprobe')).toHaveLength(mode === 'legacy' ? 2 : 0);
        for (let i = 0; i < 20; i++) closeSync(openSync('/dev/null', 'r'));
      } finally {
        kp.destroy();
        krp.destroy();
      }
      const hits = [count(SLOT.kprobe) - base[0]!, count(SLOT.kretprobe) - base[1]!];
      expect(hits[0]).toBeGreaterThanOrEqual(20n);
      expect(hits[1]).toBeGreaterThanOrEqual(20n);
      expect(Buffer.from(obj.bss.raw('kretprobe_ret')).readBigInt64LE(0)).toBeGreaterThanOrEqual(0n);
      expect(fdCount()).toBe(before);
      expect(listLegacyEvents(tracefs, 'kprobe')).toEqual([]);
      // detached: opens no longer count
      const after = count(SLOT.kprobe);
      closeSync(openSync('/dev/null', 'r'));
      expect(count(SLOT.kprobe)).toBe(after);
    });

    it(`ksyscall/getpgid sees the syscall's argument (${mode})`, () => {
      const link = autoAttach(prog('ksyscall_getpgid'), 'ksyscall/getpgid', { probeMode: mode });
      const base = count(SLOT.ksyscall);
      try {
        for (let i = 0; i < 7; i++) libcGetpgid(process.pid);
      } finally {
        link.destroy();
      }
      expect(count(SLOT.ksyscall) - base).toBe(7n);
      expect(Buffer.from(obj.bss.raw('ksyscall_arg')).readBigInt64LE(0)).toBe(BigInt(process.pid));
      expect(listLegacyEvents(tracefsPath(), 'kprobe')).toEqual([]);
    });
  }

  it('names a missing kernel function (PMU and legacy)', () => {
    for (const mode of ['pmu', 'legacy'] as const) {
      const f = () => attachKprobe(prog('kprobe_openat2'), 'tsbpf_no_such_function', { mode });
      expect(f).toThrow(AttachError);
      expect(f).toThrow('kernel function tsbpf_no_such_function does not exist (not in /proc/kallsyms)');
    }
    expect(listLegacyEvents(tracefsPath(), 'kprobe')).toEqual([]);
  });
});
