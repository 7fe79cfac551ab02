// The in-memory model of an ELF64 relocatable object, as produced by parseElf().

/** One section header (Elf64_Shdr) plus a view of its bytes. */
export interface ElfSection {
  index: number;
  name: string;
  /** sh_type: SHT_PROGBITS, SHT_NOBITS, SHT_REL, ... */
  type: number;
  /** sh_flags: SHF_ALLOC | SHF_WRITE | SHF_EXECINSTR ... */
  flags: number;
  addr: number;
  /** sh_offset: where the bytes live in the file. */
  offset: number;
  /** sh_size: for SHT_NOBITS (.bss) this is the size in memory; data is empty. */
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
  /** A subarray of the file bytes (no copy); empty for SHT_NOBITS. */
  data: Uint8Array;
}

/** One Elf64_Sym of the symbol table. */
export interface ElfSymbol {
  /** Index in the symbol table (what relocations refer to). */
  index: number;
  name: string;
  /** st_value: for relocatable objects, the offset inside section `shndx`. */
  value: number;
  size: number;
  /** STB_LOCAL / STB_GLOBAL / STB_WEAK */
  bind: number;
  /** STT_NOTYPE / STT_OBJECT / STT_FUNC / STT_SECTION / STT_FILE */
  type: number;
  /** STV_DEFAULT / STV_INTERNAL / STV_HIDDEN / STV_PROTECTED (st_other & 3) */
  visibility: number;
  /** st_shndx: a section index, or SHN_UNDEF (extern), SHN_ABS, SHN_COMMON. */
  shndx: number;
}

/** One relocation entry (Elf64_Rel, or Elf64_Rela with addend). */
export interface ElfRel {
  /** r_offset: byte offset inside the target section. */
  offset: number;
  /** ELF64_R_SYM(r_info): index into the symbol table. */
  symbolIndex: number;
  /** ELF64_R_TYPE(r_info): R_BPF_64_64, R_BPF_64_32, ... */
  type: number;
  /** r_addend for SHT_RELA, 0 for SHT_REL (BPF uses SHT_REL: addend is in the instruction). */
  addend: number;
  /** The referenced symbol (same object as symbols[symbolIndex]). */
  symbol: ElfSymbol;
  /** Index of the SHT_REL section this entry came from. */
  relSection: number;
}

/** ELF header fields we keep. */
export interface ElfHeader {
  /** e_type: ET_REL for clang-built BPF objects. */
  type: number;
  machine: number;
  version: number;
  flags: number;
  entry: number;
  shoff: number;
  shnum: number;
  shstrndx: number;
}
