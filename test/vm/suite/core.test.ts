// CO-RE across kernels, inside the Debian 6.1 guest: the same objects that
// were relocated against 6.18 on the host are relocated against 6.1 here,
// where struct layouts differ. The values read must match the guest's /proc,
// and every program's tag must equal what C libbpf produces in the guest.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { autoAttach } from '../../../src/attach/index.ts';
import { BpfObject } from '../../../src/object/index.ts';
import { RingBuffer } from '../../../src/ringbuf/index.ts';
import { event as bootstrapEvent, type event as BootstrapEvent } from '../../../bpf/skel/bootstrap.skel.ts';
import { oracleAvailable, oracleLoadSync } from '../../helpers/oracle.ts';
import { procStat } from '../../helpers/proc.ts';
import { NotSupportedError } from '../../../src/errors.ts';
import { kernelAtLeast } from './guest.ts';

const REPO = resolve(import.meta.dirname, '..', '..', '..');
const BPF = join(REPO, 'bpf');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(process.env.TSBPF_VM !== '1')(`CO-RE on the ${process.env.TSBPF_VM_KERNEL} guest`, () => {
  it('core_task reads the calling task exactly as /proc reports it', async () => {
    const o = BpfObject.openAndLoad(join(BPF, 'core_task.bpf.o'));
    try {
      expect(o.program('task_syscall').prog!.testRun().retval).toBe(0);
      const key = Buffer.alloc(4);
      key.writeUInt32LE(process.pid);
      const info = Buffer.from(o.map('tasks').map!.lookup(key)!);
      const stat = procStat('self');
      expect(info.readUInt32LE(0)).toBe(process.pid);
      expect(info.readUInt32LE(4)).toBe(Number(stat[4]));
      expect(Number(info.readBigUInt64LE(16) / 10_000_000n)).toBe(Number(stat[22]));
      expect(info.subarray(32, 48).toString('utf8').replace(/\0.*$/s, '')).toBe(readFileSync('/proc/self/comm', 'utf8').trim());
    } finally {
      await o.destroy();
    }
  });

  it('bootstrap sees a spawned process exec with ppid, comm, filename and start time matching /proc', async () => {
    const o = BpfObject.openAndLoad(join(BPF, 'bootstrap.bpf.o'));
    const rb = new RingBuffer(o.map('rb').map!);
    const events: BootstrapEvent[] = [];
    try {
      for (const p of o.programs.values()) o.adopt(autoAttach(p.prog!, p.sectionName, { mount: true }));
      rb.start((view, off) => void events.push(bootstrapEvent.decode(view, off)));
      const bin = realpathSync('/bin/sleep');
      const child = spawn(bin, ['1']);
      await sleep(400);
      const stat = procStat(child.pid!);
      await new Promise((r) => child.on('exit', r));
      for (let i = 0; i < 100 && !events.some((e) => e.pid === child.pid && e.exit_event); i++) await sleep(50);
      const exec = events.find((e) => e.pid === child.pid && !e.exit_event);
      expect(exec).toBeDefined();
      expect(exec!.ppid).toBe(process.pid);
      expect(exec!.comm).toBe(stat[2]);
      expect(exec!.filename).toBe(bin);
      expect(events.find((e) => e.pid === child.pid && e.exit_event)?.exit_code).toBe(0);
    } finally {
      rb.close();
      await o.destroy();
    }
  });

  it('every object loads here with the same program tags as C libbpf (CO-RE against this kernel included)', async () => {
    const avail = oracleAvailable();
    if (!avail.ok) throw new Error(`oracle unavailable in the guest: ${avail.reason}`);
    // libbpf 1.1 predates the uprobe.multi sections (1.3) and .struct_ops.link (1.2): it refuses
    // uprobe_multi.bpf.o and tcp_reno_link.bpf.o, which tsbpf loads
    const skip = new Set(['legacy_maps.bpf.o', 'broken.bpf.o', 'pinned.bpf.o', 'uprobe_multi.bpf.o', 'tcp_reno_link.bpf.o']);
    for (const f of readdirSync(BPF).filter((x) => x.endsWith('.bpf.o') && !skip.has(x))) {
      const c = oracleLoadSync(join(BPF, f));
      if (!c.ok) {
        // what libbpf cannot load here (e.g. a kfunc this kernel lacks), tsbpf must refuse too
        let refused = false;
        try {
          await BpfObject.openAndLoad(join(BPF, f)).destroy();
        } catch {
          refused = true;
        }
        expect(refused, `${f}: libbpf refused it (${c.error?.message}) but tsbpf loaded it`).toBe(true);
        continue;
      }
      const expected = Object.fromEntries(c.progs.filter((p) => p.tag).map((p) => [p.name, p.tag!]));
      let o: BpfObject;
      try {
        o = BpfObject.openAndLoad(join(BPF, f));
      } catch (e) {
        // libbpf 1.1 skips a .struct_ops.link section it does not know; tsbpf creates its map,
        // which a kernel before 6.4 refuses (tcp_cc.bpf.o on 6.1)
        if (e instanceof NotSupportedError && e.feature === 'struct_ops links' && !kernelAtLeast(6, 4)) continue;
        throw e;
      }
      try {
        const got = Object.fromEntries([...o.programs.values()].filter((p) => p.prog).map((p) => [p.name, p.prog!.tag()]));
        expect(got, f).toEqual(expected);
      } finally {
        await o.destroy();
      }
    }
  });
});
