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
export { emitTsTypes, TsTypeEmitter, CodegenError, type EmitTsOptions } from './codegen/ts_types.ts';
export {
  CodecError, type Codec, type RecordView, type ViewClass, readCString, writeCString, zeroBytes, checkInt, checkBigInt, checkFloat,
  checkObject, checkLength, readBits, readBitsBig, writeBits, readInt128, writeInt128, readArray, writeArray, viewOf, encodeToBytes,
  decodeFromBytes,
} from './codegen/runtime.ts';
export { generateSkeleton, skeletonClassName, type GenerateSkeletonOptions } from './skel/generate.ts';
export { Skeleton, TypedMap, RawMap, RingBufMap, PerfBufMap, GlobalSection, RAW_RECORD, type SkeletonOpenOptions } from './skel/runtime.ts';
