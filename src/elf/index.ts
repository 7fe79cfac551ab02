// ELF64 reader for BPF objects: a pure function of bytes.
export * from './constants.ts';
export { ElfError } from './errors.ts';
export type { ElfHeader, ElfRel, ElfSection, ElfSymbol } from './types.ts';
export { ElfFile, parseElf, sectionByName, relocationsFor } from './parse.ts';
