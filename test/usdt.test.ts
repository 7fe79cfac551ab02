// USDT on the dev kernel (uprobes work here): bpf/usdt.bpf.o, written against
// libbpf's own <bpf/usdt.bpf.h>, attached to the probes of a gcc-built test
// binary and its shared library (test/fixtures/usdt_target.c, usdt_lib.c).
// Every argument the BPF side reads is checked against the values the
// target computed; the semaphore is read from the target's memory
// (/proc/PID/mem); the pid filter is checked with a second process.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttachError, BpfObject, RingBuffer, findUsdtProbes, UsdtArgType, type UsdtLink } from '../src/index.ts';
import { fdCount, hasCommand, needsRoot } from './helpers/env.ts';
import { BPF_DIR, REPO_ROOT, oracleAvailable, oracleLoadSync } from './helpers/oracle.ts';

const BUILD = join(REPO_ROOT, 'test', 'build');
const TARGET = join(BUILD, 'usdt_target');
/** The same target linked as a fixed-address executable (ET_EXEC): its probe addresses are absolute. */
const TARGET_NOPIE = join(BUILD, 'usdt_target_nopie');
const LIB = join(BUILD, 'libtsbpf_usdt.so');
const OBJ = join(BPF_DIR, 'usdt.bpf.o');

const missing =
  needsRoot ??
  (!hasCommand('gcc') ? 'needs gcc to build the USDT test binary' : undefined) ??
  (!existsSync('/usr/include/x86_64-linux-gnu/sys/sdt.h') && !existsSync('/usr/include/sys/sdt.h') ? 'needs <sys/sdt.h> (Debian package systemtap-sdt-dev)' : undefined) ??
  (!existsSync('/sys/bus/event_source/devices/uprobe') ? 'needs the uprobe PMU (CONFIG_UPROBE_EVENTS)' : undefined);

function build(): void {
  mkdirSync(BUILD, { recursive: true });
  execFileSync('gcc', ['-O2', '-g', '-shared', '-fPIC', '-o', LIB, join(REPO_ROOT, 'test', 'fixtures', 'usdt_lib.c')]);
  execFileSync('gcc', ['-O2', '-g', '-o', TARGET, join(REPO_ROOT, 'test', 'fixtures', 'usdt_target.c'), `-L${BUILD}`, '-ltsbpf_usdt', '-Wl,-rpath,$ORIGIN']);
  execFileSync('gcc', ['-O2', '-g', '-no-pie', '-fno-pie', '-o', TARGET_NOPIE, join(REPO_ROOT, 'test', 'fixtures', 'usdt_target.c'), `-L${BUILD}`, '-ltsbpf_usdt', '-Wl,-rpath,$ORIGIN']);
}

/** A running usdt_target: fire(round) makes it hit every probe once. */
class Target {
  readonly child: ChildProcess;
  readonly #lines: AsyncIterator<string>;
  pid = 0;
  /** Address of tsbpf_lib_guarded_semaphore in the target. */
  semaphore = 0n;

  private constructor(binary: string) {
    this.child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }

  static async start(binary = TARGET): Promise<Target> {
    const t = new Target(binary);
    const ready = await t.#line();
    const m = /^ready (\d+) (0x[0-9a-f]+)$/.exec(ready);
    if (!m) throw new Error(`usdt_target said "${ready}"`);
    t.pid = Number(m[1]);
    t.semaphore = BigInt(m[2]!);
    return t;
  }

  async #line(): Promise<string> {
    const r = await this.#lines.next();
    if (r.done) throw new Error('usdt_target exited');
    return r.value;
  }

  /** Fire every probe with `round`; true when the semaphore-guarded probe ran. */
  async fire(round: number): Promise<boolean> {
    this.child.stdin!.write(`${round}\n`);
    const m = /^done (\d+) (\d)$/.exec(await this.#line());
    expect(Number(m?.[1])).toBe(round);
    return m![2] === '1';
  }

  /** The u16 semaphore as the process's memory holds it. */
  readSemaphore(): number {
    const fd = openSync(`/proc/${this.pid}/mem`, 'r');
    try {
      const b = Buffer.alloc(2);
      readSync(fd, b, 0, 2, this.semaphore);
      return b.readUInt16LE(0);
    } finally {
      closeSync(fd);
    }
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    await exited;
  }
}

/** struct usdt_event (bpf/usdt.h). */
interface UsdtEvent {
  cookie: bigint;
  pid: number;
  argCnt: number;
  args: bigint[];
  rets: number[];
}

function eventReader(obj: BpfObject): { ring: RingBuffer; drain: () => UsdtEvent[] } {
  let got: UsdtEvent[] = [];
  const ring = new RingBuffer(obj.map('events').map!, {
    onRecord: (v, off, size) => {
      expect(size).toBe(160);
      const dv = new DataView(v.buffer, v.byteOffset + off, size);
      const argCnt = dv.getInt32(12, true);
      got.push({
        cookie: dv.getBigUint64(0, true),
        pid: dv.getUint32(8, true),
        argCnt,
        args: Array.from({ length: Math.max(0, argCnt) }, (_, i) => dv.getBigInt64(16 + 8 * i, true)),
        rets: Array.from({ length: 12 }, (_, i) => dv.getInt32(112 + 4 * i, true)),
      });
    },
  });
  return {
    ring,
    drain: () => {
      ring.consume();
      const out = got;
      got = [];
      return out;
    },
  };
}

/** What the target passes for round R (usdt_target.c's vals(R)), as usdt.bpf.h returns them (sign- or zero-extended to 64 bits, read as s64). */
function vals(r: number): bigint[] {
  const R = BigInt(r);
  return [-100n - (R % 20n), 200n + (R % 50n), -30000n - (R % 100n), 60000n + (R % 100n), -2000000000n - (R % 1000n), 4000000000n + (R % 1000n), -9000000000000000000n - R, BigInt.asIntN(64, 18000000000000000000n + R)];
}

/** probe name -> expected argument lists for round R (one per call site, any order). */
function expected(r: number): Record<string, bigint[][]> {
  const v = vals(r);
  const R = BigInt(r);
  return {
    regs: [v],
    frame: [v],
    consts: [[5n, -9n, 123456789012n]],
    globals: [[v[0]!, v[3]!, v[4]!, v[7]!]],
    twice: [
      [R, 3n * R],
      [5n * R, 7n],
    ],
    global_twice: [[v[4]!], [v[4]!]],
    noargs: [[]],
  };
}
const PROBES = ['regs', 'frame', 'consts', 'globals', 'twice', 'global_twice', 'noargs'] as const;

const sortArgs = (l: bigint[][]) => l.map((a) => a.join(',')).sort();

describe.skipIf(missing)('USDT', () => {
  beforeAll(build);
  const targets: Target[] = [];
  afterAll(async () => {
    await Promise.all(targets.map((t) => t.stop()));
  });
  const start = async (binary = TARGET) => {
    const t = await Target.start(binary);
    targets.push(t);
    return t;
  };

  it('the test binary covers every argument kind and size', () => {
    const args = findUsdtProbes(TARGET, 'tsbpf_test').sites.flatMap((s) => s.args);
    const kinds = new Set(args.map((a) => `${UsdtArgType[a.type]}`));
    expect([...kinds].sort()).toEqual(['BPF_USDT_ARG_CONST', 'BPF_USDT_ARG_REG', 'BPF_USDT_ARG_REG_DEREF']);
    for (const size of [1, 2, 4, 8]) for (const signed of [true, false]) expect(args.some((a) => a.size === size && a.signed === signed), `${signed ? 's' : 'u'}${size * 8}`).toBe(true);
    expect(args.some((a) => a.type === UsdtArgType.BPF_USDT_ARG_REG && a.size === 1)).toBe(true); // %dil, %sil
    expect(args.some((a) => a.reg === 'rip')).toBe(true); // sym(%rip)
    expect(findUsdtProbes(TARGET, 'tsbpf_test', 'twice').sites.length).toBe(2);
    const gt = findUsdtProbes(TARGET, 'tsbpf_test', 'global_twice').sites;
    expect(gt.map((x) => x.note.args)).toEqual(['-4@g_s32(%rip)', '-4@g_s32(%rip)']);
    expect(findUsdtProbes(LIB, 'tsbpf_lib', 'guarded').sites[0]!.semaphoreOffset).toBeGreaterThan(0n);
  });

  for (const mode of ['cookies', 'address map'] as const) {
    it(`reads every argument of every probe (spec ids through ${mode})`, async () => {
      const t = await start();
      const obj = BpfObject.open(OBJ, mode === 'cookies' ? {} : { kconfig: { LINUX_HAS_BPF_COOKIE: 'n' } });
      obj.load();
      try {
        expect(obj.usdtManager().useCookie).toBe(mode === 'cookies');
        const { ring, drain } = eventReader(obj);
        const fds = fdCount();
        // Without cookies the address of a probe in a PIE binary is per process: a pid is needed.
        const pid = mode === 'cookies' ? undefined : t.pid;
        const links = PROBES.map((name, i) => obj.attachUsdt('usdt_all', { path: TARGET, provider: 'tsbpf_test', name, cookie: BigInt(i + 1), pid }));
        expect(links.map((l) => l.sites)).toEqual([1, 1, 1, 1, 2, 2, 1]);
        // twice: two call sites with different operands -> two specs; global_twice: the same
        // operand text, relative to two addresses -> two specs; the others one each
        expect(obj.usdtManager().idsInUse).toBe(9);
        for (const round of [1, 2, 37]) {
          await t.fire(round);
          const events = drain();
          expect(events.length).toBe(9);
          const want = expected(round);
          PROBES.forEach((name, i) => {
            const mine = events.filter((e) => e.cookie === BigInt(i + 1));
            for (const e of mine) {
              expect(e.pid).toBe(t.pid);
              expect(e.rets.slice(0, e.argCnt).every((r) => r === 0)).toBe(true);
              expect(e.rets.slice(e.argCnt).every((r) => r === -2)).toBe(true); // -ENOENT past arg_cnt
            }
            expect(sortArgs(mine.map((e) => e.args)), `${name}, round ${round}`).toEqual(sortArgs(want[name]!));
          });
        }
        if (mode === 'address map') {
          expect([...obj.map('__bpf_usdt_ip_to_spec_id').map!.keys()].length).toBe(9);
          expect(() => obj.attachUsdt('usdt_all', { path: TARGET, provider: 'tsbpf_test', name: 'consts' })).toThrow(/position-independent.*pass a pid/);
          // the same sites again: their addresses are taken
          expect(() => obj.attachUsdt('usdt_all', { path: TARGET, provider: 'tsbpf_test', name: 'consts', pid: t.pid })).toThrow(/already attached by another USDT link/);
        }
        for (const l of links) await l.destroyAsync();
        expect(fdCount()).toBe(fds);
        expect(obj.usdtManager().idsInUse).toBe(0);
        expect([...obj.map('__bpf_usdt_ip_to_spec_id').map!.keys()].length).toBe(0);
        await t.fire(3);
        expect(drain()).toEqual([]);
        ring.close();
      } finally {
        await obj.destroy();
      }
    });
  }

  it('address map without a pid: a fixed-address (ET_EXEC) executable has absolute probe addresses', async () => {
    expect(findUsdtProbes(TARGET_NOPIE).elfType).toBe(2); // ET_EXEC
    const t = await start(TARGET_NOPIE);
    const obj = BpfObject.open(OBJ, { kconfig: { LINUX_HAS_BPF_COOKIE: 'n' } });
    obj.load();
    try {
      const { ring, drain } = eventReader(obj);
      const link = obj.attachUsdt('usdt_all', { path: TARGET_NOPIE, provider: 'tsbpf_test', name: 'twice', cookie: 9n });
      const sites = findUsdtProbes(TARGET_NOPIE, 'tsbpf_test', 'twice').sites.map((x) => x.address);
      expect([...obj.map('__bpf_usdt_ip_to_spec_id').map!.keys()].map((k) => Buffer.from(k).readBigUInt64LE(0)).sort()).toEqual(sites.sort());
      await t.fire(11);
      expect(sortArgs(drain().map((e) => e.args))).toEqual(sortArgs(expected(11).twice!));
      await link.destroyAsync();
      ring.close();
    } finally {
      await obj.destroy();
    }
  });

  for (const mode of ['pmu', 'legacy'] as const) {
    it(`semaphores (${mode === 'pmu' ? 'uprobe PMU, ref_ctr_offset in config' : 'tracefs uprobe_events, "path:0xoff(0xref)"'}): the kernel counts the attachment in the target, the guarded probe fires, and detach brings it back to 0`, async () => {
      const t = await start();
      const obj = BpfObject.openAndLoad(OBJ);
      try {
        const { ring, drain } = eventReader(obj);
        expect(t.readSemaphore()).toBe(0);
        expect(await t.fire(1)).toBe(false);
        const link = obj.attachUsdt(obj.program('usdt_all'), { path: LIB, provider: 'tsbpf_lib', name: 'guarded', cookie: 42n, mode, mount: true });
        expect(link.links[0]!.constructor.name).toBe(mode === 'pmu' ? 'PerfEventLink' : 'LegacyProbeLink');
        expect(t.readSemaphore()).toBeGreaterThan(0);
        expect(await t.fire(2)).toBe(true);
        // the probe passes (round, semaphore value as the library read it)
        expect(drain().map((e) => [e.cookie, e.pid, e.args])).toEqual([[42n, t.pid, [2n, BigInt(t.readSemaphore())]]]);
        // a second attachment to the same site shares the kernel's uprobe (and its one count):
        // the semaphore stays up until the last one goes
        const second = obj.attachUsdt('usdt_all', { path: LIB, provider: 'tsbpf_lib', name: 'guarded', cookie: 43n, mode, mount: true });
        expect(t.readSemaphore()).toBeGreaterThan(0);
        await second.destroyAsync();
        expect(t.readSemaphore()).toBeGreaterThan(0);
        await link.destroyAsync();
        expect(t.readSemaphore()).toBe(0);
        expect(await t.fire(3)).toBe(false);
        expect(drain()).toEqual([]);
        ring.close();
      } finally {
        await obj.destroy();
      }
    });
  }

  it('a pid filter: only that process is traced and only its semaphore counted', async () => {
    const [a, b] = [await start(), await start()];
    const obj = BpfObject.openAndLoad(OBJ);
    try {
      const { ring, drain } = eventReader(obj);
      const links: UsdtLink[] = [
        obj.attachUsdt('usdt_all', { path: LIB, provider: 'tsbpf_lib', name: 'guarded', pid: a.pid, cookie: 1n }),
        obj.attachUsdt('usdt_all', { path: TARGET, provider: 'tsbpf_test', name: 'consts', pid: a.pid, cookie: 2n }),
      ];
      expect([a.readSemaphore(), b.readSemaphore()]).toEqual([1, 0]);
      expect(await a.fire(5)).toBe(true);
      expect(await b.fire(6)).toBe(false);
      const events = drain();
      expect(events.map((e) => [e.pid, e.cookie]).sort()).toEqual([
        [a.pid, 1n],
        [a.pid, 2n],
      ]);
      // without a filter both are traced (the control)
      links.push(obj.attachUsdt('usdt_all', { path: TARGET, provider: 'tsbpf_test', name: 'consts', cookie: 3n }));
      await a.fire(7);
      await b.fire(8);
      expect(
        drain()
          .filter((e) => e.cookie === 3n)
          .map((e) => e.pid)
          .sort(),
      ).toEqual([a.pid, b.pid].sort());
      for (const l of links) await l.destroyAsync();
      expect([a.readSemaphore(), b.readSemaphore()]).toEqual([0, 0]);
      ring.close();
    } finally {
      await obj.destroy();
    }
  });

  it('auto-attaches usdt/<path>:<provider>:<name> sections, a library by name through the pid', async () => {
    const t = await start();
    const obj = BpfObject.open(OBJ);
    // SEC("usdt/test/build/usdt_target:...") is relative to the repository, as libbpf takes it
    if (process.cwd() !== REPO_ROOT) obj.program('usdt_consts').attachTarget = `${TARGET}:tsbpf_test:consts`;
    obj.load();
    try {
      const links = obj.attachAll({ pid: t.pid });
      // usdt_all (SEC("usdt")) names no target and is left alone
      expect(links.map((l) => l.program).sort()).toEqual(['usdt_consts', 'usdt_lib']);
      expect(links.find((l) => l.program === 'usdt_lib')!.target).toBe(`usdt ${LIB}:tsbpf_lib:plain (pid ${t.pid})`);
      for (const r of [4, 9]) await t.fire(r);
      expect(obj.bss.get('consts_hits')).toBe(2n);
      const sum = obj.bss.raw('consts_sum');
      const dv = new DataView(sum.buffer, sum.byteOffset, sum.byteLength);
      expect([0, 8, 16].map((o) => dv.getBigInt64(o, true))).toEqual([10n, -18n, 246913578024n]);
      expect(obj.bss.get('lib_hits')).toBe(2n);
      expect(obj.bss.get('lib_last')).toBe(9n);
      // usdt_all needs an explicit target
      expect(() => obj.attach('usdt_all')).toThrow(/SEC\("usdt"\) names no path>:<provider>:<name/);
    } finally {
      await obj.destroy();
    }
  });

  it('a library named in the section is found through LD_LIBRARY_PATH without a pid (as ld.so and libbpf)', async () => {
    const t = await start();
    const obj = BpfObject.openAndLoad(OBJ);
    const saved = process.env.LD_LIBRARY_PATH;
    try {
      process.env.LD_LIBRARY_PATH = `/nonexistent:${BUILD}`;
      const link = obj.attach('usdt_lib');
      expect(link.target).toBe(`usdt ${LIB}:tsbpf_lib:plain`);
      await t.fire(21);
      expect(obj.bss.get('lib_last')).toBe(21n);
    } finally {
      if (saved === undefined) delete process.env.LD_LIBRARY_PATH;
      else process.env.LD_LIBRARY_PATH = saved;
      await obj.destroy();
    }
  });

  it('names what is wrong: unknown probe, a binary without notes, a malformed section, an object without usdt.bpf.h', async () => {
    const obj = BpfObject.openAndLoad(OBJ);
    try {
      const err = (() => {
        try {
          obj.attachUsdt('usdt_all', { path: TARGET, provider: 'tsbpf_test', name: 'nope' });
        } catch (e) {
          return e as AttachError;
        }
      })();
      expect(err).toBeInstanceOf(AttachError);
      expect(err!.message).toMatch(/program "usdt_all": cannot attach to usdt .*usdt_target:tsbpf_test:nope: .* has no USDT probe tsbpf_test:nope \(it has: .*tsbpf_test:consts/);
      expect(() => obj.attachUsdt('usdt_all', { path: '/bin/sh', provider: 'a', name: 'b' })).toThrow(/no \.note\.stapsdt section/);
      expect(() => obj.attachUsdt('usdt_all', { path: '/nonexistent/x', provider: 'a', name: 'b' })).toThrow(/does not exist/);
      obj.program('usdt_consts').attachTarget = 'no-colons';
      expect(() => obj.attach('usdt_consts')).toThrow(/"no-colons" is not <path>:<provider>:<name>/);
      expect(obj.usdtManager().idsInUse).toBe(0);
    } finally {
      await obj.destroy();
    }
    const plain = BpfObject.openAndLoad(join(BPF_DIR, 'minimal.bpf.o'));
    try {
      expect(() => plain.usdtManager()).toThrow(/no __bpf_usdt_specs and __bpf_usdt_ip_to_spec_id maps: its BPF code must include <bpf\/usdt\.bpf\.h>/);
    } finally {
      await plain.destroy();
    }
  });

  it('spec ids run out cleanly: the failing attach releases what it took, and a detach makes room', async () => {
    const obj = BpfObject.open(OBJ);
    obj.map('__bpf_usdt_specs').maxEntries = 3; // BPF_USDT_MAX_SPEC_CNT, as a tool would shrink it
    obj.load();
    try {
      const fds = fdCount();
      const attach = (name: string) => obj.attachUsdt('usdt_all', { path: TARGET, provider: 'tsbpf_test', name });
      const consts = attach('consts');
      attach('noargs');
      expect(obj.usdtManager().idsInUse).toBe(2);
      // twice needs two ids: the first site gets the last one, the second fails
      expect(() => attach('twice')).toThrow(/all 3 USDT spec ids of map "__bpf_usdt_specs" are in use/);
      expect(obj.usdtManager().idsInUse).toBe(2);
      expect(fdCount()).toBe(fds + 2 * 2); // consts and noargs: a perf event and a BPF link each
      await consts.destroyAsync();
      expect(attach('twice').sites).toBe(2);
      expect(obj.usdtManager().idsInUse).toBe(3);
    } finally {
      await obj.destroy();
    }
  });

  it('program tags equal C libbpf 1.1 for bpf/usdt.bpf.o', async (ctx) => {
    const avail = oracleAvailable();
    if (!avail.ok) return ctx.skip(`libbpf oracle: ${avail.reason}`);
    const c = oracleLoadSync(OBJ);
    expect(c.ok, c.error?.message).toBe(true);
    const obj = BpfObject.openAndLoad(OBJ);
    try {
      const ours = Object.fromEntries([...obj.programs.values()].map((p) => [p.name, p.prog!.tag()]));
      expect(ours).toEqual(Object.fromEntries(c.progs.map((p) => [p.name, p.tag])));
      expect(Object.keys(ours).length).toBe(3);
    } finally {
      await obj.destroy();
    }
  });
});
