// kprobe.multi and uprobe.multi tests, shared by the host suite
// (test/attach_multi.test.ts) and the VM suite (test/vm/suite/multi.test.ts):
// where the kernel has the link kind, each probe counts exactly the calls the
// test makes, by the cookie the program sees; where it lacks it, the error is
// a NotSupportedError that says what is missing.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttachError, attachKprobeMulti, attachUprobeMulti, autoAttach, kprobeMultiUnsupported, resolveUprobeSyms, tracefsPath, type KprobeMultiLink, type Link } from '../../src/attach/index.ts';
import { NotSupportedError } from '../../src/errors.ts';
import { BpfObject } from '../../src/object/index.ts';
import { libcGetpgid } from '../../src/syscall/index.ts';
import { fdCount } from './env.ts';
import { fixtureBinary } from './fixtures.ts';

const REPO = resolve(import.meta.dirname, '..', '..');


/** The /proc/kallsyms address of a kernel function. */
function kallsymsAddr(name: string): bigint {
  const m = new RegExp(`^([0-9a-f]+) [tT] ${name}$`, 'm').exec(readFileSync('/proc/kallsyms', 'utf8'));
  if (!m) throw new Error(`${name} not in /proc/kallsyms`);
  return BigInt(`0x${m[1]}`);
}

const slots = (obj: BpfObject, name: string): bigint[] => {
  const b = Buffer.from(obj.bss.raw(name));
  return Array.from({ length: 16 }, (_, i) => b.readBigUInt64LE(i * 8));
};
const delta = (after: bigint[], before: bigint[]) => after.map((v, i) => v - before[i]!);
/** Counts by cookie of what `act` caused, for the slots given. */
function counted(obj: BpfObject, act: () => void): { hits: bigint[]; ret: bigint[] } {
  const h0 = slots(obj, 'hits');
  const r0 = slots(obj, 'ret_hits');
  act();
  return { hits: delta(slots(obj, 'hits'), h0), ret: delta(slots(obj, 'ret_hits'), r0) };
}
const pick = (arr: bigint[], idx: number[]) => idx.map((i) => Number(arr[i]));

/**
 * The kprobe.multi tests. `expectSupport`: true (must work), false (must be
 * refused as not supported, with `missing` in the message), or undefined
 * (probe, and test whichever the kernel does).
 */
export function kprobeMultiTests(label: string, expectSupport: boolean | undefined, missing: RegExp): void {
  describe(`kprobe.multi (${label})`, () => {
    let obj: BpfObject;
    let unsupported: NotSupportedError | undefined;
    const getpgid = (n: number) => {
      for (let i = 0; i < n; i++) libcGetpgid(0);
    };
    const getppid = (n: number) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += process.ppid; // each read is a getppid() call
      return s;
    };
    beforeAll(() => {
      obj = BpfObject.open(join(REPO, 'bpf', 'kprobe_multi.bpf.o'));
      obj.rodata.set('target_tid', process.pid); // the main thread's tid is the pid
      obj.load();
      unsupported = kprobeMultiUnsupported(obj.program('kmulti'));
      if (expectSupport === true && unsupported) throw unsupported;
    });
    afterAll(async () => {
      await obj?.destroy();
    });

    it('is refused with a NotSupportedError naming what is missing, or counts calls by cookie (syms)', () => {
      if (unsupported || expectSupport === false) {
        let err: unknown;
        try {
          attachKprobeMulti(obj.program('kmulti'), { syms: ['__x64_sys_getpgid'] }).destroy();
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(NotSupportedError);
        expect((err as NotSupportedError).feature).toBe('kprobe.multi links');
        expect((err as Error).message).toMatch(missing);
        expect((err as Error).message).toMatch(/program "kmulti": cannot attach to kprobe\.multi __x64_sys_getpgid/);
        // the section form says the same
        expect(() => autoAttach(obj.program('kmulti_glob'), 'kprobe.multi/__x64_sys_getp?id')).toThrow(missing);
        return;
      }
      const fds = fdCount();
      const link = attachKprobeMulti(obj.program('kmulti'), { syms: ['__x64_sys_getpgid', '__x64_sys_getppid'], cookies: [1n, 2n] });
      let c: ReturnType<typeof counted>;
      try {
        expect(link.count).toBe(2);
        expect(link.info().typeName).toBe('BPF_LINK_TYPE_KPROBE_MULTI');
        c = counted(obj, () => {
          getpgid(5);
          getppid(3);
        });
      } finally {
        link.destroy();
      }
      expect(pick(c.hits, [0, 1, 2])).toEqual([0, 5, 3]);
      expect(fdCount()).toBe(fds);
      // detached: calls no longer count
      expect(counted(obj, () => getpgid(2)).hits[1]).toBe(0n);
    });

    it('counts by cookie when attached by address, and on return (kretprobe.multi)', (ctx) => {
      if (unsupported) return ctx.skip(`kprobe.multi not supported: ${unsupported.message}`);
      const entry = attachKprobeMulti(obj.program('kmulti'), { addrs: [kallsymsAddr('__x64_sys_getpgid'), kallsymsAddr('__x64_sys_getppid')], cookies: [3n, 4n] });
      const ret = attachKprobeMulti(obj.program('kretmulti'), { syms: ['__x64_sys_getppid', '__x64_sys_getpgid'], cookies: [7n, 9n], retprobe: true });
      let c: ReturnType<typeof counted>;
      try {
        c = counted(obj, () => {
          getpgid(6);
          getppid(2);
        });
      } finally {
        entry.destroy();
        ret.destroy();
      }
      expect(pick(c.hits, [3, 4])).toEqual([6, 2]);
      expect(pick(c.ret, [7, 9])).toEqual([2, 6]);
      expect(c.hits.reduce((a, b) => a + b, 0n)).toBe(8n);
      expect(c.ret.reduce((a, b) => a + b, 0n)).toBe(8n);
    });

    it('auto-attaches kprobe.multi/ and kretprobe.multi/ glob sections', (ctx) => {
      if (unsupported) return ctx.skip(`kprobe.multi not supported: ${unsupported.message}`);
      const links: Link[] = [];
      let c: ReturnType<typeof counted>;
      try {
        for (const name of ['kmulti_glob', 'kretmulti_glob']) {
          const p = obj.program(name);
          links.push(autoAttach(p, p.sectionName));
        }
        c = counted(obj, () => {
          getpgid(4);
          getppid(5);
        });
      } finally {
        for (const l of links) l.destroy();
      }
      // __x64_sys_getp?id: getpgid and getppid (not getpid), those ftrace can trace
      // (6.12 lists getpgid only); no cookies: slot 0
      const traceable = new Set(readFileSync(join(tracefsPath(), 'available_filter_functions'), 'utf8').split('\n').map((l) => l.split(' ')[0]));
      const expected = (traceable.has('__x64_sys_getpgid') ? 4 : 0) + (traceable.has('__x64_sys_getppid') ? 5 : 0);
      expect(expected).toBeGreaterThan(0);
      expect((links[0] as KprobeMultiLink).count).toBe(Number(traceable.has('__x64_sys_getpgid')) + Number(traceable.has('__x64_sys_getppid')));
      expect(Number(c.hits[0])).toBe(expected);
      expect(Number(c.ret[0])).toBe(expected);
    });

    it('names a function the kernel does not have, and refuses bad arguments', (ctx) => {
      if (unsupported) return ctx.skip(`kprobe.multi not supported: ${unsupported.message}`);
      const p = obj.program('kmulti');
      expect(() => attachKprobeMulti(p, { syms: ['__x64_sys_getpgid', 'tsbpf_no_such_function'] })).toThrow(/tsbpf_no_such_function not in \/proc\/kallsyms/);
      expect(() => attachKprobeMulti(p, { syms: ['__x64_sys_getpgid'], cookies: [1n, 2n] })).toThrow(/2 cookies for 1 functions/);
      expect(() => attachKprobeMulti(p, { pattern: 'tsbpf_no_such_*' })).toThrow(AttachError);
      expect(() => attachKprobeMulti(p, {})).toThrow(/exactly one of syms, addrs or pattern/);
    });
  });
}

/** The uprobe.multi tests (see kprobeMultiTests). */
export function uprobeMultiTests(label: string, expectSupport: boolean | undefined, missing: RegExp): void {
  describe(`uprobe.multi (${label})`, () => {
    let obj: BpfObject;
    let bin: string;
    let unsupported: NotSupportedError | undefined;
    const run = (...n: number[]) => execFileSync(bin, n.map(String), { encoding: 'utf8' });
    beforeAll(() => {
      bin = fixtureBinary('multi_target');
      obj = BpfObject.openAndLoad(join(REPO, 'bpf', 'uprobe_multi.bpf.o'));
      try {
        attachUprobeMulti(obj.program('umulti'), bin, { syms: ['tsbpf_multi_a'] }).destroy();
      } catch (e) {
        if (!(e instanceof NotSupportedError)) throw e;
        unsupported = e;
      }
      if (expectSupport === true && unsupported) throw unsupported;
      if (expectSupport === false && !unsupported) throw new Error(`uprobe.multi attached on ${label}, where it was expected to be refused`);
    });
    afterAll(async () => {
      await obj?.destroy();
    });

    it('is refused with a NotSupportedError naming what is missing, or counts calls by cookie (syms)', () => {
      if (unsupported) {
        expect(unsupported.feature).toBe('uprobe.multi links');
        expect(unsupported.message).toMatch(missing);
        expect(unsupported.message).toMatch(/program "umulti": cannot attach to uprobe\.multi .*multi_target:tsbpf_multi_a/);
        return;
      }
      const fds = fdCount();
      const link = attachUprobeMulti(obj.program('umulti'), bin, { syms: ['tsbpf_multi_a', 'tsbpf_multi_b', 'tsbpf_multi_c'], cookies: [1n, 2n, 3n] });
      let c: ReturnType<typeof counted>;
      try {
        expect(link.info().typeName).toBe('BPF_LINK_TYPE_UPROBE_MULTI');
        c = counted(obj, () => expect(run(4, 2, 7)).toBe(`${4 * 1 + 6 + 2 * 2 + 1 + 7 * 3 + 21}\n`));
      } finally {
        link.destroy();
      }
      expect(pick(c.hits, [0, 1, 2, 3])).toEqual([0, 4, 2, 7]);
      expect(fdCount()).toBe(fds);
      expect(counted(obj, () => run(3)).hits[1]).toBe(0n);
    });

    it('counts returns by offset and cookie (uretprobe.multi), and honours a pid filter', (ctx) => {
      if (unsupported) return ctx.skip(`uprobe.multi not supported: ${unsupported.message}`);
      const offsets = resolveUprobeSyms(bin, ['tsbpf_multi_a', 'tsbpf_multi_c']);
      const ret = attachUprobeMulti(obj.program('uretmulti'), bin, { offsets, cookies: [5n, 6n], retprobe: true });
      // only our own process: the child's calls do not count
      const mine = attachUprobeMulti(obj.program('umulti'), bin, { syms: ['tsbpf_multi_b'], cookies: [8n], pid: process.pid });
      let c: ReturnType<typeof counted>;
      try {
        c = counted(obj, () => run(3, 5, 2));
      } finally {
        ret.destroy();
        mine.destroy();
      }
      expect(pick(c.ret, [5, 6])).toEqual([3, 2]);
      expect(c.ret.reduce((a, b) => a + b, 0n)).toBe(5n);
      expect(c.hits[8]).toBe(0n);
    });

    it('auto-attaches an uprobe.multi/<binary>:<glob> section', (ctx) => {
      if (unsupported) return ctx.skip(`uprobe.multi not supported: ${unsupported.message}`);
      const p = obj.program('umulti_glob');
      const path = process.env.PATH;
      process.env.PATH = `${resolve(bin, '..')}:${path}`; // the section names the binary, found through $PATH
      let link: Link;
      try {
        link = autoAttach(p, p.sectionName);
      } finally {
        process.env.PATH = path;
      }
      let c: ReturnType<typeof counted>;
      try {
        c = counted(obj, () => run(1, 2, 3));
      } finally {
        link.destroy();
      }
      expect(Number(c.hits[0])).toBe(6);
      expect(() => attachUprobeMulti(p, bin, { syms: ['tsbpf_multi_a', 'tsbpf_nope'] })).toThrow(/function tsbpf_nope not found in/);
      expect(() => attachUprobeMulti(p, bin, { pattern: 'tsbpf_nope_*' })).toThrow(/matches no function/);
    });
  });
}
