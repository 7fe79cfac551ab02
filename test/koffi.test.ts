// src/syscall/koffi.ts: the package requires koffi's native addon itself
// (koffi's own loader costs milliseconds a process); it must be the very addon
// koffi would load, shared with a program that imports koffi too.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import koffi from 'koffi';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDist } from '../scripts/build.ts';
import { loadKoffi } from '../src/syscall/koffi.ts';

const REPO = resolve(import.meta.dirname, '..');

beforeAll(async () => {
  await writeDist();
});

describe('loading koffi', () => {
  it('is the addon koffi loads: one instance, koffi\'s version, working calls', () => {
    const mine = loadKoffi();
    expect(mine).toBe(koffi);
    expect((mine as unknown as { version: string }).version).toBe(koffi.version);
    const getpid = mine.load('libc.so.6').func('int getpid()') as () => number;
    expect(getpid()).toBe(process.pid);
  });

  it('does not go through koffi\'s loader in a fresh process, and a later import of koffi gets the same addon', () => {
    const r = spawnSync(process.execPath, ['-e', [
      "require('./dist/index.cjs');",
      "const loaders = Object.keys(require.cache).filter((f) => /node_modules\\/koffi\\/|koffi-[a-z]+-[a-z0-9]+\\/index\\.js$/.test(f));",
      "const addon = Object.keys(require.cache).filter((f) => f.endsWith('koffi.node'));",
      "const k = require('koffi');",
      "console.log(JSON.stringify({ loaders, addon: addon.length, same: k.default === require(addon[0]) }));",
    ].join('\n')], { cwd: REPO, encoding: 'utf8', env: { ...process.env, TSBPF_COMPILE_CACHE: '0' } });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ loaders: [], addon: 1, same: true });
  });
});
