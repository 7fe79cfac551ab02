// Skeletons: the committed ones in bpf/skel/ are what the generator writes
// now; the generator fails only with typed errors (every object of bpf/, and
// mutated ones); generated codecs agree with the C compiler on every kind of
// member (test-run programs fill and check struct kitchen); the types catch a
// wrong key, a misspelled map and a rodata write after load at compile time.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateAll, SKEL_DIR, BPF_DIR } from '../scripts/gen_skel.ts';
import { generateSkeleton } from '../src/skel/generate.ts';
import { TsbpfError } from '../src/errors.ts';
import { UsageError } from '../src/errors.ts';
import { Codec, kitchen, kitchenView, e8, e32, e64, type CodecLoaded } from '../bpf/skel/codec.skel.ts';
import { Globals } from '../bpf/skel/globals.skel.ts';
import { kernelRefusal, needsRoot } from './helpers/env.ts';

const REPO = resolve(import.meta.dirname, '..');

describe('committed skeletons', () => {
  it('bpf/skel/ holds exactly what the generator writes now (npm run gen:skel)', () => {
    const now = generateAll();
    const committed = readdirSync(SKEL_DIR).filter((f) => f.endsWith('.skel.ts')).sort();
    const generated = [...now].filter(([, r]) => r.text).map(([f]) => f).sort();
    expect(committed).toEqual(generated);
    for (const [file, r] of now) {
      if (!r.text) continue;
      expect(readFileSync(join(SKEL_DIR, file), 'utf8'), `${file} is stale: run npm run gen:skel`).toBe(r.text);
    }
    // every object of bpf/ gets one
    expect(generated.length).toBe(readdirSync(BPF_DIR).filter((f) => f.endsWith('.bpf.o')).length);
  });
});

describe('the generator on bad input', () => {
  it('names what it cannot describe', () => {
    const bytes = readFileSync(join(BPF_DIR, 'bootstrap.bpf.o'));
    expect(() => generateSkeleton(bytes, { name: 'bootstrap', types: ['nope'] })).toThrow(/type nope: object bootstrap has no struct, union, enum or typedef named "nope"/);
    expect(() => generateSkeleton(bytes, { name: 'bootstrap', types: ['zz:event'] })).toThrow(/map "zz": object bootstrap has no ring or perf buffer named "zz"/);
    expect(() => generateSkeleton(bytes, { name: 'bootstrap', embed: false })).toThrow(TsbpfError);
    // a type with no value: a function prototype
    expect(() => generateSkeleton(bytes, { name: 'bootstrap', types: ['handle_exec'] })).toThrow(TsbpfError);
  });

  it('throws only typed errors on mutated objects', () => {
    // deterministic mutations: flip bytes inside .BTF and elsewhere
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let generated = 0;
    let refused = 0;
    for (const f of ['bootstrap.bpf.o', 'codec.bpf.o', 'globals.bpf.o', 'maps.bpf.o', 'syscount.bpf.o']) {
      const orig = readFileSync(join(BPF_DIR, f));
      for (let i = 0; i < 150; i++) {
        const b = Uint8Array.from(orig);
        const flips = 1 + rand(4);
        for (let j = 0; j < flips; j++) b[rand(b.length)] = rand(256);
        try {
          generateSkeleton(b, { name: 'm', types: f === 'codec.bpf.o' ? ['kitchen'] : f === 'bootstrap.bpf.o' ? ['event'] : [] });
          generated++;
        } catch (e) {
          if (!(e instanceof TsbpfError)) throw new Error(`${f} mutation ${i}: untyped ${String(e)}`, { cause: e });
          refused++;
        }
      }
    }
    expect(generated + refused).toBe(750);
  });
});

/** What codec.bpf.c's fill() writes, and check() expects. */
const KNOWN: kitchen = {
  u8v: 250, s8v: -100, u16v: 65000, s16v: -30000, u32v: 4000000000, s32v: -2000000000,
  u64v: 0xfedcba9876543210n, s64v: -0x123456789abcdefn, flag: true,
  bf_a: 5, bf_b: -9, bf_c: 0xabc, bf_d: -1, bf_e: 0xfedcba9876n,
  en8: e8.E8_BIG, en16: 0x1234, en32: e32.E32_NEG, en64: e64.E64_BIG,
  nested: { a: 0x1122, b: -7, c: 0x0102030405060708n },
  pair: { x: 77, y: -77 }, p: 0xbeef, q: 0xcafe,
  as_u32: 0x04030201, as_bytes: Uint8Array.of(1, 2, 3, 4),
  u: { whole: 0x01234567deadbeefn, parts: { lo: 0xdeadbeef, hi: 0x01234567 } },
  arr: Uint32Array.of(10, 20, 30),
  inners: [{ a: 1, b: 2, c: 3n }, { a: 4, b: -5, c: 6n }],
  name: 'kitchen', names: ['alpha', 'beta'],
  arr64: BigInt64Array.of(-1n, 0x7fffffffffffffffn),
  ptr: 0xffff888012345678n, tail: 0x5a,
};

describe('generated codecs against the C compiler (struct kitchen)', () => {
  it('decodes every field the BPF program wrote, and the program reads back what TypeScript encoded', async (ctx) => {
    if (needsRoot) return ctx.skip(needsRoot);
    let skel: CodecLoaded;
    try {
      skel = Codec.openAndLoad();
    } catch (e) {
      const r = kernelRefusal(e);
      if (r) return ctx.skip(`the kernel refused the syscall programs (${r})`);
      throw e;
    }
    try {
      expect(skel.progs.fill.prog!.testRun().retval).toBe(0);
      const got = skel.maps.out.lookup(0)!;
      expect(got).toEqual(KNOWN);
      // the view reads the same bytes in place
      const raw = skel.maps.out.raw.lookup(0)!;
      const view = new kitchenView(new DataView(raw.buffer, raw.byteOffset, raw.byteLength), 0);
      expect(view.bf_b).toBe(-9);
      expect(view.bf_e).toBe(0xfedcba9876n);
      expect(view.names).toEqual(['alpha', 'beta']);
      expect(view.u.parts.hi).toBe(0x01234567);
      expect(view.toObject()).toEqual(KNOWN);

      // TypeScript -> C: every field compared by the program (0 = all equal, else the first field that differs)
      skel.maps.in.update(0, KNOWN);
      expect(skel.progs.check.prog!.testRun().retval).toBe(0);
      // byte for byte what C wrote, padding included
      expect(Buffer.from(skel.maps.echo.raw.lookup(0)!).equals(Buffer.from(raw))).toBe(true);

      // a wrong value is seen by the program: the field number comes back
      skel.maps.in.update(0, { ...KNOWN, bf_c: 0xabd });
      expect(skel.progs.check.prog!.testRun().retval).toBe(12);
      skel.maps.in.update(0, { ...KNOWN, names: ['alpha', 'betb'] });
      expect(skel.progs.check.prog!.testRun().retval).toBe(25);
    } finally {
      await skel.destroy();
    }
  });

  it('refuses values that do not fit, naming the field', async () => {
    const dv = new DataView(new ArrayBuffer(kitchen.size));
    expect(() => kitchen.encode(dv, 0, { ...KNOWN, u8v: 256 })).toThrow(/struct kitchen.u8v: 256 is out of range \[0, 255\]/);
    expect(() => kitchen.encode(dv, 0, { ...KNOWN, name: 'a name too long' })).toThrow(/struct kitchen.name: .* the array holds 12/);
    expect(() => kitchen.encode(dv, 0, { ...KNOWN, arr: Uint32Array.of(1) })).toThrow(/struct kitchen.arr: expected 3 elements, got 1/);
    expect(() => kitchen.encode(dv, 0, { ...KNOWN, inners: [{ a: 1, b: 2, c: 3n }, { a: 1, b: 2, c: -1n }] })).toThrow(/struct kitchen.inners\[1\].c|struct inner.c/);
    expect(() => kitchen.encode(dv, 0, { ...KNOWN, bf_a: 8 })).toThrow(/struct kitchen.bf_a: 8 does not fit an unsigned 3-bit field/);
    expect(() => kitchen.encode(dv, 0, { ...KNOWN, pair: undefined as never })).toThrow(/struct kitchen.pair: expected an object/);
  });
});

describe('skeleton lifecycle', () => {
  it('rodata before load, read-only after; bss/data live; misuse is a UsageError', async (ctx) => {
    if (needsRoot) return ctx.skip(needsRoot);
    const skel = Globals.open();
    expect(() => skel.maps.results.lookup(0)).toThrow(UsageError);
    expect(() => skel.attach()).toThrow(UsageError);
    skel.rodata.rodata_int = 9;
    skel.rodata.rodata_str = 'howdy';
    skel.data.data_int = 40;
    const live = skel.load();
    try {
      expect(live.rodata.rodata_int).toBe(9);
      expect(() => {
        (live.rodata as { rodata_int: number }).rodata_int = 1;
      }).toThrow(/\.rodata variable "rodata_int" is read-only after load\(\)/);
      live.bss.bss_int = 1234;
      live.data.data_arr = [5n, 6n, 7n, 8n] as never;
      const args = Buffer.alloc(4);
      args.writeInt32LE(2);
      expect(live.progs.read_globals.prog!.testRun({ ctxIn: args }).retval).toBe(0);
      expect(live.maps.results.lookup(0)).toBe(42n); // data_int 40 + 2
      expect(live.maps.results.lookup(1)).toBe(9n);  // the rodata we set
      expect(live.maps.results.lookup(2)).toBe(1234n); // bss written live
      expect(live.maps.results.lookup(5)).toBe(26n); // 5+6+7+8
      expect(live.bss.out_str).toBe('howdy-40'); // written by the program, read live
      expect([...live.maps.results.keys()].length).toBe(16);
      expect(live.maps.results.lookupBatch().find(([k]) => k === 1)?.[1]).toBe(9n);
      expect(() => live.maps.results.lookupPerCpu(0)).toThrow();
    } finally {
      await live.destroy();
    }
    expect(() => live.bss.bss_int).toThrow(UsageError);
  });
});

describe('the types of a skeleton (tsc --strict)', () => {
  it('refuses a wrongly typed key, a misspelled map and a rodata write after load: each @ts-expect-error is needed', () => {
    const dir = join(REPO, 'test', 'build', 'skel-tsc');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'],
          allowImportingTsExtensions: true, skipLibCheck: true, paths: { tsbpf: ['../../../src/index.ts'] },
        },
        files: ['main.ts'],
      }));
      const program = (directives: boolean) => [
        "import { Bootstrap } from '../../../bpf/skel/bootstrap.skel.ts';",
        'const skel = Bootstrap.open();',
        'skel.rodata.min_duration_ns = 5n;',
        'const live = skel.load();',
        'const start: bigint | undefined = live.maps.exec_start.lookup(1234);',
        ...(directives ? ['// @ts-expect-error a pid_t key is a number'] : []),
        "live.maps.exec_start.lookup('1234');",
        ...(directives ? ['// @ts-expect-error there is no map "ringbuf"'] : []),
        'live.maps.ringbuf.onEvent(() => {});',
        ...(directives ? ['// @ts-expect-error .rodata is read-only once loaded'] : []),
        'live.rodata.min_duration_ns = 1n;',
        'live.maps.rb.onEvent((e) => { const c: string = e.comm; const d: bigint = e.duration_ns; void c; void d; });',
        'live.maps.rb.onEventView((v) => { const p: number = v.pid; void p; });',
        'export { start };',
      ].join('\n');
      const tsc = () => {
        try {
          execFileSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8', cwd: REPO });
          return '';
        } catch (e) {
          return String((e as { stdout?: string }).stdout);
        }
      };
      writeFileSync(join(dir, 'main.ts'), program(true));
      expect(tsc()).toBe('');
      // without the directives, exactly those three lines fail
      writeFileSync(join(dir, 'main.ts'), program(false));
      const errors = tsc().split('\n').filter((l) => l.includes('error TS'));
      expect(errors.map((l) => /main\.ts\((\d+),/.exec(l)?.[1])).toEqual(['6', '7', '8']);
      expect(errors.join('\n')).toMatch(/'string' is not assignable to parameter of type 'number'/);
      expect(errors.join('\n')).toMatch(/Property 'ringbuf' does not exist/);
      expect(errors.join('\n')).toMatch(/Cannot assign to 'min_duration_ns' because it is a read-only property/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
