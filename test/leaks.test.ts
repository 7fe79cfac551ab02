// Nothing leaks: 1,000 cycles of open -> load -> attach -> trigger ->
// destroy, and 1,000 loads that fail (verifier rejection, missing attach
// target, bad map definition), leave behind no file descriptor, no mapping,
// no kernel object we created and no tracefs probe event.
//
// What is counted, against a baseline taken after a warm-up (libuv's thread
// pool and V8's heap grow their own mappings once, whatever we do):
//   - fds: /proc/self/fd, and tsbpf's own count of open FD objects;
//   - mappings: /proc/self/maps lines naming a BPF map or a perf event (ours,
//     from the kernel) must return exactly to baseline; and, after a garbage
//     collection has let closed mappings' zero pages go (src/syscall/mem.ts),
//     the bytes mapped readable or writable to within 64 MiB (V8 and malloc
//     map memory of their own as they please; a cycle maps over 500 KiB of
//     ring and globals, so a leak per cycle would be hundreds of MiB);
//   - kernel objects, by id: every program, map, link and BTF object a good
//     cycle created (read from the object while it was loaded) must be gone
//     once the kernel's deferred frees have run (polled, bounded); for the
//     failed loads, the maps they created before failing, recognised by names
//     unique to this process (internal maps carry the object's name) or by a
//     max_entries unique to it;
//   - tracefs: our legacy uprobe events (every tenth good cycle attaches one
//     through uprobe_events) and the total count of defined uprobe events.
// Tracepoints and uprobes only: this host has no kprobes.
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { attachUprobe } from '../src/attach/index.ts';
import { listLegacyEvents } from '../src/attach/probe_events.ts';
import { BpfMap } from '../src/maps/index.ts';
import { BpfObject } from '../src/object/index.ts';
import { RingBuffer } from '../src/ringbuf/index.ts';
import { BpfCmd, BtfInfo, getFdById, getNextId, libcGetpgid, objGetInfo, openFdCount } from '../src/syscall/index.ts';
import { fdCount, hasKernelBtf, needsRoot } from './helpers/env.ts';

const bytes = (name: string): Buffer => readFileSync(resolve(import.meta.dirname, '..', 'bpf', `${name}.bpf.o`));
const RINGBUF = bytes('ringbuf_bench');
const ATTACH = bytes('attach');
const BROKEN = bytes('broken');
const TRACEFS = '/sys/kernel/tracing';
const CYCLES = 1000;
/** Good cycles in flight at once: closing a tracepoint link sleeps through RCU grace periods, so they overlap. */
const IN_FLIGHT = 16;
/** Object name for the failing loads: its internal maps are named after it, unique to this process. */
const TAG = `L${process.pid.toString(36)}`;
/** max_entries of broken.bpf.o's `counts` in the failing loads: unique to this process. */
const COUNTS_TAG = 1_000_000 + (process.pid % 1_000_000);

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Let finalizers run: collect, then give the registry's callbacks a turn, a few times. */
async function collect(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Mappings {
  /** Lines of /proc/self/maps. */
  total: number;
  /** Lines mapping a BPF map or a perf event (only tsbpf maps those in this process). */
  ours: number;
  /** MiB mapped with any access (reservations, ---p, left out). */
  mib: number;
}
function mappings(): Mappings {
  const lines = readFileSync('/proc/self/maps', 'utf8').trim().split('\n');
  let bytes = 0;
  for (const l of lines) {
    const [range, perms] = l.split(' ');
    if (perms === '---p') continue;
    const [start, end] = range!.split('-').map((x) => parseInt(x, 16));
    bytes += end! - start!;
  }
  return { total: lines.length, ours: lines.filter((l) => /anon_inode:(bpf-map|\[perf_event\])/.test(l)).length, mib: bytes / 2 ** 20 };
}

function uprobeEvents(): { total: number; ours: number } {
  let total = 0;
  try {
    total = readFileSync(`${TRACEFS}/uprobe_events`, 'utf8').split('\n').filter((l) => l.trim() !== '').length;
  } catch {
    // tracefs not mounted yet: no events
  }
  return { total, ours: listLegacyEvents(TRACEFS, 'uprobe').length };
}

interface Snapshot {
  fds: number;
  fdObjects: number;
  maps: Mappings;
  uprobes: { total: number; ours: number };
}
async function snapshot(): Promise<Snapshot> {
  await collect();
  return { fds: fdCount(), fdObjects: openFdCount(), maps: mappings(), uprobes: uprobeEvents() };
}

type Kind = 'prog' | 'map' | 'link' | 'btf';
const GET_FD: Record<Kind, BpfCmd.BPF_PROG_GET_FD_BY_ID | BpfCmd.BPF_MAP_GET_FD_BY_ID | BpfCmd.BPF_LINK_GET_FD_BY_ID | BpfCmd.BPF_BTF_GET_FD_BY_ID> = {
  prog: BpfCmd.BPF_PROG_GET_FD_BY_ID,
  map: BpfCmd.BPF_MAP_GET_FD_BY_ID,
  link: BpfCmd.BPF_LINK_GET_FD_BY_ID,
  btf: BpfCmd.BPF_BTF_GET_FD_BY_ID,
};

/** Does the kernel still have object `id` of `kind`? (Opening it by id fails with ENOENT once it is freed.) */
function alive(kind: Kind, id: number): boolean {
  try {
    getFdById(GET_FD[kind], id).close();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return false;
    throw err;
  }
}

/** The ids still alive after waiting up to `ms` for the kernel's deferred frees (RCU, work queues). */
async function stillAlive(ids: Map<Kind, Set<number>>, ms = 30_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left: string[] = [];
    for (const [kind, set] of ids) for (const id of set) if (alive(kind, id)) left.push(`${kind} ${id}`);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const u64At = (b: Uint8Array, i: number): bigint => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(i * 8, true);

/** One good cycle. Every tenth one loads attach.bpf.o and adds a legacy (tracefs) uprobe. */
async function goodCycle(i: number, ids: Map<Kind, Set<number>>): Promise<void> {
  const record = (kind: Kind, id: number): void => void ids.get(kind)!.add(id);
  if (i % 10 !== 0) {
    const o = BpfObject.open(RINGBUF, { name: 'ringbuf_bench' });
    for (const p of o.programs.values()) p.autoload = p.name === 'rb_produce';
    o.rodata.set('target_pid', process.pid);
    o.load();
    try {
      const link = o.attach('rb_produce', { mount: true });
      record('prog', o.program('rb_produce').prog.info().id);
      for (const m of o.maps.values()) record('map', m.map.info().id);
      if (link.isBpfLink) record('link', link.info().id);
      record('btf', objGetInfo(o.btfFd!, BtfInfo, 'object BTF').get('id'));
      const rb = new RingBuffer(o.map('rb'));
      libcGetpgid(0);
      const n = rb.consume(() => {});
      rb.close();
      expect(n).toBeGreaterThanOrEqual(1); // our getpgid (and maybe another cycle's) went through the ring
    } finally {
      await o.destroy();
    }
    return;
  }
  const o = BpfObject.open(ATTACH, { name: 'attach' });
  for (const p of o.programs.values()) p.autoload = p.name === 'tp_getpgid' || p.name === 'uprobe_fn';
  o.rodata.set('target_pid', process.pid);
  o.load();
  try {
    const tp = o.attach('tp_getpgid', { mount: true });
    const up = o.adopt(attachUprobe(o.program('uprobe_fn').prog, 'libc.so.6', { symbol: 'getpgid', pid: process.pid, mode: 'legacy', mount: true }));
    for (const p of ['tp_getpgid', 'uprobe_fn']) record('prog', o.program(p).prog.info().id);
    for (const m of o.maps.values()) record('map', m.map.info().id);
    for (const l of [tp, up]) if (l.isBpfLink) record('link', l.info().id);
    record('btf', objGetInfo(o.btfFd!, BtfInfo, 'object BTF').get('id'));
    libcGetpgid(0);
    const counts = o.bss.raw('counts');
    expect(u64At(counts, 0)).toBeGreaterThanOrEqual(1n); // tracepoint slot
    expect(u64At(counts, 3)).toBeGreaterThanOrEqual(1n); // uprobe slot
  } finally {
    await o.destroy();
  }
}

/** One load that fails, of three kinds in turn (the missing attach target at load or at attach, alternately). */
async function failingLoad(i: number): Promise<string> {
  const kind = i % 3;
  if (kind === 0) {
    // verifier rejection: broken_null_deref dereferences a map value without a NULL check
    const o = BpfObject.open(BROKEN, { name: TAG });
    o.map('counts').maxEntries = COUNTS_TAG;
    expect(() => o.load()).toThrow(/map_value_or_null/);
    return 'verifier';
  }
  if (kind === 1) {
    const o = BpfObject.open(ATTACH, { name: TAG });
    if (i % 2 === 0) {
      // missing attach target found at load: tp_btf needs the target's BTF id
      for (const p of o.programs.values()) p.autoload = p.name === 'tp_btf_sys_enter';
      o.program('tp_btf_sys_enter').attachTarget = 'tsbpf_no_such_tracepoint';
      expect(() => o.load()).toThrow(/tsbpf_no_such_tracepoint/);
      return 'target at load';
    }
    // missing attach target found at attach: a tracepoint that does not exist
    for (const p of o.programs.values()) p.autoload = p.name === 'tp_getpgid';
    o.program('tp_getpgid').attachTarget = 'syscalls/tsbpf_no_such_tracepoint';
    o.load();
    try {
      expect(() => o.attach('tp_getpgid', { mount: true })).toThrow(/tsbpf_no_such_tracepoint/);
    } finally {
      await o.destroy();
    }
    return 'target at attach';
  }
  // bad map definition: a hash map cannot be mmapable, and the kernel says so (EINVAL)
  const o = BpfObject.open(BROKEN, { name: TAG });
  o.map('counts').flags = 1 << 10; // BPF_F_MMAPABLE
  expect(() => o.load()).toThrow(/map "counts"/);
  return 'map definition';
}

/** Maps alive now, created after id `since`, that the failing loads made: internal maps named after TAG, or `counts` with COUNTS_TAG entries. */
function failedLoadMaps(since: number): number[] {
  const ours: number[] = [];
  for (let id = getNextId(BpfCmd.BPF_MAP_GET_NEXT_ID, since); id !== 0; id = getNextId(BpfCmd.BPF_MAP_GET_NEXT_ID, id)) {
    let m: BpfMap;
    try {
      m = BpfMap.fromId(id); // read-only look at a new map; only its name and size are read
    } catch {
      continue; // freed meanwhile
    }
    try {
      const info = m.info();
      if (info.name.startsWith(`${TAG}.`) || (info.name === 'counts' && info.maxEntries === COUNTS_TAG)) ours.push(id);
    } finally {
      m.close();
    }
  }
  return ours;
}

describe.skipIf(needsRoot || !hasKernelBtf)('leaks', () => {
  it(`${CYCLES} cycles of open, load, attach, trigger, destroy leave no fd, mapping, kernel object or probe event`, { timeout: 600_000 }, async (ctx) => {
    if (!readdirSync('/sys/bus/event_source/devices').includes('uprobe')) ctx.skip('no uprobe PMU (CONFIG_UPROBE_EVENTS): the legacy uprobe cycles need uprobe_events');
    const ids = new Map<Kind, Set<number>>([['prog', new Set()], ['map', new Set()], ['link', new Set()], ['btf', new Set()]]);
    const warm = new Map<Kind, Set<number>>([['prog', new Set()], ['map', new Set()], ['link', new Set()], ['btf', new Set()]]);
    // warm-up: the first of each kind, and bursts in flight (the thread pool's threads start once, V8's heap grows)
    for (let round = 0; round < 4; round++) await Promise.all(Array.from({ length: IN_FLIGHT }, (_, k) => goodCycle(k, warm)));
    const before = await snapshot();
    const t0 = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < CYCLES) await goodCycle(next++, ids);
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const cycled = performance.now() - t0;
    const left = await stillAlive(ids);
    const after = await snapshot();
    console.log(
      `leaks: ${CYCLES} good cycles in ${(cycled / 1000).toFixed(1)} s (${IN_FLIGHT} in flight); ` +
        `${[...ids].map(([k, s]) => `${s.size} ${k}s`).join(', ')} created, ${left.length} left; ` +
        `fds ${before.fds} -> ${after.fds}, mappings ${before.maps.total} -> ${after.maps.total} lines, ${before.maps.mib.toFixed(1)} -> ${after.maps.mib.toFixed(1)} MiB (ours ${before.maps.ours} -> ${after.maps.ours}), uprobe events ${before.uprobes.total} -> ${after.uprobes.total}`,
    );
    expect(ids.get('prog')!.size).toBeGreaterThanOrEqual(CYCLES); // the ids are real: one program or more per cycle
    expect(left).toEqual([]);
    expect(after.fds).toBe(before.fds);
    expect(after.fdObjects).toBe(before.fdObjects);
    expect(after.maps.ours).toBe(before.maps.ours);
    expect(after.maps.mib).toBeLessThan(before.maps.mib + 64);
    // only our own events: other processes on the machine (other test files, other tools) may define theirs meanwhile
    expect(after.uprobes.ours).toBe(before.uprobes.ours);
  });

  it(`${CYCLES} failing loads (verifier rejection, missing attach target, bad map definition) leave nothing behind`, { timeout: 600_000 }, async () => {
    for (let i = 0; i < 6; i++) await failingLoad(i); // warm-up
    const before = await snapshot();
    // map ids only grow (the kernel allocates them cyclically): the failing loads' maps come after the newest one now
    let newest = 0;
    for (let id = getNextId(BpfCmd.BPF_MAP_GET_NEXT_ID, 0); id !== 0; id = getNextId(BpfCmd.BPF_MAP_GET_NEXT_ID, id)) newest = id;
    // the check can see them: the maps of a loaded object of this name are found while they exist
    const probe = BpfObject.open(ATTACH, { name: TAG });
    for (const p of probe.programs.values()) p.autoload = p.name === 'tp_getpgid';
    probe.load();
    expect(failedLoadMaps(newest).length).toBe(probe.maps.size);
    await probe.destroy();
    const t0 = performance.now();
    const kinds = new Map<string, number>();
    for (let i = 0; i < CYCLES; i++) {
      const kind = await failingLoad(i);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    const took = performance.now() - t0;
    let ours: number[] = [];
    for (const deadline = Date.now() + 30_000; ; ) {
      ours = failedLoadMaps(newest);
      if (ours.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const after = await snapshot();
    console.log(
      `leaks: ${CYCLES} failing loads in ${(took / 1000).toFixed(1)} s (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}); ` +
        `maps of theirs left ${ours.length}; fds ${before.fds} -> ${after.fds}, mappings ${before.maps.total} -> ${after.maps.total} lines, ${before.maps.mib.toFixed(1)} -> ${after.maps.mib.toFixed(1)} MiB`,
    );
    expect(ours).toEqual([]);
    expect(after.fds).toBe(before.fds);
    expect(after.fdObjects).toBe(before.fdObjects);
    expect(after.maps.ours).toBe(before.maps.ours);
    expect(after.maps.mib).toBeLessThan(before.maps.mib + 64);
    // only our own events: other processes on the machine (other test files, other tools) may define theirs meanwhile
    expect(after.uprobes.ours).toBe(before.uprobes.ours);
  });
});
