// Regression tests for the parser hardening of issue 12: crafted BTF graphs
// whose walks were exponential, and sizes taken from a file that allocated
// gigabytes. Pure parsers: no kernel needed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BtfBuilder, BtfError, alignof, findMember, sizeof, typeToC, TYPE_TO_C_MAX_LENGTH,
  BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_STRUCT, type BtfArray,
  BTF_INT_SIGNED, BTF_KIND_CONST, BTF_KIND_TYPEDEF, parseBtf, type BtfTypeInit,
} from '../src/btf/index.ts';
import { parseElf } from '../src/elf/index.ts';
import { btfToCHeader } from '../src/codegen/c_header.ts';
import { ObjectError, parseObject } from '../src/object/index.ts';
import { resolveExterns } from '../src/object/externs.ts';
import { CoreError, typesAreCompat, typesMatch } from '../src/relo/index.ts';
import { typeHead } from '../src/relo/btf_util.ts';

/** A FUNC_PROTO whose `n` parameters are pointers back to itself, and a FUNC of it: typeToC doubled at every level. */
function selfReferentialProto(n: number) {
  const b = new BtfBuilder();
  // Ids: 1 = the prototype, 2 = a pointer to it, 3 = the function.
  b.add({ kind: BTF_KIND_FUNC_PROTO, name: '', type: 2, params: Array.from({ length: n }, () => ({ name: '', type: 2 })) });
  b.add({ kind: BTF_KIND_PTR, name: '', type: 1 });
  b.add({ kind: BTF_KIND_FUNC, name: 'f', type: 1, linkage: 0 });
  return b.build('cyclic');
}

/** A chain of `depth` prototypes, each taking `width` pointers to the next one: a DAG with width^depth paths. */
function protoChain(depth: number, width: number) {
  const b = new BtfBuilder();
  const int = b.add({ kind: BTF_KIND_INT, name: 'int', size: 4, encoding: 1, bitOffset: 0, bits: 32 });
  let next = int;
  for (let i = 0; i < depth; i++) {
    const ptr = b.add({ kind: BTF_KIND_PTR, name: '', type: next });
    next = b.add({ kind: BTF_KIND_FUNC_PROTO, name: '', type: int, params: Array.from({ length: width }, () => ({ name: '', type: ptr })) });
  }
  return { btf: b.build('chain'), top: next };
}

/** A chain of structs, each with `width` anonymous members of the next one. */
function structChain(depth: number, width: number) {
  const b = new BtfBuilder();
  let next = b.add({ kind: BTF_KIND_INT, name: 'int', size: 4, encoding: 1, bitOffset: 0, bits: 32 });
  let size = 4;
  for (let i = 0; i < depth; i++) {
    next = b.add({ kind: BTF_KIND_STRUCT, name: i === depth - 1 ? 'top' : '', size: size * width, kindFlag: false,
      members: Array.from({ length: width }, (_, j) => ({ name: '', type: next, bitOffset: j * size * 8, bitfieldSize: 0 })) });
    size *= width;
  }
  return { btf: b.build('structs'), top: next };
}

describe('BTF walks stay linear on crafted graphs', () => {
  it('sizeof() of a FUNC whose prototype points at itself fails fast with a BtfError and a bounded message', () => {
    const btf = selfReferentialProto(3);
    let err: unknown;
    try { sizeof(btf, 3); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(BtfError);
    expect((err as Error).message).toMatch(/cannot take the size of \[3\] FUNC/);
    expect((err as Error).message.length).toBeLessThan(TYPE_TO_C_MAX_LENGTH + 200);
  });

  it('typeToC() of a 65535-parameter self-referential prototype is bounded and ends in "..."', () => {
    const c = typeToC(selfReferentialProto(0xffff), 3);
    expect(c.length).toBeLessThanOrEqual(TYPE_TO_C_MAX_LENGTH + 3);
    expect(c).toContain('...');
    expect(c.startsWith('void')).toBe(false);
  });

  it('typeToC() still spells ordinary types in full', () => {
    const { btf, top } = protoChain(2, 2);
    expect(typeToC(btf, top)).toBe('int (int (*)(int *, int *), int (*)(int *, int *))');
  });

  it('typesAreCompat() and typesMatch() of a 30-deep prototype DAG (2^30 paths) answer at once', () => {
    const { btf, top } = protoChain(30, 2);
    expect(typesAreCompat(btf, top, btf, top)).toBe(true);
    expect(typesMatch(btf, top, btf, top)).toBe(true);
  });

  it('typesMatch() of a self-referential prototype ends in a typed CoreError, not a stack overflow', () => {
    const btf = selfReferentialProto(2);
    expect(() => typesMatch(btf, 1, btf, 1)).toThrow(CoreError);
  });

  it('typeHead() of a pointer to itself terminates', () => {
    const b = new BtfBuilder();
    b.add({ kind: BTF_KIND_PTR, name: '', type: 1 });
    expect(typeHead(b.build('selfptr'), 1)).toMatch(/^\.\.\.( \*)+$/);
  });

  it('alignof() and findMember() over a 12-deep struct DAG (4^12 paths) with 4 anonymous members per level answer at once', () => {
    const { btf, top } = structChain(12, 4);
    expect(alignof(btf, top)).toBe(4);
    expect(findMember(btf, top, 'absent')).toBeUndefined();
  });
});

/** Byte offset of section `name`'s header in an ELF64 file. */
function sectionHeaderAt(bytes: Uint8Array, name: string): number {
  const elf = parseElf(bytes, 'probe');
  const sec = elf.sectionByName(name);
  if (!sec) throw new Error(`no section ${name}`);
  return elf.header.shoff + sec.index * 64;
}

describe('sizes from the file are checked before anything is allocated', () => {
  it('a SHT_NOBITS .bss claiming 3 GiB is an ObjectError naming the section, not an allocation', () => {
    const bytes = new Uint8Array(readFileSync('bpf/globals.bpf.o'));
    const at = sectionHeaderAt(bytes, '.bss');
    new DataView(bytes.buffer).setBigUint64(at + 32, 0xc000_0000n, true);
    const before = process.memoryUsage().arrayBuffers;
    expect(() => parseObject(bytes, { name: 'globals' })).toThrow(ObjectError);
    expect(() => parseObject(bytes, { name: 'globals' })).toThrow(/globals: section \.bss \[\d+\]: size 3221225472 exceeds/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
  });

  it('a .kconfig char array whose BTF claims 3.75 G elements is an ObjectError naming the extern', () => {
    const bytes = new Uint8Array(readFileSync('bpf/kconfig.bpf.o'));
    const spec = parseObject(bytes, { name: 'kconfig' });
    const ext = spec.externs.find((e) => e.name === 'CONFIG_LOCALVERSION')!;
    const arr = spec.btf!.type(ext.typeId) as BtfArray;
    // Find the ARRAY's record in the file: info (kind 3), size 0, elem type, index type, nelems.
    const words = new Uint32Array([3 << 24, 0, arr.type, arr.indexType, arr.nelems]);
    const pattern = Buffer.from(words.buffer);
    const at = Buffer.from(bytes).indexOf(pattern);
    expect(at).toBeGreaterThan(0);
    new DataView(bytes.buffer).setUint32(at + 16, 0xf000_0000, true);
    const before = process.memoryUsage().arrayBuffers;
    expect(() => parseObject(bytes, { name: 'kconfig' })).toThrow(ObjectError);
    expect(() => parseObject(bytes, { name: 'kconfig' })).toThrow(/kconfig: section \.kconfig: extern "CONFIG_LOCALVERSION" \(4026531840 bytes\)/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
  });

  it('a global whose symbol places it past its section is an ObjectError, not a short view', () => {
    const bytes = new Uint8Array(readFileSync('bpf/globals.bpf.o'));
    const elf = parseElf(bytes, 'probe');
    const data = elf.sectionByName('.data')!;
    const sym = elf.symbols.find((s) => s.shndx === data.index && s.type === 1 /* STT_OBJECT */)!;
    const symtab = elf.sections[elf.symtabIndex]!;
    new DataView(bytes.buffer).setBigUint64(symtab.offset + sym.index * 24 + 8, BigInt(data.size), true);
    expect(() => parseObject(bytes, { name: 'globals' })).toThrow(/runs past the section/);
  });
});

describe('.kconfig values are checked against the layout and the type', () => {
  const kconfig = { CONFIG_HZ: '250', CONFIG_BPF_SYSCALL: 'y', CONFIG_BPF_JIT: 'y', CONFIG_MODULES: 'm', CONFIG_LOCALVERSION: '"-x"', CONFIG_TSBPF_MISSING: 'n', CONFIG_TSBPF_MISSING_INT: '1' };
  const noKernelBtf = (): never => { throw new Error('no kernel BTF needed'); };
  const spec = () => parseObject(new Uint8Array(readFileSync('bpf/kconfig.bpf.o')), { name: 'kconfig' });

  it('a well-formed set of values is written', () => {
    const r = resolveExterns(spec(), { kernelBtf: noKernelBtf, kconfig });
    const e = spec().externs.find((x) => x.name === 'CONFIG_HZ')!;
    expect(new DataView(r.kconfigData!.buffer).getInt32(e.kconfigOffset!, true)).toBe(250);
  });

  it('an unterminated string for a char array is an ObjectError, not a SyntaxError', () => {
    expect(() => resolveExterns(spec(), { kernelBtf: noKernelBtf, kconfig: { ...kconfig, CONFIG_LOCALVERSION: '"-x' } }))
      .toThrow(/kconfig: extern CONFIG_LOCALVERSION: value "-x is not a well-formed quoted string/);
  });

  it('a tristate whose BTF enum is not 4 bytes is an ObjectError, not a RangeError', () => {
    // A spec is immutable: the crafted layout is a modified copy.
    const withSize = (size: number) => {
      const s = spec();
      return { ...s, externs: s.externs.map((x) => (x.name === 'CONFIG_BPF_JIT' ? { ...x, kconfigSize: size } : x)) };
    };
    expect(() => resolveExterns(withSize(1), { kernelBtf: noKernelBtf, kconfig })).toThrow(/extern CONFIG_BPF_JIT: a tristate must be 4 bytes/);
    expect(() => resolveExterns(withSize(0), { kernelBtf: noKernelBtf, kconfig })).toThrow(ObjectError);
  });
});

describe('the C header writer on crafted BTF', () => {
  const INT: BtfTypeInit = { kind: BTF_KIND_INT, name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 };
  const header = (types: BtfTypeInit[]) => {
    const b = new BtfBuilder();
    for (const t of types) b.add(t);
    return btfToCHeader(parseBtf(b.marshal(), { name: 'crafted' }));
  };

  it('a pointer to itself, or a typedef looping through a modifier, is a BtfError, not a stack overflow', () => {
    expect(() => header([INT, { kind: BTF_KIND_PTR, name: '', type: 2 }])).toThrow(/chain of more than 1000 types/);
    expect(() => header([INT, { kind: BTF_KIND_TYPEDEF, name: 't', type: 3 }, { kind: BTF_KIND_CONST, name: '', type: 2 }])).toThrow(BtfError);
  });

  it('a struct holding a pointer to itself is still written (a forward declaration breaks the cycle)', () => {
    const out = header([INT, { kind: BTF_KIND_STRUCT, name: 'node', size: 8, kindFlag: false, members: [{ name: 'next', type: 3, bitOffset: 0, bitfieldSize: 0 }] }, { kind: BTF_KIND_PTR, name: '', type: 2 }]);
    expect(out).toContain('struct node *next;');
  });
});
