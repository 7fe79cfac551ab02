// CO-RE on the running kernel: an object that reads task_struct fields
// through CO-RE relocations records them for the calling process, and every
// field is checked against /proc.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BpfObject } from '../src/object/index.ts';
import { BPF_DIR } from './helpers/oracle.ts';
import { hasKernelBtf, needsRoot } from './helpers/env.ts';
import { procStat } from './helpers/proc.ts';

const USER_HZ = 100; // x86_64

describe.skipIf(needsRoot ?? (!hasKernelBtf ? 'needs /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)' : undefined))('CO-RE against the running kernel', () => {
  it('reads tgid, real_parent->tgid, comm, start_boottime, uid and gid exactly as /proc reports them', async () => {
    const o = BpfObject.openAndLoad(`${BPF_DIR}/core_task.bpf.o`);
    try {
      const relocated = o.program('task_syscall').coreOutcomes;
      expect(relocated.length).toBeGreaterThanOrEqual(6);
      expect(relocated.some((r) => r.description.includes('real_parent'))).toBe(true);
      expect(o.program('task_syscall').prog.testRun().retval).toBe(0);
      const key = Buffer.alloc(4);
      key.writeUInt32LE(process.pid);
      const v = o.map('tasks').map.lookup(key);
      expect(v).toBeDefined();
      const info = Buffer.from(v!);
      const stat = procStat('self');
      const status = readFileSync('/proc/self/status', 'utf8');
      expect(info.readUInt32LE(0)).toBe(process.pid);
      expect(info.readUInt32LE(4)).toBe(Number(stat[4])); // ppid
      expect(Number(info.readBigUInt64LE(16) / BigInt(1e9 / USER_HZ))).toBe(Number(stat[22])); // start time in clock ticks since boot
      expect(info.readBigUInt64LE(8)).toBeGreaterThan(0n); // start_time (monotonic)
      expect(info.readUInt32LE(24)).toBe(Number(/^Uid:\s+(\d+)/m.exec(status)![1]));
      expect(info.readUInt32LE(28)).toBe(Number(/^Gid:\s+(\d+)/m.exec(status)![1]));
      expect(info.subarray(32, 48).toString('utf8').replace(/\0.*$/s, '')).toBe(readFileSync('/proc/self/comm', 'utf8').trim());
    } finally {
      await o.destroy();
    }
  });

  it('the CO-RE-heavy object relocates all of its relocations and runs', async () => {
    const o = BpfObject.openAndLoad(`${BPF_DIR}/core.bpf.o`);
    try {
      const outcomes = o.program('core_syscall').coreOutcomes;
      expect(outcomes.length).toBeGreaterThanOrEqual(64);
      const structs = new Set(outcomes.map((r) => /^struct (\w+)/.exec(r.description)?.[1]).filter(Boolean));
      expect(structs.size).toBeGreaterThanOrEqual(15);
      // the object guards relocations that cannot resolve (flavors that exist nowhere): those are poisoned, not fatal
      expect(outcomes.some((r) => r.poisoned)).toBe(true);
      expect(o.program('core_syscall').prog.testRun({ ctxIn: Buffer.alloc(64) }).retval).toBe(0);
    } finally {
      await o.destroy();
    }
  });
});
