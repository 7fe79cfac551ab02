// tsbpf: a BPF loader for Node.js, written in TypeScript.
// Layers, bottom up: syscall (koffi) -> elf, btf (pure) -> relo (pure) ->
// maps, prog -> object (lifecycle) -> attach, ringbuf.
export { TsbpfError, NotSupportedError, UsageError } from './errors.ts';
export * from './object/index.ts';
export * from './maps/index.ts';
export * from './prog/index.ts';
export { parseElf, ElfFile, ElfError } from './elf/index.ts';
export { parseBtf, parseBtfExt, Btf, BtfError, loadKernelBtf, typeToC } from './btf/index.ts';
export { relocateCore, RelocationError, BpfCoreReloKind } from './relo/index.ts';
export { SyscallError, BpfSyscallError } from './syscall/index.ts';
export * from './attach/index.ts';
export * from './ringbuf/index.ts';
export { formatLog2Hist, printLog2Hist, formatLinearHist, printLinearHist } from './report/hist.ts';
