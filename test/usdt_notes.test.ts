// USDT notes and argument specs: pure parsing, no kernel. The layout checks
// read the bytes back at the offsets of libbpf 1.1's struct __bpf_usdt_spec.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  UsdtArgType,
  UsdtError,
  USDT_SPEC_SIZE,
  encodeUsdtSpec,
  findUsdtProbes,
  parseUsdtArg,
  parseUsdtArgs,
  parseUsdtNotes,
  resolveRipRelative,
} from '../src/attach/index.ts';
import { hasCommand } from './helpers/env.ts';
import { REPO_ROOT } from './helpers/oracle.ts';

/** One ELF note: namesz, descsz, type, name (4-aligned), desc (4-aligned). */
function note(owner: string, type: number, desc: Uint8Array): Buffer {
  const name = Buffer.from(owner + '\0');
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const head = Buffer.alloc(12);
  head.writeUInt32LE(name.length, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(type, 8);
  return Buffer.concat([head, pad(name), pad(Buffer.from(desc))]);
}

function stapsdt(loc: bigint, base: bigint, sema: bigint, provider: string, name: string, args: string): Buffer {
  const addrs = Buffer.alloc(24);
  addrs.writeBigUInt64LE(loc, 0);
  addrs.writeBigUInt64LE(base, 8);
  addrs.writeBigUInt64LE(sema, 16);
  return note('stapsdt', 3, Buffer.concat([addrs, Buffer.from(`${provider}\0${name}\0${args}\0`)]));
}

describe('parseUsdtNotes', () => {
  it('reads every stapsdt note and skips notes of other owners and types', () => {
    const data = Buffer.concat([
      stapsdt(0x1130n, 0x2000n, 0x400an, 'tsbpf_lib', 'guarded', '-4@%edi 2@%dx'),
      note('GNU', 3, Buffer.alloc(20, 1)),
      note('stapsdt', 4, Buffer.alloc(30)),
      stapsdt(0x1212n, 0x201dn, 0n, 'p', 'noargs', ''),
      stapsdt(0x1300n, 0n, 0n, 'p', 'old', ':'),
    ]);
    expect(parseUsdtNotes(data)).toEqual([
      { provider: 'tsbpf_lib', name: 'guarded', args: '-4@%edi 2@%dx', location: 0x1130n, base: 0x2000n, semaphore: 0x400an },
      { provider: 'p', name: 'noargs', args: '', location: 0x1212n, base: 0x201dn, semaphore: 0n },
      { provider: 'p', name: 'old', args: '', location: 0x1300n, base: 0n, semaphore: 0n },
    ]);
  });

  it('rejects truncated and malformed notes with the byte offset', () => {
    const good = stapsdt(1n, 0n, 0n, 'p', 'n', '8@%rax');
    expect(() => parseUsdtNotes(good.subarray(0, good.length - 8), 'bin .note.stapsdt')).toThrow(/bin \.note\.stapsdt: note at byte 0 runs past the end/);
    const addrs = Buffer.alloc(24);
    expect(() => parseUsdtNotes(note('stapsdt', 3, Buffer.concat([addrs, Buffer.from('p\0n\0noterm')])))).toThrow(/arguments string is not NUL-terminated/);
    expect(() => parseUsdtNotes(note('stapsdt', 3, Buffer.concat([addrs, Buffer.from('p\0\0\0')])))).toThrow(/empty name/);
    expect(() => parseUsdtNotes(note('stapsdt', 3, Buffer.alloc(10)))).toThrow(UsdtError);
    const huge = Buffer.alloc(12);
    huge.writeUInt32LE(0xffffffff, 0);
    expect(() => parseUsdtNotes(huge)).toThrow(/runs past the end/);
  });
});

describe('x86-64 argument specs', () => {
  const C = UsdtArgType.BPF_USDT_ARG_CONST;
  const R = UsdtArgType.BPF_USDT_ARG_REG;
  const D = UsdtArgType.BPF_USDT_ARG_REG_DEREF;
  it.each([
    ['-4@$5', C, 4, true, 5n, 0],
    ['-4@$-9', C, 4, true, -9n, 0],
    ['8@$123456789012', C, 8, false, 123456789012n, 0],
    ['-4@%eax', R, 4, true, 0n, 80],
    ['8@%rdi', R, 8, false, 0n, 112],
    ['2@%ax', R, 2, false, 0n, 80],
    ['-1@%al', R, 1, true, 0n, 80],
    ['-1@%sil', R, 1, true, 0n, 104],
    ['1@%dil', R, 1, false, 0n, 112],
    ['-2@%dx', R, 2, true, 0n, 96],
    ['4@%r9d', R, 4, false, 0n, 64],
    ['-1@%r15b', R, 1, true, 0n, 0],
    ['2@%r10w', R, 2, false, 0n, 56],
    ['8@%rsp', R, 8, false, 0n, 152],
    ['8@-16(%rbp)', D, 8, false, -16n, 32],
    ['-4@-1204(%rbp)', D, 4, true, -1204n, 32],
    ['8@16(%rsp)', D, 8, false, 16n, 152],
    ['8@(%rsp)', D, 8, false, 0n, 152],
    ['-8@0x10(%rbx)', D, 8, true, 16n, 40],
  ] as const)('%s', (text, type, size, signed, valOff, regOff) => {
    const a = parseUsdtArg(text);
    expect({ type: a.type, size: a.size, signed: a.signed, valOff: a.valOff, regOff: a.regOff, symbol: a.symbol }).toEqual({ type, size, signed, valOff, regOff, symbol: undefined });
  });

  it('keeps symbol-relative operands for resolution against the binary', () => {
    const a = parseUsdtArg('-1@g_s8(%rip)');
    expect(a).toMatchObject({ type: D, size: 1, signed: true, reg: 'rip', regOff: 128, symbol: 'g_s8', valOff: 0n });
    const b = parseUsdtArg('8@counter+8(%rip)');
    expect(b).toMatchObject({ symbol: 'counter', valOff: 8n });
    // at the probe, ip is the probe's address: value at ip + (sym + 8 - probe)
    const r = resolveRipRelative(b, 0x4010n, 0x1390n);
    expect(r.valOff).toBe(0x4010n + 8n - 0x1390n);
    expect('symbol' in r).toBe(false);
    expect(() => encodeUsdtSpec([b], 0n)).toThrow(/not resolved/);
  });

  it('splits an argument string and refuses what usdt.bpf.h cannot read', () => {
    expect(parseUsdtArgs('-4@%edi 2@%dx').map((a) => a.text)).toEqual(['-4@%edi', '2@%dx']);
    expect(parseUsdtArgs('')).toEqual([]);
    expect(() => parseUsdtArgs(Array(13).fill('8@%rax').join(' '))).toThrow(/13 arguments.*at most 12/);
    expect(() => parseUsdtArg('3@%eax')).toThrow(/size 3 is not 1, 2, 4 or 8/);
    expect(() => parseUsdtArg('%eax')).toThrow(/not SIZE@OPERAND/);
    expect(() => parseUsdtArg('8@%xmm0')).toThrow(/unknown x86-64 register %xmm0/);
    expect(() => parseUsdtArg('1@%ah')).toThrow(/second byte of a register/);
    expect(() => parseUsdtArg('1@-96(%rbp,%rax,8)')).toThrow(/base\+index\*scale/);
    expect(() => parseUsdtArg('8@*%rax')).toThrow(/unrecognised x86-64 operand/);
  });

  it('lays out struct __bpf_usdt_spec as usdt.bpf.h (libbpf 1.1) reads it', () => {
    const args = parseUsdtArgs('-4@$-9 8@%rdi -2@-6(%rbp) 1@%sil');
    const spec = encodeUsdtSpec(args, 0x1122334455667788n);
    expect(spec.length).toBe(USDT_SPEC_SIZE);
    const dv = new DataView(spec.buffer);
    const arg = (i: number) => ({
      valOff: dv.getBigInt64(i * 16, true),
      type: dv.getUint32(i * 16 + 8, true),
      regOff: dv.getInt16(i * 16 + 12, true),
      signed: dv.getUint8(i * 16 + 14),
      bitshift: dv.getInt8(i * 16 + 15),
    });
    expect(arg(0)).toEqual({ valOff: -9n, type: 0, regOff: 0, signed: 1, bitshift: 32 });
    expect(arg(1)).toEqual({ valOff: 0n, type: 1, regOff: 112, signed: 0, bitshift: 0 });
    expect(arg(2)).toEqual({ valOff: -6n, type: 2, regOff: 32, signed: 1, bitshift: 48 });
    expect(arg(3)).toEqual({ valOff: 0n, type: 1, regOff: 104, signed: 0, bitshift: 56 });
    expect(arg(4)).toEqual({ valOff: 0n, type: 0, regOff: 0, signed: 0, bitshift: 0 });
    expect(dv.getBigUint64(192, true)).toBe(0x1122334455667788n);
    expect(dv.getInt16(200, true)).toBe(4);
  });
});

describe('findUsdtProbes on a gcc-built binary', () => {
  const build = join(REPO_ROOT, 'test', 'build');
  const lib = join(build, 'libtsbpf_usdt_notes.so');
  const why = !hasCommand('gcc') ? 'needs gcc' : !existsSync('/usr/include/x86_64-linux-gnu/sys/sdt.h') && !existsSync('/usr/include/sys/sdt.h') ? 'needs <sys/sdt.h> (Debian package systemtap-sdt-dev)' : !hasCommand('readelf') ? 'needs readelf (binutils)' : undefined;

  it('agrees with readelf -n and places each site through the program headers', (ctx) => {
    if (why) return ctx.skip(why);
    mkdirSync(build, { recursive: true });
    execFileSync('gcc', ['-O2', '-shared', '-fPIC', '-o', lib, join(REPO_ROOT, 'test', 'fixtures', 'usdt_lib.c')]);
    // readelf's view: "Provider: p", "Name: n", "Location: 0x..., Base: 0x..., Semaphore: 0x...", "Arguments: ..."
    const text = execFileSync('readelf', ['-n', lib], { encoding: 'utf8' });
    const theirs = [...text.matchAll(/Provider: (\S+)\s+Name: (\S+)\s+Location: (0x[0-9a-f]+), Base: (0x[0-9a-f]+), Semaphore: (0x[0-9a-f]+)\s+Arguments: ?(.*)/g)].map((m) => ({
      provider: m[1],
      name: m[2],
      location: BigInt(m[3]!),
      base: BigInt(m[4]!),
      semaphore: BigInt(m[5]!),
      args: m[6]!.trim(),
    }));
    const ours = findUsdtProbes(lib);
    expect(theirs.length).toBe(2);
    expect(ours.sites.map((s) => s.note)).toEqual(theirs);
    // readelf -l: the file offset of an address in a PT_LOAD segment
    const segs = [...execFileSync('readelf', ['-lW', lib], { encoding: 'utf8' }).matchAll(/LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)/g)].map((m) => ({
      offset: BigInt(m[1]!),
      vaddr: BigInt(m[2]!),
      memsz: BigInt(m[3]!),
    }));
    const fileOffset = (a: bigint) => {
      const s = segs.find((x) => a >= x.vaddr && a < x.vaddr + x.memsz)!;
      return a - s.vaddr + s.offset;
    };
    for (const site of ours.sites) {
      expect(site.fileOffset).toBe(fileOffset(site.address));
      expect(site.semaphoreOffset).toBe(fileOffset(site.note.semaphore));
    }
    expect(() => findUsdtProbes('/bin/sh')).toThrow(/no \.note\.stapsdt section/);
  });

  it('compensates prelink: sections and segments moved, notes not (.stapsdt.base says by how much)', (ctx) => {
    if (why) return ctx.skip(why);
    if (!existsSync(lib)) execFileSync('gcc', ['-O2', '-shared', '-fPIC', '-o', lib, join(REPO_ROOT, 'test', 'fixtures', 'usdt_lib.c')]);
    // What prelink does to a library: every PT_LOAD and section moved by delta; the unallocated notes keep old addresses.
    const b = Buffer.from(readFileSync(lib));
    const delta = 0x10000n;
    const phoff = Number(b.readBigUInt64LE(32));
    for (let i = 0; i < b.readUInt16LE(56); i++) {
      const o = phoff + i * b.readUInt16LE(54);
      if (b.readUInt32LE(o) !== 1) continue; // PT_LOAD
      b.writeBigUInt64LE(b.readBigUInt64LE(o + 16) + delta, o + 16);
      b.writeBigUInt64LE(b.readBigUInt64LE(o + 24) + delta, o + 24);
    }
    const shoff = Number(b.readBigUInt64LE(40));
    const shentsize = b.readUInt16LE(58);
    for (let i = 0; i < b.readUInt16LE(60); i++) {
      const o = shoff + i * shentsize;
      const addr = b.readBigUInt64LE(o + 16);
      if (addr) b.writeBigUInt64LE(addr + delta, o + 16);
    }
    const moved = join(build, 'libtsbpf_usdt_prelinked.so');
    writeFileSync(moved, b);
    const before = findUsdtProbes(lib).sites;
    const after = findUsdtProbes(moved).sites;
    expect(after.map((x) => x.note)).toEqual(before.map((x) => x.note));
    expect(after.map((x) => x.address)).toEqual(before.map((x) => x.address + delta));
    expect(after.map((x) => [x.fileOffset, x.semaphoreOffset])).toEqual(before.map((x) => [x.fileOffset, x.semaphoreOffset]));
  });
});

describe('malformed input only ever yields UsdtError', () => {
  // a fixed-seed xorshift: the same inputs on every run
  let seed = 0x2545f491;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const noteSection = Buffer.concat([stapsdt(0x1130n, 0x2000n, 0x400an, 'tsbpf_lib', 'guarded', '-4@%edi 2@%dx'), stapsdt(0x1212n, 0n, 0n, 'p', 'n', '8@-16(%rbp) -1@$3')]);

  it('notes: 3000 mutated and truncated sections', () => {
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(noteSection.subarray(0, rand(noteSection.length + 1)));
      for (let k = rand(4); k >= 0 && b.length; k--) b[rand(b.length)] = rand(256);
      try {
        for (const n of parseUsdtNotes(b)) expect(typeof n.name).toBe('string');
      } catch (e) {
        expect(e).toBeInstanceOf(UsdtError);
      }
    }
  });

  it('arguments: 3000 mutated operand strings', () => {
    const alphabet = '-+0123456789@$%(),xabcdeilprsw8 ';
    const seeds = ['-4@%edi', '8@-16(%rbp)', '-4@$5', '1@g_s8(%rip)', '2@%r10w', '8@(%rsp)'];
    for (let i = 0; i < 3000; i++) {
      const chars = [...seeds[rand(seeds.length)]!];
      for (let k = rand(3); k >= 0; k--) chars.splice(rand(chars.length + 1), rand(2), alphabet[rand(alphabet.length)]!);
      try {
        const args = parseUsdtArgs(chars.join(''));
        const plain = args.filter((a) => a.symbol === undefined);
        expect(encodeUsdtSpec(plain, 0n).length).toBe(USDT_SPEC_SIZE);
      } catch (e) {
        expect(e).toBeInstanceOf(UsdtError);
      }
    }
  });
});
