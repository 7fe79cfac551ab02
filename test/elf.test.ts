// ELF reader: every section, symbol and relocation of real BPF objects matches
// llvm-readelf's JSON view; malformed files fail with ElfError and an offset.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ElfError, parseElf, sectionByName, relocationsFor, EM_BPF, ET_REL, SHT_NOBITS, SHT_REL, SHT_PROGBITS,
  SHF_EXECINSTR, SHF_ALLOC, SHF_WRITE, SHN_UNDEF, SHN_ABS, STB_GLOBAL, STB_LOCAL, STB_WEAK, STT_FUNC, STT_OBJECT,
  STT_SECTION, STV_HIDDEN, R_BPF_64_64, R_BPF_64_32, R_BPF_64_ABS64,
} from '../src/elf/index.ts';

const tool = (t: string) => { try { execFileSync(t, ['--version']); return true; } catch { return false; } };
const hasClang = tool('clang-19');
const hasReadelf = tool('llvm-readelf-19');

const SRC = String.raw`
#include <linux/types.h>
#define SEC(n) __attribute__((section(n), used))
struct { int (*type)[2]; int (*max_entries)[4]; } m SEC(".maps");
int data_var = 3;
int bss_var;
__attribute__((visibility("hidden"))) int hidden_var = 9;
static volatile const int ro = 5;
extern int ext_weak __attribute__((weak, section(".ksyms")));
static __attribute__((noinline)) int sub(int x) { return x * 2 + ro; }
SEC("xdp") int prog(void *ctx) { bss_var++; return sub(data_var) + hidden_var + (&ext_weak ? 1 : 0) + (long)&m; }
char LICENSE[] SEC("license") = "GPL";
`;

let dir = '';
let obj = '';
const objects: string[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsbpf-elf-'));
  if (hasClang) {
    writeFileSync(join(dir, 'e.bpf.c'), SRC);
    obj = join(dir, 'e.bpf.o');
    execFileSync('clang-19', ['-g', '-O2', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(dir, 'e.bpf.c'), '-o', obj]);
    objects.push(obj);
  }
  const bpfDir = join(import.meta.dirname, '..', 'bpf');
  if (existsSync(bpfDir)) for (const f of readdirSync(bpfDir).sort()) if (f.endsWith('.bpf.o')) objects.push(join(bpfDir, f));
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

interface ReadelfJson {
  Sections: { Section: { Index: number; Name: { Name: string }; Type: { Value: number }; Flags: { Value: number }; Offset: number; Size: number; Link: number; Info: number; AddressAlignment: number; EntrySize: number } }[];
  Symbols: { Symbol: { Name: { Name: string; Value: number }; Value: number; Size: number; Binding: { Value: number }; Type: { Value: number }; Other: { Value: number }; Section: { Value: number } } }[];
  Relocations: { SectionIndex: number; Relocs: { Relocation: { Offset: number; Type: { Value: number }; Symbol: { Name: string } } }[] }[];
}

describe('parseElf', () => {
  it.skipIf(!hasClang)('reads header, sections, NOBITS, symbols and relocations of a BPF object', () => {
    const elf = parseElf(readFileSync(obj), 'e.bpf.o');
    expect(elf.header.machine).toBe(EM_BPF);
    expect(elf.header.type).toBe(ET_REL);
    const xdp = sectionByName(elf, 'xdp')!;
    expect(xdp.type).toBe(SHT_PROGBITS);
    expect(xdp.flags & SHF_EXECINSTR).toBeTruthy();
    expect(xdp.data.length).toBe(xdp.size);
    const bss = elf.sectionByName('.bss')!;
    expect(bss.type).toBe(SHT_NOBITS);
    expect(bss.flags & (SHF_ALLOC | SHF_WRITE)).toBe(SHF_ALLOC | SHF_WRITE);
    expect(bss.size).toBe(4);
    expect(bss.data.length).toBe(0);

    const sym = (n: string) => elf.symbols.find((s) => s.name === n)!;
    expect(sym('prog')).toMatchObject({ bind: STB_GLOBAL, type: STT_FUNC, shndx: xdp.index, value: 0 });
    expect(sym('sub')).toMatchObject({ bind: STB_LOCAL, type: STT_FUNC, shndx: elf.sectionByName('.text')!.index });
    expect(sym('data_var')).toMatchObject({ bind: STB_GLOBAL, type: STT_OBJECT, size: 4 });
    expect(sym('hidden_var')).toMatchObject({ visibility: STV_HIDDEN });
    expect(sym('ext_weak')).toMatchObject({ bind: STB_WEAK, shndx: SHN_UNDEF });
    expect(elf.symbols.some((s) => s.shndx === SHN_ABS)).toBe(true); // the STT_FILE symbol

    const relos = relocationsFor(elf, xdp.index);
    expect(relos.length).toBeGreaterThan(3);
    const byName = (n: string) => relos.filter((r) => r.symbol.name === n);
    expect(byName('bss_var')[0]).toMatchObject({ type: R_BPF_64_64 });
    expect(byName('ext_weak')[0]).toMatchObject({ type: R_BPF_64_64 });
    const call = relos.find((r) => r.type === R_BPF_64_32)!;
    expect(call.symbol.type).toBe(STT_SECTION); // calls to static subprograms go through the .text section symbol
    expect(elf.sections[call.symbol.shndx]!.name).toBe('.text');
    expect(elf.sections[call.relSection]!.type).toBe(SHT_REL);
    const btfRelos = elf.relocationsFor(elf.sectionByName('.BTF')!.index);
    expect(btfRelos.every((r) => r.type === R_BPF_64_ABS64 || r.type === 3 || r.type === 4)).toBe(true);
    expect(elf.relocationsFor(9999)).toEqual([]);
  });

  it.skipIf(!hasReadelf)('agrees with llvm-readelf on every object', () => {
    expect(objects.length).toBeGreaterThan(0);
    for (const path of objects) {
      const elf = parseElf(readFileSync(path), path);
      const ref = (JSON.parse(execFileSync('llvm-readelf-19', ['--elf-output-style=JSON', '-S', '-s', '-r', path], { encoding: 'utf8', maxBuffer: 1 << 28 })) as ReadelfJson[])[0]!;
      expect(elf.sections.length, path).toBe(ref.Sections.length);
      for (const { Section: s } of ref.Sections) {
        const ours = elf.sections[s.Index]!;
        expect([ours.name, ours.type, ours.flags, ours.offset, ours.size, ours.link, ours.info, ours.addralign, ours.entsize], `${path} section ${s.Index}`)
          .toEqual([s.Name.Name, s.Type.Value, s.Flags.Value, s.Offset, s.Size, s.Link, s.Info, s.AddressAlignment, s.EntrySize]);
        if (ours.type !== SHT_NOBITS && ours.type !== 0) expect(ours.data.length).toBe(ours.size);
      }
      expect(elf.symbols.length, path).toBe(ref.Symbols.length);
      ref.Symbols.forEach(({ Symbol: s }, i) => {
        const ours = elf.symbols[i]!;
        expect([ours.name, ours.value, ours.size, ours.bind, ours.type, ours.visibility, ours.shndx], `${path} symbol ${i}`)
          .toEqual([s.Name.Value === 0 ? '' : s.Name.Name, s.Value, s.Size, s.Binding.Value, s.Type.Value, s.Other.Value & 3, s.Section.Value]);
      });
      for (const group of ref.Relocations) {
        const target = elf.sections[group.SectionIndex]!.info;
        const ours = elf.relocationsFor(target).filter((r) => r.relSection === group.SectionIndex);
        expect(ours.map((r) => [r.offset, r.type]), `${path} relocations in section ${group.SectionIndex}`)
          .toEqual(group.Relocs.map(({ Relocation: r }) => [r.Offset, r.Type.Value]));
      }
    }
  });
});

describe('malformed ELF', () => {
  const expectElfError = (bytes: Uint8Array, re: RegExp) => {
    try { parseElf(bytes, 'bad.o'); expect.unreachable(); } catch (e) {
      expect(e).toBeInstanceOf(ElfError);
      expect((e as Error).message).toMatch(re);
      expect((e as Error).message).toMatch(/bad\.o/);
      expect((e as Error).message).toMatch(/offset 0x[0-9a-f]+/);
    }
  };

  it('refuses non-ELF, 32-bit, big-endian and non-BPF files clearly', () => {
    expectElfError(new TextEncoder().encode('hello world, not an ELF file at all........................................'), /not an ELF/);
    const h = new Uint8Array(64); h.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
    expectElfError(h, /ELFCLASS64/);
    h[4] = 2; h[5] = 2;
    expectElfError(h, /big-endian/);
    h[5] = 1;
    new DataView(h.buffer).setUint16(18, 62, true); // EM_X86_64
    expectElfError(h, /EM_BPF/);
    expectElfError(readFileSync(process.execPath).subarray(0, 4096), /EM_BPF|ELFCLASS64/);
  });

  it.skipIf(!hasClang)('bounds-checks section headers, contents, symbols and relocations', () => {
    const good = readFileSync(obj);
    const shoff = Number(good.readBigUInt64LE(40));
    expectElfError(good.subarray(0, shoff + 10), /section header table/);
    const elf = parseElf(good);
    const bad1 = Buffer.from(good);
    const xdp = elf.sectionByName('xdp')!;
    bad1.writeBigUInt64LE(BigInt(good.length), shoff + xdp.index * 64 + 24); // sh_offset past the end
    expectElfError(bad1, new RegExp(`section ${xdp.index} contents`));
    const bad2 = Buffer.from(good);
    const rel = elf.sections.find((s) => s.type === SHT_REL && s.info === xdp.index)!;
    bad2.writeUInt32LE(0xffff, rel.offset + 12); // relocation symbol index out of range
    expectElfError(bad2, /refers to symbol 65535/);
    const bad3 = Buffer.from(good);
    bad3.writeBigUInt64LE(0xffffn, rel.offset); // r_offset past the section
    expectElfError(bad3, /r_offset/);
    const bad4 = Buffer.from(good);
    const symtab = elf.sections[elf.symtabIndex]!;
    bad4.writeUInt32LE(0x7fffffff, symtab.offset + 24); // symbol 1 name past the string table
    expectElfError(bad4, /string offset/);
    const bad5 = Buffer.from(good);
    bad5.writeBigUInt64LE(0xffffffffffffffffn, shoff + xdp.index * 64 + 32); // sh_size 2^64-1
    expectElfError(bad5, /too large|past the end/);
  });

  it.skipIf(!hasClang)('random mutations: parse or ElfError, never anything else', () => {
    const good = readFileSync(obj);
    let rng = 0xbadc0de;
    const next = () => { rng ^= rng << 13; rng ^= rng >>> 17; rng ^= rng << 5; return rng >>> 0; };
    let refused = 0;
    const shoff = Number(good.readBigUInt64LE(40));
    for (let i = 0; i < 3000; i++) {
      const b = Uint8Array.from(good);
      for (let f = 0, n = 1 + (next() % 4); f < n; f++) {
        // Aim half the mutations at the headers, where they matter most.
        const at = next() % 2 ? next() % 64 + (next() % 2 ? shoff + (next() % (b.length - shoff)) : 0) : next() % b.length;
        if (at < b.length) b[at] = next() & 0xff;
      }
      const bytes = i % 5 === 0 ? b.subarray(0, next() % b.length) : b;
      try {
        const elf = parseElf(bytes, 'fuzz.o');
        for (const s of elf.sections) elf.relocationsFor(s.index);
      } catch (e) {
        if (!(e instanceof ElfError)) throw new Error(`mutation ${i}: ${(e as Error).stack}`);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(100);
  });
});
