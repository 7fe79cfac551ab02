// fentry/fexit (and tp_btf) in the Debian 6.1 guest (npm run test:vm): the
// BTF-typed programs of bpf/attach.bpf.o fire on the triggered kernel
// function and detach cleanly.
import { closeSync, openSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject } from '../../../src/object/index.ts';
import { libcGetpgid } from '../../../src/syscall/index.ts';
import { autoAttach, destroyLinks } from '../../../src/attach/index.ts';

const REPO = resolve(import.meta.dirname, '..', '..', '..');
const fdCount = () => readdirSync('/proc/self/fd').length;

describe.skipIf(process.env.TSBPF_VM !== '1')(`fentry/fexit/tp_btf (${process.env.TSBPF_VM_KERNEL} guest)`, () => {
  let obj: BpfObject;
  const count = (slot: number) => Buffer.from(obj.bss.raw('counts')).readBigUInt64LE(slot * 8);
  const prog = (name: string) => obj.program(name);
  beforeAll(() => {
    obj = BpfObject.open(join(REPO, 'bpf', 'attach.bpf.o'));
    for (const p of obj.programs.values()) p.autoload = ['fentry_openat2', 'fexit_openat2', 'tp_btf_sys_enter'].includes(p.name);
    obj.rodata.set('target_pid', process.pid);
    obj.load();
  });
  afterAll(async () => {
    await obj?.destroy();
  });

  it('fentry and fexit on do_sys_openat2 count our opens and see the return value', async () => {
    const before = fdCount();
    const links = ['fentry_openat2', 'fexit_openat2'].map((n) => autoAttach(prog(n), prog(n).sectionName));
    expect(links[0]!.info().typeName).toBe('BPF_LINK_TYPE_TRACING');
    const base = [count(11), count(12)];
    let fd = -1;
    for (let i = 0; i < 15; i++) {
      fd = openSync('/dev/null', 'r');
      closeSync(fd);
    }
    await destroyLinks(links);
    expect(count(11) - base[0]!).toBeGreaterThanOrEqual(15n);
    expect(count(12) - base[1]!).toBeGreaterThanOrEqual(15n);
    expect(Buffer.from(obj.bss.raw('fexit_ret')).readBigInt64LE(0)).toBeGreaterThanOrEqual(0n);
    expect(fdCount()).toBe(before);
    const after = count(11);
    closeSync(openSync('/dev/null', 'r'));
    expect(count(11)).toBe(after);
  });

  it('tp_btf/sys_enter counts exactly our getpgid calls', () => {
    const link = autoAttach(prog('tp_btf_sys_enter'), 'tp_btf/sys_enter');
    const base = count(2);
    for (let i = 0; i < 12; i++) libcGetpgid(0);
    link.destroy();
    expect(count(2) - base).toBe(12n);
  });
});
