// Every error src/ throws is a TsbpfError: a walk through the failure cases
// of the suites (bad input, kernel refusals, misuse), each checked with
// instanceof against the root and against its module's class.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NotSupportedError, TsbpfError, UsageError } from '../src/errors.ts';
import { ElfError, parseElf } from '../src/elf/index.ts';
import { BtfError, marshalBtf, parseBtf, parseBtfExt } from '../src/btf/index.ts';
import { BpfObject, ObjectError } from '../src/object/index.ts';
import { BpfMap, MapError, MapType } from '../src/maps/index.ts';
import { BpfProgType, Program, ProgramLoadError, asm, encodeInsns } from '../src/prog/index.ts';
import { AttachError, attachRawTracepoint, attachTarget, attachTracepoint, autoAttach, parseSection } from '../src/attach/index.ts';
import { RingBuffer, RingBufferError } from '../src/ringbuf/index.ts';
import { FD, SyscallError } from '../src/syscall/index.ts';
import { parseCpuList } from '../src/util/cpus.ts';
import { BPF_DIR } from './helpers/oracle.ts';
import { kernelRefusal, needsRoot } from './helpers/env.ts';

const obj = (name: string) => `${BPF_DIR}/${name}.bpf.o`;

/** The error `f` throws (sync or async); fails the test when it throws nothing. */
async function thrown(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

async function expectTsbpf(f: () => unknown, cls: abstract new (...a: never[]) => Error, message?: RegExp): Promise<Error> {
  const e = await thrown(f);
  expect(e).toBeInstanceOf(TsbpfError);
  expect(e).toBeInstanceOf(cls);
  if (message) expect((e as Error).message).toMatch(message);
  return e as Error;
}

describe('every failure is a TsbpfError', () => {
  it('bad input to the pure parsers (no kernel)', async () => {
    await expectTsbpf(() => parseElf(new Uint8Array(16)), ElfError);
    await expectTsbpf(() => parseElf(readFileSync(obj('minimal')).subarray(0, 200)), ElfError);
    await expectTsbpf(() => parseBtf(new Uint8Array([0x9f, 0xeb, 1, 0, 24, 0, 0, 0])), BtfError);
    await expectTsbpf(() => parseBtf(new Uint8Array(3)), BtfError);
    await expectTsbpf(() => parseBtfExt(new Uint8Array(5), parseBtf(marshalBtf([]))), BtfError);
    await expectTsbpf(() => BpfObject.open(new Uint8Array(64)), ElfError);
    await expectTsbpf(() => BpfObject.open('/nonexistent/x.bpf.o'), ObjectError, /cannot read/);
    await expectTsbpf(() => parseCpuList('zero'), TsbpfError);
    await expectTsbpf(() => new FD(-1, 'nothing'), UsageError);
  });

  it('an unknown section, an unattachable one, a pending kind', async () => {
    const bytes = Buffer.from(readFileSync(obj('minimal')));
    const from = Buffer.from('tp/syscalls/sys_enter_write');
    for (let at = bytes.indexOf(from); at >= 0; at = bytes.indexOf(from, at + 1)) Buffer.from('zz/syscalls/sys_enter_write').copy(bytes, at);
    await expectTsbpf(() => BpfObject.open(bytes), ObjectError, /unknown section name "zz\/syscalls\/sys_enter_write"/);
    const p = { name: 'p', fd: -1 };
    await expectTsbpf(() => autoAttach(p, 'bogus/x'), AttachError, /known forms/);
    await expectTsbpf(() => autoAttach(p, 'socket'), AttachError);
    await expectTsbpf(() => attachTarget(p, parseSection('struct_ops/x')!.target), NotSupportedError);
    await expectTsbpf(() => attachTarget(p, parseSection('usdt//bin/true:a:b')!.target), AttachError, /usdt\.bpf\.h maps/);
  });

  it('kernel refusals and misuse on the real kernel', async (ctx) => {
    if (needsRoot) return ctx.skip(needsRoot);
    // verifier rejection
    const broken = BpfObject.open(obj('broken'));
    await expectTsbpf(() => broken.load(), ProgramLoadError, /broken_null_deref/);
    await broken.destroy();
    const bad = encodeInsns([asm.mov64Imm(0, 0)]); // no exit
    await expectTsbpf(() => Program.load({ name: 'noexit', type: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: bad, license: 'GPL' }), ProgramLoadError);
    await expectTsbpf(() => Program.load({ name: 'odd', type: BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, insns: new Uint8Array(12), license: 'GPL' }), UsageError);

    // CO-RE against a kernel BTF that is not there
    const core = BpfObject.open(obj('core'), { kernelBtfPath: '/nonexistent/vmlinux' });
    await expectTsbpf(() => core.load(), TsbpfError, /nonexistent/);
    await core.destroy();

    // bad map definitions
    await expectTsbpf(() => BpfMap.create({ name: 'bad', type: MapType.BPF_MAP_TYPE_HASH, keySize: 0, valueSize: 4, maxEntries: 1, flags: 0 }), MapError);
    await expectTsbpf(() => BpfMap.create({ name: 'bad', type: 9999 as MapType, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 }), MapError);
    await expectTsbpf(() => BpfMap.create({ name: 'bad', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 1000, flags: 0 }), MapError);

    // wrong arguments and closed objects
    const map = BpfMap.create({ name: 'err_walk', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 2, flags: 0 });
    await expectTsbpf(() => map.lookup(new Uint8Array(3)), UsageError);
    await expectTsbpf(() => map.update(2 ** 32, 1), UsageError);
    await expectTsbpf(() => map.update(5, 1n), SyscallError); // index out of range: E2BIG from the kernel
    await expectTsbpf(() => new RingBuffer(map), RingBufferError);
    map.close();
    await expectTsbpf(() => map.lookup(0), TsbpfError);

    // missing attach targets
    const o = BpfObject.open(obj('minimal'));
    o.load();
    const prog = o.program('handle_tp').prog!;
    await expectTsbpf(() => attachTracepoint(prog, 'syscalls', 'sys_enter_nope', { mount: true }), AttachError, /sys_enter_nope/);
    await expectTsbpf(() => attachRawTracepoint(prog, 'no_such_tracepoint'), AttachError);
    await expectTsbpf(() => o.attach('nope'), ObjectError);
    await o.destroy();
    await expectTsbpf(() => o.program('handle_tp').fd, UsageError);
    const e = await thrown(() => prog.fd);
    expect(e).toBeInstanceOf(TsbpfError);
  });

  it('a syscall failure carries errno and code', async (ctx) => {
    if (needsRoot) return ctx.skip(needsRoot);
    const e = await expectTsbpf(() => BpfMap.fromId(0x7fffffff), TsbpfError);
    const withErrno = [e, (e as { cause?: unknown }).cause].find((x) => x instanceof TsbpfError && (x as TsbpfError).errno !== undefined) as TsbpfError | undefined;
    expect(withErrno?.code).toBe('ENOENT');
    expect(kernelRefusal(e)).toBeUndefined();
    expect(SyscallError.prototype).toBeInstanceOf(TsbpfError);
  });
});
