// src/util/log.ts: DEBUG's patterns as the `debug` package reads them, and
// what an enabled namespace writes to stderr.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { namespaceEnabled, parseDebugPatterns } from '../src/util/log.ts';

const on = (spec: string, ns: string) => namespaceEnabled(ns, parseDebugPatterns(spec));

describe('DEBUG patterns', () => {
  it('matches names, wildcards and exclusions', () => {
    expect(on('', 'tsbpf:btf')).toBe(false);
    expect(on('tsbpf:*', 'tsbpf:btf')).toBe(true);
    expect(on('tsbpf:*', 'tsbpfx:btf')).toBe(false);
    expect(on('*', 'tsbpf:maps')).toBe(true);
    expect(on('tsbpf:btf,tsbpf:maps', 'tsbpf:maps')).toBe(true);
    expect(on('tsbpf:btf tsbpf:maps', 'tsbpf:relo')).toBe(false);
    expect(on('tsbpf:*,-tsbpf:syscall', 'tsbpf:syscall')).toBe(false);
    expect(on('tsbpf:*,-tsbpf:syscall', 'tsbpf:elf')).toBe(true);
    expect(on('tsbpf:re.o', 'tsbpf:relo')).toBe(false); // a dot is a dot
  });

  it('an enabled namespace writes "<ISO time> <namespace> <message>" lines to stderr; others stay silent', () => {
    const code = `import { createLog } from ${JSON.stringify(resolve(import.meta.dirname, '..', 'src', 'util', 'log.ts'))};
      const a = createLog('tsbpf:a'), b = createLog('tsbpf:b');
      a('%s has %d items %o', 'x', 3, { k: 1 }); b('never');
      console.log(JSON.stringify([a.enabled, b.enabled]));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: resolve(import.meta.dirname, '..'), env: { ...process.env, DEBUG: 'tsbpf:*,-tsbpf:b', DEBUG_COLORS: '0' }, encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([true, false]);
    expect(r.stderr).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z tsbpf:a x has 3 items \{ k: 1 \}\n$/);
  });
});
