// A spec is immutable: opening an object from its path or from its bytes
// gives byte-identical specs, and loading (linking, CO-RE, BTF fix-up, global
// data) never writes into the spec or the caller's bytes — checked for every
// object in bpf/. Then the objects that exercise it: subprograms shared by
// several programs (shared_subprogs), hidden functions verified in their
// caller's context (hidden_func), struct_ops refused until it is implemented
// (tcp_cc), CO-RE inside shared subprograms (core_subprogs); and errors
// that name the object first.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfObject, ObjectError } from '../src/object/index.ts';
import { parseObject } from '../src/object/parse.ts';
import { patchObjectBtf } from '../src/object/btf_fixup.ts';
import { ProgramLoadError } from '../src/prog/index.ts';
import { BPF_F_LINK, MapType } from '../src/maps/index.ts';
import { RelocationError } from '../src/relo/index.ts';
import { NotSupportedError, TsbpfError } from '../src/errors.ts';
import { BtfError, BTF_FUNC_GLOBAL, BTF_FUNC_STATIC, BTF_INT_SIGNED, BTF_KIND_FUNC, BTF_KIND_INT, marshalBtf, parseBtf, type BtfFunc } from '../src/btf/index.ts';
import { BPF_DIR, oracleAvailable, oracleLoadSync } from './helpers/oracle.ts';
import { BpfProgType } from '../src/prog/types.ts';
import { needsRoot } from './helpers/env.ts';
import { specImage, specInsns } from './helpers/spec_image.ts';

const obj = (name: string) => `${BPF_DIR}/${name}.bpf.o`;
const OBJECTS = readdirSync(BPF_DIR)
  .filter((f) => f.endsWith('.bpf.o'))
  .map((f) => f.replace(/\.bpf\.o$/, ''));
/** Programs this host refuses by policy (fentry/fexit: EPERM) are not loaded. */
const HOST_REFUSES = /^(fentry|fexit|fmod_ret|lsm)/;
const PACKET = { dataIn: new Uint8Array(64) };

const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-spec-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The error thrown by `fn`, which must throw. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('open from a path or from bytes: byte-identical specs (every object in bpf/)', () => {
  for (const name of OBJECTS) {
    it(`${name}.bpf.o`, () => {
      const file = readFileSync(obj(name));
      const fromPath = specImage(BpfObject.open(obj(name)).spec);
      expect(specImage(BpfObject.open(new Uint8Array(file), { name }).spec)).toEqual(fromPath);
      // a Buffer, changed by its owner after open: the spec keeps the bytes it was opened with
      const buf = Buffer.from(file);
      const o = BpfObject.open(buf, { name });
      buf.fill(0xff);
      expect(specImage(o.spec)).toEqual(fromPath);
    });
  }
});

describe('the spec is frozen', () => {
  it('programs, relocations, maps, globals and externs cannot be changed', () => {
    const spec = BpfObject.open(obj('subprogs')).spec;
    expect(Object.isFrozen(spec)).toBe(true);
    expect(() => (spec.programs as unknown[]).push({})).toThrow(TypeError);
    expect(() => ((spec.programs[0] as { name: string }).name = 'x')).toThrow(TypeError);
    expect(() => (spec.subprograms[0]!.relocs as unknown[]).pop()).toThrow(TypeError);
    expect(() => ((spec.maps[0]!.spec as { maxEntries: number }).maxEntries = 1)).toThrow(TypeError);
    // a setting on the object is its own copy
    const o = BpfObject.open(obj('maps'));
    o.map('outer_arr').innerSpec!.maxEntries = 7;
    expect(o.map('outer_arr').spec.inner!.spec.maxEntries).not.toBe(7);
  });
});

describe.skipIf(needsRoot)('loading leaves the spec untouched (every object in bpf/, loads that fail included)', () => {
  for (const name of OBJECTS) {
    it(`${name}.bpf.o`, async () => {
      const pinRoot = mkdtempSync(join(tmp, `${name}-`));
      const o = BpfObject.open(obj(name), { pinRoot });
      for (const p of o.programs.values()) if (HOST_REFUSES.test(p.sectionName)) p.autoload = false;
      const image = specImage(o.spec);
      const insns = specInsns(o.spec);
      try {
        o.load();
      } catch (e) {
        // broken, ksym_typed, tcp_cc and pinned (no bpffs here) fail; their specs must not change either
        expect(e).toBeInstanceOf(TsbpfError);
        expect((e as Error).message.startsWith(`${name}: `) || (e as Error).message.startsWith(`${name} `), (e as Error).message).toBe(true);
      } finally {
        await o.destroy();
      }
      expect(specInsns(o.spec)).toEqual(insns);
      expect(specImage(o.spec)).toEqual(image);
    });
  }
});

describe.skipIf(needsRoot)('shared_subprogs: a chain of static subprograms shared by four programs', () => {
  // Before specs were immutable, linking the first program rewrote the calls
  // inside the shared .text (a Buffer view of the file): the next program
  // reaching them called the wrong function, here refused by the verifier.
  it('every program calls the right functions, opened from a path and from bytes, twice', async () => {
    for (const source of [obj('shared_subprogs'), new Uint8Array(readFileSync(obj('shared_subprogs'))), obj('shared_subprogs')]) {
      const o = BpfObject.openAndLoad(source, { name: 'shared_subprogs' });
      try {
        const run = (p: string) => o.program(p).prog!.testRun(PACKET).retval;
        expect([run('xdp_top'), run('xdp_loop'), run('xdp_middle'), run('tc_mixed')]).toEqual([2, 2, 2, 0]);
        const out = Buffer.from(o.bss.raw('out'));
        // top(1) = 18, looper(4) = 22, middle(2) = 17, looper(3) + top(2) = 36
        expect([0, 4, 8, 12].map((off) => out.readUInt32LE(off))).toEqual([18, 22, 17, 36]);
        expect(o.globals('.data.stats').get('loop_calls')).toBe(7); // 4 + 3 bpf_loop callbacks
      } finally {
        await o.destroy();
      }
    }
  });

  it('.rodata.params set before load reaches the subprograms', async () => {
    const o = BpfObject.open(obj('shared_subprogs'));
    o.globals('.rodata.params').set('scale', 5);
    o.globals('.rodata.params').set('bias', 0);
    o.load();
    try {
      o.program('xdp_top').prog!.testRun(PACKET);
      o.program('xdp_loop').prog!.testRun(PACKET);
      const out = Buffer.from(o.bss.raw('out'));
      expect(out.readUInt32LE(0)).toBe(5 + 10 + 7); // top(1) = leaf(1) + leaf(2) + 7
      expect(out.readUInt32LE(4)).toBe(5 * (0 + 1 + 2 + 3)); // looper(4)
    } finally {
      await o.destroy();
    }
  });
});

describe('hidden_func: hidden functions are static for the verifier, as libbpf makes them', () => {
  it('the BTF given to the kernel has static linkage for __hidden (and __weak __hidden) functions only', () => {
    const spec = parseObject(readFileSync(obj('hidden_func')), { name: 'hidden_func' });
    const linkage = (btf: NonNullable<typeof spec.btf>, fn: string) => (btf.type(btf.findByNameKind(fn, BTF_KIND_FUNC)) as BtfFunc).linkage;
    for (const fn of ['pair_sum', 'pair_diff', 'pair_scale']) expect(linkage(spec.btf!, fn)).toBe(BTF_FUNC_GLOBAL);
    const fixed = parseBtf(patchObjectBtf({ btf: spec.btf!, elf: spec.elf, externs: spec.externs, kconfigSize: 0 })!);
    expect(linkage(fixed, 'pair_sum')).toBe(BTF_FUNC_STATIC); // __weak __hidden
    expect(linkage(fixed, 'pair_diff')).toBe(BTF_FUNC_STATIC); // __hidden
    expect(linkage(fixed, 'pair_scale')).toBe(BTF_FUNC_GLOBAL); // default visibility stays global
    expect(linkage(fixed, 'hidden_xdp')).toBe(BTF_FUNC_GLOBAL);
    expect(linkage(spec.btf!, 'pair_sum')).toBe(BTF_FUNC_GLOBAL); // the spec's own BTF is unchanged
  });

  it.skipIf(needsRoot)('a __weak __hidden function dereferencing its pointer arguments loads and computes', async () => {
    const o = BpfObject.openAndLoad(obj('hidden_func'));
    try {
      expect(o.program('hidden_xdp').prog!.testRun(PACKET).retval).toBe(2);
      expect(o.program('global_syscall').prog!.testRun().retval).toBe(0);
      const res = Buffer.from(o.bss.raw('res'));
      expect([0, 8, 16].map((off) => res.readBigUInt64LE(off))).toEqual([42n, 28n, 50n]);
    } finally {
      await o.destroy();
    }
  });
});

describe.skipIf(needsRoot)('core_subprogs: CO-RE inside subprograms shared by three programs', () => {
  it('the global function fills the record of the calling task through its static CO-RE helpers', async () => {
    for (const source of [obj('core_subprogs'), new Uint8Array(readFileSync(obj('core_subprogs')))]) {
      const o = BpfObject.openAndLoad(source, { name: 'core_subprogs' });
      try {
        expect(o.program('info_syscall').prog!.testRun().retval).toBe(0);
        const last = Buffer.from(o.bss.raw('last'));
        expect(last.readUInt32LE(0)).toBe(process.pid);
        expect(last.readUInt32LE(4)).toBe(process.ppid);
        expect(last.subarray(8).toString('utf8').replace(/\0.*$/s, '')).toBe(readFileSync('/proc/self/comm', 'utf8').trim());
      } finally {
        await o.destroy();
      }
    }
  });
});

describe.skipIf(needsRoot)('differential runs: the same return values and map contents as C libbpf', () => {
  // Programs run once each in this order on both sides (packet programs on 64 zero bytes), then every array map is compared.
  const cases: Record<string, string[]> = {
    shared_subprogs: ['xdp_top', 'xdp_loop', 'xdp_middle', 'tc_mixed'],
    hidden_func: ['hidden_xdp', 'global_syscall'],
    subprogs: ['xdp_a', 'xdp_b', 'tc_c'],
  };
  for (const [name, run] of Object.entries(cases)) {
    it(`${name}.bpf.o`, async () => {
      const avail = oracleAvailable();
      if (!avail.ok) throw new Error(`oracle unavailable: ${avail.reason}`);
      const c = oracleLoadSync(obj(name), { run, dump: true });
      expect(c.ok, c.error?.message).toBe(true);
      const o = BpfObject.openAndLoad(obj(name));
      try {
        const runs = run.map((p) => {
          const prog = o.program(p);
          const packet = prog.type === BpfProgType.BPF_PROG_TYPE_XDP || prog.type === BpfProgType.BPF_PROG_TYPE_SCHED_CLS;
          return { name: p, retval: prog.prog!.testRun(packet ? PACKET : {}).retval, errno: 0 };
        });
        expect(runs).toEqual(c.runs);
        const arrays = c.dumps.filter((d) => d.values);
        expect(arrays.length).toBeGreaterThan(0);
        for (const d of arrays) {
          const om = [...o.maps.values()].find((m) => m.spec.kernelName === d.name)!;
          expect(om, `map ${d.name}`).toBeDefined();
          const got = d.values!.map((_, k) => Buffer.from(om.map!.lookup(k) as Uint8Array).toString('hex'));
          expect(got, `map ${d.name}`).toEqual(d.values!.map((v) => v?.toString('hex')));
        }
      } finally {
        await o.destroy();
      }
    });
  }
});

describe('struct_ops maps are parsed from their sections (no kernel)', () => {
  it('tcp_cc: one map per variable, the programs its function pointers name, BPF_F_LINK on .struct_ops.link', async () => {
    const o = BpfObject.open(obj('tcp_cc'));
    expect(o.programs.size).toBe(3);
    const maps = [...o.maps.values()].filter((m) => m.spec.origin === 'struct_ops');
    expect(maps.map((m) => [m.name, m.spec.structOps!.section, m.spec.structOps!.typeName, m.spec.spec.type, m.spec.spec.flags])).toEqual([
      ['tsbpf_cc', '.struct_ops', 'tcp_congestion_ops', MapType.BPF_MAP_TYPE_STRUCT_OPS, 0],
      ['tsbpf_cc_link', '.struct_ops.link', 'tcp_congestion_ops', MapType.BPF_MAP_TYPE_STRUCT_OPS, BPF_F_LINK],
    ]);
    for (const m of maps) {
      expect(Object.fromEntries(m.spec.structOps!.programs)).toEqual({ ssthresh: 'cc_ssthresh', undo_cwnd: 'cc_undo_cwnd', cong_avoid: 'cc_cong_avoid' });
      // the name is data, copied into the kernel's struct at load
      expect(Buffer.from(m.spec.structOps!.data).includes(Buffer.from(`${m.name}\0`))).toBe(true);
    }
    await o.destroy();
  });
});

describe.skipIf(needsRoot)('errors name the object, then the program or map, then the reason', () => {
  it('a verifier failure names the object (the file name, or the name given for bytes)', async () => {
    for (const [source, name] of [[obj('broken'), 'broken'], [readFileSync(obj('broken')), 'mine']] as const) {
      const o = BpfObject.open(source, { name });
      const e = thrown(() => o.load());
      expect(e).toBeInstanceOf(ProgramLoadError);
      expect((e as ProgramLoadError).object).toBe(name);
      expect(e.message).toMatch(new RegExp(`^${name}: loading program "broken_null_deref" \\(section xdp\\): EACCES`));
      await o.destroy();
    }
  });

  it('a missing kfunc names the program that calls it', async () => {
    // a "kernel" BTF with nothing but int: no kfunc resolves
    const path = join(tmp, 'int-only.btf');
    writeFileSync(path, marshalBtf([{ kind: BTF_KIND_INT, name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 }]));
    const o = BpfObject.open(obj('ksym'), { kernelBtfPath: path });
    const e = thrown(() => o.load());
    expect(e).toBeInstanceOf(ObjectError);
    expect(e.message).toMatch(/^ksym: program "read_ksyms": extern kfunc "bpf_task_\w+" does not exist in the kernel's BTF$/);
    await o.destroy();
  });

  it('a missing kfunc called from a subprogram names the programs that reach it, and the subprogram', async () => {
    const path = join(tmp, 'int-only-2.btf');
    writeFileSync(path, marshalBtf([{ kind: BTF_KIND_INT, name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 }]));
    const o = BpfObject.open(obj('kfunc_subprog'), { kernelBtfPath: path });
    const e = thrown(() => o.load());
    expect(e).toBeInstanceOf(ObjectError);
    expect(e.message).toMatch(/^kfunc_subprog: programs "tgid_of_self", "tgid_of_knob" \(in subprogram "task_tgid_of"\): extern kfunc "bpf_task_(from_pid|release)" does not exist in the kernel's BTF$/);
    await o.destroy();
  });

  it('kfunc_subprog: the shared subprogram calls its kfuncs for both programs', async (ctx) => {
    const o = BpfObject.open(obj('kfunc_subprog'));
    try {
      o.load();
    } catch (e) {
      if (/does not exist in the kernel's BTF/.test((e as Error).message)) ctx.skip('this kernel lacks bpf_task_from_pid (6.2+)');
      throw e;
    }
    try {
      o.bss.set('knob_pid', process.ppid);
      expect(o.program('tgid_of_self').prog!.testRun().retval).toBe(0);
      expect(o.program('tgid_of_knob').prog!.testRun().retval).toBe(0);
      expect([o.bss.get('self_tgid'), o.bss.get('knob_tgid')]).toEqual([process.pid, process.ppid]);
    } finally {
      await o.destroy();
    }
  });

  it('any other error of a load gets the object name in front and keeps its class', async () => {
    const o = BpfObject.open(obj('core_task'), { kernelBtfPath: join(tmp, 'no-such-vmlinux') });
    const e = thrown(() => o.load());
    expect(e).toBeInstanceOf(BtfError);
    expect(e.message).toMatch(/^core_task: cannot read kernel BTF .*no-such-vmlinux/);
    await o.destroy();
  });

  it('a map the kernel refuses is named once', async () => {
    const o = BpfObject.open(obj('maps'));
    o.map('stack_traces').maxEntries = 0;
    const e = thrown(() => o.load());
    expect(e).toBeInstanceOf(ObjectError);
    expect(e.message).toMatch(/^maps: map "stack_traces": /);
    expect(e.message.match(/stack_traces/g)).toHaveLength(1);
    await o.destroy();
  });

  it('a CO-RE failure names the object and program, the C-like path and the raw access string', async () => {
    // Tamper with the instruction of the first CO-RE relocation so that it no longer
    // holds what the object's BTF says: the relocation must refuse to patch it.
    const bytes = new Uint8Array(readFileSync(obj('core_task')));
    const spec = parseObject(bytes, { name: 'core_task' });
    const sec = spec.btfExt!.coreRelos.find((s) => s.records.length > 0)!;
    const relo = sec.records.find((r) => r.kind === 0)!; // BPF_CORE_FIELD_BYTE_OFFSET
    const at = spec.elf.sectionByName(sec.secName)!.offset + relo.insnOff;
    const cls = bytes[at]! & 7;
    if (cls === 1 || cls === 2 || cls === 3) bytes[at + 2]! += 1; // LDX/ST/STX: the offset
    else bytes[at + 4]! += 1; // ALU: the immediate
    const prog = spec.programs.find((p) => p.sectionName === sec.secName && relo.insnOff / 8 >= p.secInsnOff && relo.insnOff / 8 < p.secInsnOff + p.insnCount)!;
    const o = BpfObject.open(bytes, { name: 'tampered' });
    const e = thrown(() => o.load());
    expect(e).toBeInstanceOf(RelocationError);
    expect(e.message.startsWith(`tampered: program "${prog.name}" (section ${sec.secName}) insn `)).toBe(true);
    expect(e.message).toContain(`[access string "${relo.accessStr}"]`);
    expect(e.message).toMatch(/struct \w+::\w+/); // the C-like path
    expect(e.message).toMatch(/unexpected instruction value/);
    await o.destroy();
  });
});
