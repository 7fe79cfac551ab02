// The published package: plain Node (no tsx) can import and require dist/
// (rebuilt from the current src/ first) and load real objects with it, and its compile cache behaves as
// src/compile_cache says (written once, reused, never trusted when others
// could have written it).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeDist, writeTypes } from '../scripts/build.ts';
import { BpfObject } from '../src/object/index.ts';
import { hasCommand, isRoot, needsRoot } from './helpers/env.ts';

const REPO = resolve(import.meta.dirname, '..');
const CORE = join(REPO, 'bpf', 'core.bpf.o');

/** Run `code` in a plain `node` (ESM with --input-type=module, else CommonJS) from the repo; its stdout. */
function node(code: string, env: Record<string, string>, esm = true): string {
  const args = esm ? ['--input-type=module', '-e', code] : ['-e', code];
  return execFileSync(process.execPath, args, { cwd: REPO, env: { ...process.env, ...env }, encoding: 'utf8' });
}

/** Import the package in a fresh process with the cache in `dir`; the cache's log lines. */
function importWithCache(dir: string, extraEnv: Record<string, string> = {}): string[] {
  const r = spawnSync(process.execPath, ['-e', `import('tsbpf')`], {
    cwd: REPO, env: { ...process.env, DEBUG: 'tsbpf:cache', DEBUG_COLORS: '0', TSBPF_CACHE_DIR: dir, ...extraEnv }, encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`node exited ${r.status}: ${r.stderr}`);
  return r.stderr.split('\n').filter((l) => l.includes('tsbpf:cache'));
}

beforeAll(async () => {
  await writeDist();
});

describe('the package for TypeScript users', () => {
  /**
   * The documented examples, as a consumer writes them: every ```ts block of
   * README.md, and docs/API.md's object lifecycle, that import only from 'tsbpf' (a skeleton
   * example imports the generated file too, and is checked by the skel tests),
   * each as a file of its own, its statements inside an async function (so a
   * CommonJS consumer may await too).
   */
  function documentedExamples(): { file: string; lines: string[] }[] {
    const out: { file: string; lines: string[] }[] = [];
    for (const doc of ['README.md', 'docs/API.md']) {
      const blocks = [...readFileSync(join(REPO, doc), 'utf8').matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
      blocks.forEach((block, n) => {
        const lines = block.split('\n');
        const imports = lines.filter((l) => l.startsWith('import '));
        if (imports.length === 0 || imports.some((l) => !/from 'tsbpf(\/testing)?';$|from 'node:/.test(l))) return;
        // docs/API.md also sketches signatures (`emitTsTypes(btf, [id, ...] | 'all', ...)`): its examples are the ones that open an object
        if (doc === 'docs/API.md' && !block.includes('BpfObject.open(')) return;
        out.push({ file: `${doc.replace(/\W/g, '_')}_${n}.ts`, lines: [...imports, 'export async function example(): Promise<void> {', ...lines.filter((l) => !l.startsWith('import ')), '}'] });
      });
    }
    return out;
  }

  // What the docs do not show but every owner promises: dispose, typed links, the testing entry.
  const extra = [
    "import { BpfObject, RingBuffer, TsbpfError, type Link } from 'tsbpf';",
    "import { overrideFeature } from 'tsbpf/testing';",
    'export async function more(obj: BpfObject): Promise<number> {',
    "  const rb = new RingBuffer(obj.map('rb').map);",
    '  const links: readonly Link[] = obj.links;',
    '  for (const link of links) console.log(link.target, link.isBpfLink ? link.info().id : 0);',
    '  rb[Symbol.dispose]();',
    '  try { await obj.destroy(); } catch (e) { if (e instanceof TsbpfError) console.log(e.code); }',
    '  await obj[Symbol.asyncDispose]();',
    "  overrideFeature('btf:enum64', undefined);",
    '  return rb.consume();',
    '}',
  ];

  /** tsc a consumer package of this type ("module" or "commonjs") holding `files`. */
  function consumerTsc(type: 'module' | 'commonjs', files: { file: string; lines: string[] }[]) {
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-ts-consumer-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(REPO, join(dir, 'node_modules', 'tsbpf'));
      symlinkSync(join(REPO, 'node_modules', '@types'), join(dir, 'node_modules', '@types'));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ type }) + '\n');
      // Node16 for CommonJS: what a TypeScript 5 user has (it refuses to require ESM declarations)
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { target: 'ES2022', module: type === 'module' ? 'NodeNext' : 'Node16', moduleResolution: 'Node16', strict: true, noEmit: true, types: ['node'] },
        files: files.map((f) => f.file),
      }));
      for (const f of files) writeFileSync(join(dir, f.file), f.lines.join('\n'));
      return spawnSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('the documented examples have no cast and no non-null assertion', () => {
    const examples = documentedExamples();
    expect(examples.map((e) => e.file)).toEqual(expect.arrayContaining(['README_md_2.ts', 'docs_API_md_0.ts']));
    for (const e of examples) {
      const code = e.lines.join('\n').replace(/\/\/.*$/gm, '');
      expect(code, e.file).not.toMatch(/[\w)\]]!(?![=])/);
      expect(code, e.file).not.toMatch(/\bas\s+(?!const\b)[A-Za-z{]/);
    }
  });

  for (const type of ['module', 'commonjs'] as const) {
    it(`type-checks the documented examples against dist/types as ${type === 'module' ? 'ESM' : 'CommonJS'}, and refuses a wrong use`, () => {
      writeTypes();
      const files = [...documentedExamples(), { file: 'more.ts', lines: extra }];
      const good = consumerTsc(type, files);
      expect(good.stdout + good.stderr).toBe('');
      expect(good.status).toBe(0);
      const bad = consumerTsc(type, [...files, { file: 'wrong.ts', lines: ["import { RingBuffer } from 'tsbpf';", 'export const wrong: string = new RingBuffer(0).consume();'] }]);
      expect(bad.status).not.toBe(0);
      expect(bad.stdout).toMatch(/wrong\.ts\(2,14\): error TS2322: Type 'number' is not assignable to type 'string'/);
    });
  }
});

describe.skipIf(needsRoot)('the package from plain node', () => {
  it('import and require both load a CO-RE object, with the tags the sources give', async () => {
    const obj = BpfObject.open(CORE);
    obj.load();
    const want = [...obj.programs.values()].filter((p) => p.loaded).map((p) => `${p.name}=${p.prog.tag()}`).sort();
    await obj.destroy();
    const body = (api: string) => `const o = ${api}.BpfObject.open(${JSON.stringify(CORE)}); o.load();
      console.log([...o.programs.values()].filter((p) => p.loaded).map((p) => p.name + '=' + p.prog.tag()).sort().join(' '));
      o.destroy().then(() => {});`;
    const env = { TSBPF_COMPILE_CACHE: '0', DEBUG: '' };
    const viaImport = node(`import * as tsbpf from 'tsbpf';\n${body('tsbpf')}`, env).trim();
    const viaRequire = node(`const tsbpf = require('tsbpf');\n${body('tsbpf')}`, env, false).trim();
    expect(want.length).toBe(2);
    expect(viaImport).toBe(want.join(' '));
    expect(viaRequire).toBe(want.join(' '));
  });

  it('RingBufferWorker runs its thread from dist/ (ringbuf-worker.cjs) and delivers every record', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-worker-'));
    try {
      writeFileSync(join(dir, 'handler.mjs'), 'export default ({ data }) => { let n = 0, sum = 0; return { onRecord(v, off) { n++; sum += v.getUint32(off, true); }, onClose: () => ({ n, sum, data }) }; };\n');
      const code = `import { BpfObject, RingBufferWorker } from 'tsbpf';
        import koffi from 'koffi';
        const getpgid = koffi.load('libc.so.6').func('int getpgid(int pid)');
        const obj = BpfObject.open(${JSON.stringify(join(REPO, 'bpf', 'ringbuf_bench.bpf.o'))});
        for (const p of obj.programs.values()) p.autoload = p.name === 'rb_produce';
        obj.rodata.set('target_pid', process.pid);
        obj.data.set('nr_records', 1000);
        obj.load();
        obj.attach('rb_produce', { mount: true });
        const w = await RingBufferWorker.start(obj.map('rb').map, { module: ${JSON.stringify(join(dir, 'handler.mjs'))}, data: 'x' });
        for (let i = 0; i < 10; i++) getpgid(0);
        console.log(JSON.stringify({ ...(await w.close()), submitted: Number(obj.bss.get('submitted')) }));
        await obj.destroy();`;
      const r = JSON.parse(node(code, { TSBPF_COMPILE_CACHE: '0', DEBUG: '' })) as { n: number; sum: number; data: string; submitted: number };
      // seq runs 0..submitted-1 (a 256 KiB ring holds the 10,000 16-byte records)
      expect(r).toEqual({ n: 10_000, sum: (10_000 * 9_999) / 2, data: 'x', submitted: 10_000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the kernel BTF type index (src/btf/kernel.ts)', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'tsbpf-idx-test-')), 'cache');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));
  const indexes = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.btfindex')) : []);
  /** A fresh process that completes the header pass over vmlinux; its answers and its tsbpf:btf log. */
  const run = (env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, ['-e', "const b = require('./dist/index.cjs').loadKernelBtf(); console.log(JSON.stringify([b.typeCount, b.findByEssentialName('task_struct', 4), b.findByEssentialName('sk_buff', 4)]))"], {
      cwd: REPO, env: { ...process.env, DEBUG: 'tsbpf:btf', DEBUG_COLORS: '0', TSBPF_CACHE_DIR: dir, TSBPF_COMPILE_CACHE: '0', ...env }, encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    return { answers: r.stdout.trim(), log: r.stderr };
  };

  it.skipIf(!existsSync('/sys/kernel/btf/vmlinux'))('is written by the process that made the pass (0600) and read by the next, which answers the same', () => {
    const first = run();
    expect(first.log).toMatch(/type index tsbpf-[0-9a-f]{32}\.btfindex: no cache yet/);
    expect(first.log).toMatch(/written \(\d+ types\)/);
    expect(indexes()).toHaveLength(1);
    expect(statSync(join(dir, indexes()[0]!)).mode & 0o777).toBe(0o600);
    const second = run();
    expect(second.log).toMatch(/read \(\d+ types\)/);
    expect(second.log).toMatch(/types from the index given/);
    expect(second.log).not.toMatch(/written/);
    expect(second.answers).toBe(first.answers);
  });

  it.skipIf(!existsSync('/sys/kernel/btf/vmlinux'))('a malformed index is ignored and replaced; TSBPF_BTF_INDEX_CACHE=0 turns it off', () => {
    const first = run();
    const path = join(dir, indexes()[0]!);
    writeFileSync(path, Buffer.alloc(4096, 0x5a), { mode: 0o600 });
    const bad = run();
    expect(bad.log).toMatch(/malformed \(4096 bytes\), ignored/);
    expect(bad.log).toMatch(/written/);
    expect(bad.answers).toBe(first.answers);
    expect(run().log).toMatch(/types from the index given/);
    const off = run({ TSBPF_BTF_INDEX_CACHE: '0' });
    expect(off.log).toMatch(/type index not used: turned off \(TSBPF_BTF_INDEX_CACHE=0\)/);
    expect(off.answers).toBe(first.answers);
  });
});

describe('the compile cache', () => {
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tsbpf-cc-test-'));
    dir = join(root, 'cache');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const files = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.v8cache')) : []);

  it('is written by the first process (0600 in a 0700 directory) and accepted by the next, unchanged', () => {
    const first = importWithCache(dir);
    expect(first.join('\n')).toMatch(/no cache yet/);
    expect(first.join('\n')).toMatch(/written \(\d+ bytes\)/);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const [name] = files();
    expect(name).toMatch(/^tsbpf-[0-9a-f]{32}\.v8cache$/);
    const path = join(dir, name!);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const bytes = readFileSync(path);
    expect(bytes.length).toBeGreaterThan(10_000);
    const second = importWithCache(dir);
    expect(second.join('\n')).toMatch(/accepted/);
    expect(second.join('\n')).not.toMatch(/written/);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it.skipIf(needsRoot)('replaces a thin cache (written by a process that only imported) with the fuller one of a process that loaded an object', () => {
    importWithCache(dir);
    const path = join(dir, files()[0]!);
    const thin = readFileSync(path).length;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { BpfObject } from 'tsbpf'; const o = BpfObject.open(${JSON.stringify(CORE)}); o.load(); await o.destroy();`], {
      cwd: REPO, env: { ...process.env, DEBUG: 'tsbpf:cache', DEBUG_COLORS: '0', TSBPF_CACHE_DIR: dir }, encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/accepted/);
    expect(r.stderr).toMatch(/written/);
    const full = readFileSync(path).length;
    expect(full).toBeGreaterThan(thin * 1.1);
    // full now: the next import neither rewrites it nor pays for serializing
    const again = importWithCache(dir).join('\n');
    expect(again).toMatch(/accepted/);
    expect(again).not.toMatch(/written/);
    expect(readFileSync(path).length).toBe(full);
  });

  it('replaces a cache V8 rejects (garbage) with a good one', () => {
    importWithCache(dir);
    const path = join(dir, files()[0]!);
    writeFileSync(path, Buffer.alloc(4096, 0x5a), { mode: 0o600 });
    const log = importWithCache(dir).join('\n');
    expect(log).toMatch(/rejected by V8/);
    expect(log).toMatch(/written/);
    expect(importWithCache(dir).join('\n')).toMatch(/accepted/);
  });

  it('is not used in a directory others can write, nor from a file others can write or a symlink', () => {
    importWithCache(dir);
    const name = files()[0]!;
    const path = join(dir, name);
    chmodSync(path, 0o666);
    expect(importWithCache(dir).join('\n')).toMatch(/writable by others/);
    chmodSync(path, 0o600);
    const elsewhere = join(root, 'elsewhere.v8cache');
    writeFileSync(elsewhere, readFileSync(path), { mode: 0o600 });
    rmSync(path);
    symlinkSync(elsewhere, path);
    const viaLink = importWithCache(dir).join('\n');
    expect(viaLink).not.toMatch(/accepted/);
    expect(viaLink).toMatch(/ELOOP|symbolic link/);
    rmSync(path);
    chmodSync(dir, 0o777);
    const shared = importWithCache(dir).join('\n');
    expect(shared).toMatch(/not used: .* writable by others/);
    expect(files()).toEqual([]);
    // an ancestor others can write (not sticky) could be rearranged under us
    chmodSync(dir, 0o700);
    chmodSync(root, 0o777);
    expect(importWithCache(dir).join('\n')).toMatch(/not used: .*above .* is writable by others/);
    chmodSync(root, 0o1777); // sticky, like /tmp: fine
    const sticky = importWithCache(dir).join('\n');
    expect(sticky).toMatch(/no cache yet/);
    expect(files()).toHaveLength(1);
  });

  it.skipIf(!isRoot || !hasCommand('setpriv', ['--version']))('never stops the package from loading: a uid with no home directory loads it without a cache', () => {
    const r = spawnSync('setpriv', ['--reuid=54321', '--regid=54321', '--clear-groups', 'env', '-u', 'HOME', '-u', 'TSBPF_CACHE_DIR', process.execPath, '-e', `console.log(typeof require(${JSON.stringify(join(REPO, 'dist', 'index.cjs'))}).BpfObject)`], {
      env: { ...process.env, DEBUG: 'tsbpf:cache', DEBUG_COLORS: '0' }, encoding: 'utf8',
    });
    expect(r.stdout.trim()).toBe('function');
    expect(r.stderr).toMatch(/not used: no home directory for uid 54321/);
  });

  it('is not met by a bundle that changed on disk since it was written (its mtime is in the name)', () => {
    // a copy of the package's two files (koffi found through a node_modules link), so dist/ stays as it is
    const pkg = join(root, 'pkg');
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    for (const f of ['index.cjs', 'tsbpf.cjs']) writeFileSync(join(pkg, 'dist', f), readFileSync(join(REPO, 'dist', f)));
    symlinkSync(join(REPO, 'node_modules'), join(pkg, 'node_modules'));
    const load = () => spawnSync(process.execPath, ['-e', `require(${JSON.stringify(join(pkg, 'dist', 'index.cjs'))})`], {
      env: { ...process.env, DEBUG: 'tsbpf:cache', DEBUG_COLORS: '0', TSBPF_CACHE_DIR: dir }, encoding: 'utf8',
    }).stderr;
    expect(load()).toMatch(/written/);
    expect(load()).toMatch(/accepted/);
    const [before] = files();
    const bundle = join(pkg, 'dist', 'tsbpf.cjs');
    utimesSync(bundle, new Date(), new Date(statSync(bundle).mtimeMs + 1000)); // same bytes, as an edit that kept the length
    const log = load();
    expect(log).toMatch(/no cache yet/);
    expect(log).not.toMatch(/accepted/);
    expect(files()).toHaveLength(2);
    expect(files()).toContain(before);
  });

  it('refuses a relative directory', () => {
    const log = importWithCache('relative/cache').join('\n');
    expect(log).toMatch(/not used: "relative\/cache" is not an absolute path/);
    expect(existsSync(join(REPO, 'relative'))).toBe(false);
  });

  it('is off with TSBPF_COMPILE_CACHE=0', () => {
    expect(importWithCache(dir, { TSBPF_COMPILE_CACHE: '0' }).join('\n')).toMatch(/turned off/);
    expect(files()).toEqual([]);
  });
});
