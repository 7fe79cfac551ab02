// A pure ELF64 reader for BPF objects: header, section headers, symbol table, SHT_REL.
// Every offset and size read from the file is checked against the file length.
import createDebug from 'debug';
import {
  EI_NIDENT, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, EM_BPF, EV_CURRENT,
  ELF64_EHDR_SIZE, ELF64_SHDR_SIZE, ELF64_SYM_SIZE, ELF64_REL_SIZE, ELF64_RELA_SIZE,
  SHT_NOBITS, SHT_SYMTAB, SHT_STRTAB, SHT_REL, SHT_RELA, SHN_XINDEX, SHN_LORESERVE, SHN_UNDEF, SHT_NULL,
} from './constants.ts';
import { ElfError } from './errors.ts';
import type { ElfHeader, ElfRel, ElfSection, ElfSymbol } from './types.ts';

const log = createDebug('tsbpf:elf');
/** Buffer's native UTF-8 decoder (invalid sequences become U+FFFD), without TextDecoder's JS wrapper. */
interface Utf8Sliceable { utf8Slice(start: number, end: number): string }

/**
 * A parsed ELF object. Sections, symbols and relocations are decoded at parse
 * time (BPF objects are small), except the relocations of debug information
 * (.BTF, .BTF.ext, DWARF), which no loader applies: a .rel.BTF.ext alone holds
 * hundreds of entries. Those are decoded by the first relocationsFor() that asks
 * for them, which refuses a malformed entry with an ElfError then.
 */
export class ElfFile {
  /** Decoded relocation entries keyed by the index of the section they patch. */
  readonly #relocs = new Map<number, ElfRel[]>();
  /** The SHT_REL/SHT_RELA sections keyed by the index of the section they patch. */
  readonly #relsFor = new Map<number, ElfSection[]>();
  readonly #byName = new Map<string, ElfSection>();
  /** Symbols by the section they are defined in (built by the first symbolsIn()). */
  #bySection: Map<number, ElfSymbol[]> | undefined;
  readonly #reader: Reader;

  constructor(
    readonly name: string,
    readonly bytes: Uint8Array,
    readonly header: ElfHeader,
    readonly sections: ElfSection[],
    /** The SHT_SYMTAB entries, index 0 being the null symbol. Empty if there is no symbol table. */
    readonly symbols: ElfSymbol[],
    /** Index of the SHT_SYMTAB section, or -1. */
    readonly symtabIndex: number,
    /** The SHT_REL/SHT_RELA sections, in section order. */
    readonly relSections: ElfSection[],
    reader: Reader,
  ) {
    this.#reader = reader;
    for (const s of sections) if (!this.#byName.has(s.name)) this.#byName.set(s.name, s);
    for (const rs of relSections) {
      const list = this.#relsFor.get(rs.info);
      if (list) list.push(rs);
      else this.#relsFor.set(rs.info, [rs]);
    }
  }

  /** The first section with this name, or undefined. */
  sectionByName(name: string): ElfSection | undefined {
    return this.#byName.get(name);
  }

  /** Relocations that patch section `sectionIndex` (from every SHT_REL whose sh_info names it, in section order). */
  relocationsFor(sectionIndex: number): readonly ElfRel[] {
    let list = this.#relocs.get(sectionIndex);
    if (list === undefined) {
      const rels = this.#relsFor.get(sectionIndex);
      if (rels === undefined) return [];
      list = readRelocations(this.#reader, rels[0]!, this.sections, this.symbols);
      for (let i = 1; i < rels.length; i++) list = list.concat(readRelocations(this.#reader, rels[i]!, this.sections, this.symbols));
      this.#relocs.set(sectionIndex, list);
    }
    return list;
  }

  /** Symbols defined in section `sectionIndex`, in symbol-table order (a fresh array). */
  symbolsIn(sectionIndex: number): ElfSymbol[] {
    // Indexed once: a filter per section would be quadratic in a file with thousands of both.
    if (this.#bySection === undefined) {
      this.#bySection = new Map();
      for (const s of this.symbols) {
        if (s.index === 0) continue;
        const list = this.#bySection.get(s.shndx);
        if (list) list.push(s);
        else this.#bySection.set(s.shndx, [s]);
      }
    }
    return this.#bySection.get(sectionIndex)?.slice() ?? [];
  }
}

/** The first section with this name, or undefined. */
export function sectionByName(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sectionByName(name);
}

/** Relocations that patch section `sectionIndex`. */
export function relocationsFor(elf: ElfFile, sectionIndex: number): readonly ElfRel[] {
  return elf.relocationsFor(sectionIndex);
}

/** Parse an ELF64 little-endian EM_BPF object. Throws ElfError on anything malformed. */
export function parseElf(bytes: Uint8Array, name = '<elf>'): ElfFile {
  const r = new Reader(bytes, name);
  const header = readHeader(r);
  log('%s: %d sections, shstrndx %d', name, header.shnum, header.shstrndx);

  const headers = readSectionHeaders(r, header);
  const shstr = headers[header.shstrndx];
  if (!shstr) throw r.error(`e_shstrndx ${header.shstrndx} is not a section (have ${headers.length})`, 0x3e);
  if (shstr.type !== SHT_STRTAB) throw r.error(`section ${header.shstrndx} (shstrtab) is not SHT_STRTAB`, shstr.hdrAt);

  const sections: ElfSection[] = headers.map((h) => ({
    index: h.index,
    name: h.index === 0 ? '' : r.cstring(shstr, h.nameOff, `section ${h.index} name`),
    type: h.type, flags: h.flags, addr: h.addr, offset: h.offset, size: h.size,
    link: h.link, info: h.info, addralign: h.addralign, entsize: h.entsize, data: h.data,
  }));

  // Symbol table: BPF objects have exactly one SHT_SYMTAB (.symtab); a second one is refused.
  let symtabIndex = -1;
  let symbols: ElfSymbol[] = [];
  for (const s of sections) {
    if (s.type !== SHT_SYMTAB) continue;
    if (symtabIndex !== -1) throw r.error(`second SHT_SYMTAB section ${s.name} [${s.index}]`, headers[s.index]!.hdrAt);
    symtabIndex = s.index;
    symbols = readSymbols(r, s, sections);
  }
  log('%s: %d symbols', name, symbols.length);

  // Relocation sections: every header is checked now; the entries too, unless they patch debug information.
  const relSections: ElfSection[] = [];
  for (const s of sections) {
    if (s.type !== SHT_REL && s.type !== SHT_RELA) continue;
    checkRelSection(r, s, sections, symtabIndex);
    relSections.push(s);
  }
  log('%s: %d relocation sections', name, relSections.length);

  const elf = new ElfFile(name, bytes, header, sections, symbols, symtabIndex, relSections, r);
  for (const s of relSections) if (!isDebugInfo(sections[s.info]!.name)) elf.relocationsFor(s.info);
  return elf;
}

/** Sections whose relocations only a debugger or linker would apply: BTF, its .BTF.ext and DWARF. */
function isDebugInfo(name: string): boolean {
  return name === '.BTF' || name === '.BTF.ext' || name.startsWith('.debug_');
}

interface RawSectionHeader {
  index: number; nameOff: number; type: number; flags: number; addr: number; offset: number; size: number;
  link: number; info: number; addralign: number; entsize: number; data: Uint8Array;
  /** Where this header sits in the file (for error messages). */
  hdrAt: number;
}

/** Bounds-checked little-endian reads over the file, with errors naming the object. */
class Reader {
  readonly view: DataView;
  /** The file as a Buffer, for decoding strings. */
  readonly #buf: Buffer;
  constructor(readonly bytes: Uint8Array, readonly name: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  error(msg: string, offset: number): ElfError {
    return new ElfError(`${this.name}: ${msg} (at byte offset 0x${offset.toString(16)})`, offset);
  }
  need(off: number, len: number, what: string): void {
    if (off < 0 || len < 0 || off + len > this.bytes.length)
      throw this.error(`${what}: ${len} bytes at 0x${off.toString(16)} run past the end of the file (${this.bytes.length} bytes)`, off);
  }
  u8(off: number): number { return this.view.getUint8(off); }
  u16(off: number): number { return this.view.getUint16(off, true); }
  u32(off: number): number { return this.view.getUint32(off, true); }
  /** A u64 that must fit a JS number exactly (2^53). */
  u64(off: number, what: string): number {
    const lo = this.view.getUint32(off, true);
    const hi = this.view.getUint32(off + 4, true);
    if (hi >= 0x200000) throw this.error(`${what} 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is too large`, off);
    return hi * 0x1_0000_0000 + lo;
  }
  /** A NUL-terminated string at `off` inside string-table section `tab`. */
  cstring(tab: { data: Uint8Array; index?: number; offset: number }, off: number, what: string): string {
    const data = tab.data;
    if (off >= data.length) throw this.error(`${what}: string offset ${off} is past the end of string table [${tab.index ?? '?'}] (${data.length} bytes)`, tab.offset + off);
    const end = data.indexOf(0, off);
    if (end < 0) throw this.error(`${what}: string at offset ${off} of string table [${tab.index ?? '?'}] is not NUL-terminated`, tab.offset + off);
    const at = data.byteOffset - this.bytes.byteOffset;
    return (this.#buf as unknown as Utf8Sliceable).utf8Slice(at + off, at + end);
  }
}

function readHeader(r: Reader): ElfHeader {
  const b = r.bytes;
  if (b.length < EI_NIDENT || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46)
    throw r.error('not an ELF file (bad magic, expected 7f 45 4c 46)', 0);
  if (b[4] !== ELFCLASS64) throw r.error(`unsupported ELF class ${b[4]} (only ELFCLASS64 is supported)`, 4);
  if (b[5] === ELFDATA2MSB) throw r.error('big-endian ELF (ELFDATA2MSB) is not supported: BPF objects for this host are little-endian', 5);
  if (b[5] !== ELFDATA2LSB) throw r.error(`invalid ELF data encoding ${b[5]}`, 5);
  if (b[6] !== EV_CURRENT) throw r.error(`unsupported ELF ident version ${b[6]}`, 6);
  r.need(0, ELF64_EHDR_SIZE, 'ELF header');
  const machine = r.u16(18);
  if (machine !== EM_BPF) throw r.error(`e_machine is ${machine}, not EM_BPF (${EM_BPF}): not a BPF object`, 18);
  const ehsize = r.u16(52);
  if (ehsize < ELF64_EHDR_SIZE) throw r.error(`e_ehsize ${ehsize} is smaller than an Elf64_Ehdr`, 52);
  const shentsize = r.u16(58);
  let shnum = r.u16(60);
  let shstrndx = r.u16(62);
  const shoff = r.u64(40, 'e_shoff');
  if (shoff === 0) throw r.error('no section header table (e_shoff is 0)', 40);
  if (shentsize !== ELF64_SHDR_SIZE) throw r.error(`e_shentsize ${shentsize} is not ${ELF64_SHDR_SIZE}`, 58);
  // Extended numbering: counts that do not fit 16 bits live in section header 0.
  if (shnum === 0 || shstrndx === SHN_XINDEX) {
    r.need(shoff, ELF64_SHDR_SIZE, 'section header 0');
    if (shnum === 0) shnum = r.u64(shoff + 32, 'extended section count');
    if (shstrndx === SHN_XINDEX) shstrndx = r.u32(shoff + 40);
  }
  r.need(shoff, shnum * ELF64_SHDR_SIZE, `section header table (${shnum} entries)`);
  return {
    type: r.u16(16), machine, version: r.u32(20), flags: r.u32(48), entry: r.u64(24, 'e_entry'),
    shoff, shnum, shstrndx,
  };
}

function readSectionHeaders(r: Reader, h: ElfHeader): RawSectionHeader[] {
  const out: RawSectionHeader[] = [];
  for (let i = 0; i < h.shnum; i++) {
    const at = h.shoff + i * ELF64_SHDR_SIZE;
    const type = r.u32(at + 4);
    const offset = r.u64(at + 24, `section ${i} sh_offset`);
    const size = r.u64(at + 32, `section ${i} sh_size`);
    let data = r.bytes.subarray(0, 0);
    if (type !== SHT_NOBITS && type !== SHT_NULL) {
      r.need(offset, size, `section ${i} contents`);
      data = r.bytes.subarray(offset, offset + size);
    }
    out.push({
      index: i, nameOff: r.u32(at), type, flags: r.u64(at + 8, `section ${i} sh_flags`),
      addr: r.u64(at + 16, `section ${i} sh_addr`), offset, size,
      link: r.u32(at + 40), info: r.u32(at + 44),
      addralign: r.u64(at + 48, `section ${i} sh_addralign`), entsize: r.u64(at + 56, `section ${i} sh_entsize`),
      data, hdrAt: at,
    });
  }
  return out;
}

function readSymbols(r: Reader, symtab: ElfSection, sections: ElfSection[]): ElfSymbol[] {
  const where = `symbol table ${symtab.name} [${symtab.index}]`;
  if (symtab.entsize !== ELF64_SYM_SIZE) throw r.error(`${where}: sh_entsize ${symtab.entsize} is not ${ELF64_SYM_SIZE}`, symtab.offset);
  if (symtab.size % ELF64_SYM_SIZE !== 0) throw r.error(`${where}: size ${symtab.size} is not a multiple of ${ELF64_SYM_SIZE}`, symtab.offset);
  const strtab = sections[symtab.link];
  if (!strtab || strtab.type !== SHT_STRTAB) throw r.error(`${where}: sh_link ${symtab.link} is not a string table`, symtab.offset);
  const n = symtab.size / ELF64_SYM_SIZE;
  const out: ElfSymbol[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const at = symtab.offset + i * ELF64_SYM_SIZE;
    const info = r.u8(at + 4);
    const shndx = r.u16(at + 6);
    // Ordinary indexes must name an existing section; reserved ones (SHN_ABS, SHN_COMMON) are kept as is.
    if (shndx !== SHN_UNDEF && shndx < SHN_LORESERVE && shndx >= sections.length)
      throw r.error(`${where}: symbol ${i} has st_shndx ${shndx} but there are ${sections.length} sections`, at + 6);
    out[i] = {
      index: i,
      name: r.cstring(strtab, r.u32(at), `${where} symbol ${i} name`),
      value: r.u64(at + 8, `${where} symbol ${i} st_value`),
      size: r.u64(at + 16, `${where} symbol ${i} st_size`),
      bind: info >> 4, type: info & 0xf, visibility: r.u8(at + 5) & 0x3, shndx,
    };
  }
  return out;
}

/** The header checks of a SHT_REL/SHT_RELA section: entry size, symbol table link, target section. */
function checkRelSection(r: Reader, rel: ElfSection, sections: ElfSection[], symtabIndex: number): void {
  const where = `relocation section ${rel.name} [${rel.index}]`;
  const entsize = rel.type === SHT_RELA ? ELF64_RELA_SIZE : ELF64_REL_SIZE;
  if (rel.size % entsize !== 0) throw r.error(`${where}: size ${rel.size} is not a multiple of ${entsize}`, rel.offset);
  if (rel.link !== symtabIndex) throw r.error(`${where}: sh_link ${rel.link} is not the symbol table (${symtabIndex})`, rel.offset);
  if (!sections[rel.info] || rel.info === 0) throw r.error(`${where}: sh_info ${rel.info} does not name a section`, rel.offset);
}

/** The entries of a relocation section that passed checkRelSection. */
function readRelocations(r: Reader, rel: ElfSection, sections: ElfSection[], symbols: ElfSymbol[]): ElfRel[] {
  const where = `relocation section ${rel.name} [${rel.index}]`;
  const rela = rel.type === SHT_RELA;
  const entsize = rela ? ELF64_RELA_SIZE : ELF64_REL_SIZE;
  const target = sections[rel.info]!;
  const n = rel.size / entsize;
  const out: ElfRel[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const at = rel.offset + i * entsize;
    const offset = r.u64(at, `${where} entry ${i} r_offset`);
    const type = r.u32(at + 8);
    const symbolIndex = r.u32(at + 12);
    const symbol = symbols[symbolIndex];
    if (!symbol) throw r.error(`${where}: entry ${i} refers to symbol ${symbolIndex} but the symbol table has ${symbols.length}`, at + 12);
    if (offset >= target.size) throw r.error(`${where}: entry ${i} r_offset ${offset} is past the end of ${target.name} (${target.size} bytes)`, at);
    const addend = rela ? Number(r.view.getBigInt64(at + 16, true)) : 0;
    out[i] = { offset, symbolIndex, type, addend, symbol, relSection: rel.index };
  }
  return out;
}
