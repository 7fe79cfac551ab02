// kprobe.multi and uprobe.multi on the development kernel. It has no
// CONFIG_FPROBE (no kprobe.multi: the tests check the error says so, or count
// calls if a later build has it); uprobe.multi (6.6+) works here and counts
// the calls of a test binary by cookie. The same tests run in the VM guests
// (test/vm/suite/multi.test.ts).
import { describe, expect, it } from 'vitest';
import { globMatch } from '../src/attach/index.ts';
import { needsRoot } from './helpers/env.ts';
import { kprobeMultiTests, uprobeMultiTests } from './helpers/multi_probes.ts';

describe('glob patterns of kprobe.multi / uprobe.multi (no kernel)', () => {
  it('matches * and ? like libbpf', () => {
    expect(globMatch('__x64_sys_getp?id', '__x64_sys_getpgid')).toBe(true);
    expect(globMatch('__x64_sys_getp?id', '__x64_sys_getpid')).toBe(false);
    expect(globMatch('tcp_*', 'tcp_v4_connect')).toBe(true);
    expect(globMatch('*_connect', 'tcp_v4_connect')).toBe(true);
    expect(globMatch('*v4*', 'tcp_v4_connect')).toBe(true);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('a*b*c', 'aXbYbZc')).toBe(true);
    expect(globMatch('a*b*c', 'aXbYbZ')).toBe(false);
    expect(globMatch('abc', 'abcd')).toBe(false);
  });
});

describe.skipIf(needsRoot)('multi-probes on the development kernel', () => {
  kprobeMultiTests('host', undefined, /CONFIG_FPROBE/);
  uprobeMultiTests('host', undefined, /6\.6\+|CONFIG_UPROBES/);
});
