// ELF64 constants used by BPF objects (names as in <elf.h>).

export const EI_NIDENT = 16;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const ELFDATA2MSB = 2;
export const EV_CURRENT = 1;

export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;

/** e_machine of eBPF objects. */
export const EM_BPF = 247;

/** Size in bytes of the on-disk structures we read. */
export const ELF64_EHDR_SIZE = 64;
export const ELF64_SHDR_SIZE = 64;
export const ELF64_SYM_SIZE = 24;
export const ELF64_REL_SIZE = 16;
export const ELF64_RELA_SIZE = 24;

// Section header types (sh_type).
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_HASH = 5;
export const SHT_DYNAMIC = 6;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_DYNSYM = 11;
export const SHT_LLVM_ADDRSIG = 0x6fff4c03;

// Section flags (sh_flags).
export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const SHF_MERGE = 0x10;
export const SHF_STRINGS = 0x20;
export const SHF_INFO_LINK = 0x40;

// Special section indexes (st_shndx).
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

// Symbol binding (high nibble of st_info).
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;

// Symbol type (low nibble of st_info).
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;

// Symbol visibility (low two bits of st_other).
export const STV_DEFAULT = 0;
export const STV_INTERNAL = 1;
export const STV_HIDDEN = 2;
export const STV_PROTECTED = 3;

// BPF relocation types (r_info & 0xffffffff).
/** ld_imm64 of a map or global: 64-bit immediate spread over two instructions. */
export const R_BPF_NONE = 0;
export const R_BPF_64_64 = 1;
/** 64-bit absolute data (e.g. pointers in .maps / .BTF). */
export const R_BPF_64_ABS64 = 2;
/** 32-bit absolute data (e.g. DWARF, .BTF.ext section offsets). */
export const R_BPF_64_ABS32 = 3;
/** Like ABS32 but the dynamic linker must leave it alone. */
export const R_BPF_64_NODYLD32 = 4;
/** BPF-to-BPF call: imm holds (target - pc - 1) in instructions. */
export const R_BPF_64_32 = 10;
