import { UsageError } from '../src/errors.ts';
import { describe, expect, it } from 'vitest';
import { BpfProgType, Program, ProgramLoadError, asm, encodeInsns, listProgramIds } from '../src/prog/index.ts';
import { fdCount, needsRoot } from './helpers/env.ts';

const ret = (v: number) => encodeInsns([asm.mov64Imm(0, v), asm.exit()]);

describe.skipIf(needsRoot)('program loading on the real kernel', () => {
  it('loads a socket filter, reports its info and tag, and test-runs it', () => {
    const p = Program.load({ name: 'ret7', type: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: ret(7), license: 'GPL' });
    try {
      const info = p.info();
      expect(info.name).toBe('ret7');
      expect(info.type).toBe(BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER);
      expect(info.tag).toMatch(/^[0-9a-f]{16}$/);
      expect(info.xlatedLen).toBe(16);
      expect(listProgramIds()).toContain(info.id);
      // same instructions -> same tag, different instructions -> different tag
      const q = Program.load({ name: 'ret7b', type: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: ret(7), license: 'GPL' });
      const r = Program.load({ name: 'ret8', type: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: ret(8), license: 'GPL' });
      expect(q.tag()).toBe(info.tag);
      expect(r.tag()).not.toBe(info.tag);
      q.close();
      r.close();
      const run = p.testRun({ dataIn: Buffer.alloc(64) });
      expect(run.retval).toBe(7);
      // opening by id gives the same program
      const again = Program.fromId(info.id);
      expect(again.tag()).toBe(info.tag);
      again.close();
    } finally {
      p.close();
    }
  });

  it('attaches the verifier log to a failed load', () => {
    // r0 is never written: the verifier says "R0 !read_ok"
    const bad = encodeInsns([asm.exit()]);
    let err: unknown;
    try {
      Program.load({ name: 'no_r0', type: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: bad, license: 'GPL' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProgramLoadError);
    const e = err as ProgramLoadError;
    expect(e.code).toBe('EACCES');
    expect(e.program).toBe('no_r0');
    expect(e.log).toContain('R0 !read_ok');
    expect(e.message).toContain('R0 !read_ok');
    expect(e.message).toContain('no_r0');
  });

  it('grows the log buffer for long logs (log level 2)', () => {
    // many instructions then a failure: a level-2 log is long
    const insns = [];
    for (let i = 0; i < 8000; i++) insns.push(asm.mov64Imm(1, i));
    insns.push(asm.exit());
    try {
      Program.load({ name: 'long_log', type: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: encodeInsns(insns), license: 'GPL' }, { logLevel: 2 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ProgramLoadError);
      const log = (e as ProgramLoadError).log;
      expect(log.length).toBeGreaterThan(256 * 1024);
      expect(log).toContain('R0 !read_ok');
    }
  });

  it('rejects a stream that is not whole instructions before any syscall', () => {
    expect(() => Program.load({ name: 'odd', type: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: new Uint8Array(12), license: 'GPL' })).toThrow(UsageError);
  });

  it('1,000 failed loads leak no file descriptors', () => {
    const before = fdCount();
    for (let i = 0; i < 1000; i++) {
      expect(() => Program.load({ name: 'leak', type: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: encodeInsns([asm.exit()]), license: 'GPL' })).toThrow(ProgramLoadError);
    }
    expect(fdCount()).toBe(before);
  });
});
