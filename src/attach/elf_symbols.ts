// Just enough ELF64 to place a uprobe: find a function symbol in .symtab or
// .dynsym of an executable or shared library and turn its virtual address
// into a file offset through the PT_LOAD program headers. (src/elf reads BPF
// objects; this reads host binaries, and only the parts it needs, with
// positional reads, so probing a 100 MB binary does not load it.)
import { TsbpfError } from '../errors.ts';
import { closeSync, openSync, readSync } from 'node:fs';
import { SHN_UNDEF, SHT_DYNSYM, SHT_NOBITS, SHT_SYMTAB, STT_FUNC } from '../elf/constants.ts';
import { DISPOSE } from '../util/dispose.ts';

/** Program header type and flag of a loadable segment, and GNU's indirect-function symbol type. */
const PT_LOAD = 1;
const PF_X = 1;
const STT_GNU_IFUNC = 10;

export interface ElfSymbol {
  name: string;
  /** st_value: the symbol's virtual address. */
  value: bigint;
  size: bigint;
  /** STT_* */
  type: number;
  /** '.symtab' or '.dynsym' */
  table: string;
}

interface Segment {
  flags: number;
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
  memsz: bigint;
}

export class ElfSymbolError extends TsbpfError {
  constructor(message: string) {
    super(message);
    this.name = 'ElfSymbolError';
  }
}

/** One host ELF64 little-endian file, opened for symbol lookups. */
export class HostElf {
  readonly path: string;
  readonly type: number;
  readonly segments: Segment[] = [];
  readonly #fd: number;
  readonly #sections: { nameOff: number; type: number; addr: bigint; offset: bigint; size: bigint; link: number; entsize: bigint }[] = [];
  #shstrndx = 0;

  constructor(path: string) {
    this.path = path;
    this.#fd = openSync(path, 'r');
    try {
      const eh = this.#read(0n, 64);
      if (eh.readUInt32BE(0) !== 0x7f454c46) throw new ElfSymbolError(`${path} is not an ELF file`);
      if (eh[4] !== 2 || eh[5] !== 1) throw new ElfSymbolError(`${path} is not a 64-bit little-endian ELF file`);
      this.type = eh.readUInt16LE(16);
      const phoff = eh.readBigUInt64LE(32);
      const shoff = eh.readBigUInt64LE(40);
      const phentsize = eh.readUInt16LE(54);
      const phnum = eh.readUInt16LE(56);
      const shentsize = eh.readUInt16LE(58);
      const shnum = eh.readUInt16LE(60);
      this.#shstrndx = eh.readUInt16LE(62);
      const ph = this.#read(phoff, phentsize * phnum);
      for (let i = 0; i < phnum; i++) {
        const o = i * phentsize;
        if (ph.readUInt32LE(o) !== PT_LOAD) continue;
        this.segments.push({
          flags: ph.readUInt32LE(o + 4),
          offset: ph.readBigUInt64LE(o + 8),
          vaddr: ph.readBigUInt64LE(o + 16),
          filesz: ph.readBigUInt64LE(o + 32),
          memsz: ph.readBigUInt64LE(o + 40),
        });
      }
      const sh = shoff ? this.#read(shoff, shentsize * shnum) : Buffer.alloc(0);
      for (let i = 0; i < (shoff ? shnum : 0); i++) {
        const o = i * shentsize;
        this.#sections.push({
          nameOff: sh.readUInt32LE(o),
          type: sh.readUInt32LE(o + 4),
          addr: sh.readBigUInt64LE(o + 16),
          offset: sh.readBigUInt64LE(o + 24),
          size: sh.readBigUInt64LE(o + 32),
          link: sh.readUInt32LE(o + 40),
          entsize: sh.readBigUInt64LE(o + 56),
        });
      }
    } catch (e) {
      closeSync(this.#fd);
      throw e;
    }
  }

  #read(offset: bigint, len: number): Buffer {
    const buf = Buffer.alloc(len);
    const n = readSync(this.#fd, buf, 0, len, Number(offset));
    if (n !== len) throw new ElfSymbolError(`${this.path}: truncated ELF file (wanted ${len} bytes at ${offset})`);
    return buf;
  }

  /** The section called `name` (its type, load address, and file extent), or undefined. */
  section(name: string): { type: number; addr: bigint; offset: bigint; size: bigint } | undefined {
    const strs = this.#sections[this.#shstrndx];
    if (!strs || strs.size === 0n) return undefined;
    const names = this.#read(strs.offset, Number(strs.size));
    for (const s of this.#sections) {
      const end = names.indexOf(0, s.nameOff);
      if (names.toString('latin1', s.nameOff, end < 0 ? names.length : end) === name) return s;
    }
    return undefined;
  }

  /** The bytes of section `name` in the file, or undefined when there is none (or it occupies no file bytes). */
  readSection(name: string): Uint8Array | undefined {
    const s = this.section(name);
    if (!s || s.type === SHT_NOBITS) return undefined;
    return this.#read(s.offset, Number(s.size));
  }

  /** Every defined function symbol of .symtab then .dynsym named `name` (or `name@VERSION`). */
  *functions(name?: string): IterableIterator<ElfSymbol> {
    yield* this.symbols(name, (t) => t === STT_FUNC || t === STT_GNU_IFUNC);
  }

  /** The first defined symbol named `name` of any type (.symtab first), e.g. a variable. */
  findSymbol(name: string): ElfSymbol | undefined {
    for (const s of this.symbols(name, () => true)) if (s.name === name) return s;
    return undefined;
  }

  /** Defined symbols of .symtab then .dynsym named `name` (or `name@VERSION`) whose STT_* type `keep` accepts. */
  *symbols(name: string | undefined, keep: (type: number) => boolean): IterableIterator<ElfSymbol> {
    for (const [type, table] of [
      [SHT_SYMTAB, '.symtab'],
      [SHT_DYNSYM, '.dynsym'],
    ] as const) {
      for (const sec of this.#sections) {
        if (sec.type !== type || sec.size === 0n) continue;
        const strsec = this.#sections[sec.link];
        if (!strsec) continue;
        const syms = this.#read(sec.offset, Number(sec.size));
        const strs = this.#read(strsec.offset, Number(strsec.size));
        const ent = Number(sec.entsize || 24n);
        for (let o = 0; o + 24 <= syms.length; o += ent) {
          const info = syms[o + 4]!;
          const stype = info & 0xf;
          if (!keep(stype)) continue;
          if (syms.readUInt16LE(o + 6) === SHN_UNDEF) continue;
          const nameOff = syms.readUInt32LE(o);
          const end = strs.indexOf(0, nameOff);
          const symName = strs.toString('utf8', nameOff, end < 0 ? strs.length : end);
          if (name !== undefined && symName !== name && !symName.startsWith(`${name}@`)) continue;
          yield { name: symName, value: syms.readBigUInt64LE(o + 8), size: syms.readBigUInt64LE(o + 16), type: stype, table };
        }
      }
    }
  }

  /** The virtual address of function `name`, or undefined. Prefers an exact name, .symtab first. */
  findFunction(name: string): ElfSymbol | undefined {
    let versioned: ElfSymbol | undefined;
    for (const s of this.functions(name)) {
      if (s.name === name) return s;
      // "name@@VER" is the default version; take it over "name@VER"
      if (!versioned || s.name.startsWith(`${name}@@`)) versioned = s;
    }
    return versioned;
  }

  /** Virtual address -> file offset through the PT_LOAD segment that contains it (executable ones first). */
  vaddrToOffset(vaddr: bigint): bigint | undefined {
    const ordered = [...this.segments].sort((a, b) => (b.flags & PF_X) - (a.flags & PF_X));
    for (const s of ordered) if (vaddr >= s.vaddr && vaddr < s.vaddr + s.memsz) return vaddr - s.vaddr + s.offset;
    return undefined;
  }

  close(): void {
    closeSync(this.#fd);
  }

  /** close(), for `using` (explicit resource management). */
  [DISPOSE](): void {
    this.close();
  }
}

/**
 * The file offset of function `symbol` in ELF `path` (what the uprobe PMU
 * and uprobe_events take). Throws ElfSymbolError naming the file and symbol.
 */
export function resolveSymbolOffset(path: string, symbol: string): bigint {
  const elf = new HostElf(path);
  try {
    const sym = elf.findFunction(symbol);
    if (!sym) throw new ElfSymbolError(`symbol ${symbol} not found in ${path} (no defined function of that name in .symtab or .dynsym)`);
    const off = elf.vaddrToOffset(sym.value);
    if (off === undefined) throw new ElfSymbolError(`symbol ${symbol} in ${path} has address 0x${sym.value.toString(16)}, outside every PT_LOAD segment`);
    return off;
  } finally {
    elf.close();
  }
}
