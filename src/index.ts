// tsbpf: a BPF loader for Node.js, written in TypeScript.
// Layers, bottom up: syscall (koffi) -> elf, btf (pure) -> relo (pure) ->
// maps, prog -> attach, ringbuf -> object (lifecycle).
//
// The public API, name by name: what a libbpf or cilium/ebpf user reaches for.
// Internals (tracefs helpers, poll sets, codec and instruction helpers) stay
// importable from their modules inside this repository, not from the package;
// test-only hooks live in the `tsbpf/testing` entry (src/testing.ts).

// errors
export { TsbpfError, NotSupportedError, UsageError } from './errors.ts';
export { ElfError } from './elf/index.ts';
export { BtfError } from './btf/index.ts';
export { RelocationError } from './relo/index.ts';
export { SyscallError, BpfSyscallError } from './syscall/index.ts';
export { MapError } from './maps/index.ts';
export { ProgramLoadError } from './prog/index.ts';
export { AttachError } from './attach/index.ts';
export { RingBufferError } from './ringbuf/index.ts';
export { ObjectError } from './object/index.ts';

// the object lifecycle: open -> load -> attach -> destroy
export { BpfObject, ObjectProgram, ObjectMap, GlobalData, parseObject } from './object/index.ts';
export type { OpenOptions, Destroyable, GlobalValue } from './object/index.ts';
export type {
  CollectionSpec, ObjectProgramSpec, ObjectMapSpec, FunctionSpec, GlobalVarSpec, ExternSpec, ExternKind, MapOrigin, MapSlotInit, CodeReloc,
} from './object/spec.ts';
export type { CoreOutcome } from './object/core.ts';

// maps
export {
  BpfMap, MapType, listMapIds, mapTypeName, mapFlagsToString, defineMapSpec,
  BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK,
  BPF_F_NO_PREALLOC, BPF_F_NO_COMMON_LRU, BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_STACK_BUILD_ID, BPF_F_ZERO_SEED,
  BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, BPF_F_CLONE, BPF_F_MMAPABLE, BPF_F_PRESERVE_ELEMS, BPF_F_INNER_MAP, BPF_F_LINK,
  BPF_F_PATH_FD, BPF_F_VTYPE_BTF_OBJ_FD, BPF_F_TOKEN_FD, BPF_F_SEGV_ON_FAULT, BPF_F_NO_USER_CONV,
} from './maps/index.ts';
export type {
  MapSpec, MapEntry, MapPinning, MapKey, MapValue, MapCreateOptions, MapOpenOptions, MapInfo, BatchEntries, BatchOptions,
} from './maps/index.ts';

// programs
export {
  Program, listProgramIds, BpfProgType, BpfAttachType, asm, encodeInsns,
  BPF_F_STRICT_ALIGNMENT, BPF_F_ANY_ALIGNMENT, BPF_F_TEST_RND_HI32, BPF_F_TEST_STATE_FREQ, BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS,
  BPF_F_XDP_DEV_BOUND_ONLY, BPF_F_TEST_RUN_ON_CPU, BPF_F_TEST_XDP_LIVE_FRAMES,
} from './prog/index.ts';
export type { ProgramSpec, ProgramBtf, LoadOptions, ProgramInfo, TestRunOptions, TestRunResult, Insn } from './prog/index.ts';

// attaching
export {
  attachTracepoint, attachRawTracepoint, attachTracing, attachKprobe, attachKretprobe, attachKsyscall, attachKretsyscall,
  attachUprobe, attachUretprobe, attachPerfEvent, attachPerfEventAllCpus, attachXdp, attachTcx, attachCgroup, attachNetns,
  attachIter, autoAttach, attachTarget, attachesByName, parseSection, knownSectionForms, SECTION_DEFS,
  Link, BpfLink, RawTracepointLink, TracingLink, XdpLink, TcxLink, CgroupLink, NetnsLink, PerfEventLink, LegacyProbeLink,
  ProgAttachLink, IterLink, BpfLinkType, destroyLinks,
  XDP_FLAGS_UPDATE_IF_NOEXIST, XDP_FLAGS_SKB_MODE, XDP_FLAGS_DRV_MODE, XDP_FLAGS_HW_MODE,
  BPF_F_ALLOW_OVERRIDE, BPF_F_ALLOW_MULTI, BPF_F_REPLACE,
} from './attach/index.ts';
export type {
  AttachableProgram, AttachTarget, AttachTargetKind, ParsedSection, SectionDef, AttachKind, AutoAttachOptions, LinkInfoDecoded,
  DestroyLinksOptions, TracefsOptions, TracepointOptions, RawTracepointOptions, TracingOptions, KprobeOptions, UprobeOptions,
  PerfEventOptions, XdpOptions, TcxOptions, CgroupOptions, IterOptions,
} from './attach/index.ts';

// multi-probe links (kprobe.multi, uprobe.multi)
export { attachKprobeMulti, attachUprobeMulti, KprobeMultiLink, UprobeMultiLink } from './attach/index.ts';
export type { KprobeMultiOptions, UprobeMultiOptions } from './attach/index.ts';

// USDT probes (libbpf's usdt.bpf.h on the BPF side)
export { findUsdtProbes, parseUsdtNotes, UsdtArgType, UsdtError, UsdtLink } from './attach/index.ts';
export type { UsdtOptions, UsdtProbes, UsdtSite, UsdtNote, UsdtArg } from './attach/index.ts';

// bpf_printk output (tracefs trace_pipe)
export { TracePipe, parseTraceLine } from './attach/index.ts';
export type { TraceLine, TracePipeOptions } from './attach/index.ts';

// ring buffers
export { RingBuffer, RingBufferWorker, PerfBuffer, UserRingBuffer, EventSource, possibleCpus, onlineCpus } from './ringbuf/index.ts';
export type { MapSource, RecordCallback, BatchCallback, RingOptions, PerfBufferOptions, StartOptions, RingBufferWorkerOptions, ThreadPriority, WorkerContext, WorkerHandler, WorkerHandlerFactory } from './ringbuf/index.ts';

// what the running kernel supports (memoized probes)
export { haveProgramType, haveMapType, haveHelper, haveLinkKind, haveBtfKind } from './features/index.ts';
export { BpfFuncId } from './uapi/kernel.ts';

// BTF, ELF and CO-RE, for tools
export { parseBtf, parseBtfExt, Btf, BtfBuilder, marshalBtf, loadKernelBtf, typeToC, sizeof, alignof } from './btf/index.ts';
export type { BtfType, BtfTypeInit, BtfKind, BtfMember, BtfEnumValue, ParseBtfOptions } from './btf/index.ts';
export { parseElf, ElfFile } from './elf/index.ts';
export type { ElfSection, ElfSymbol, ElfRel, ElfHeader } from './elf/index.ts';
export { relocateCore, explainPoison, BpfCoreReloKind } from './relo/index.ts';
export type { RelocateCoreArgs } from './relo/index.ts';

// code generation: TypeScript types, codecs and skeletons from BTF
export { emitTsTypes, TsTypeEmitter, CodegenError, type EmitTsOptions } from './codegen/ts_types.ts';
export {
  CodecError, type Codec, type RecordView, type ViewClass, readCString, writeCString, zeroBytes, checkInt, checkBigInt, checkFloat,
  checkObject, checkLength, readBits, readBitsBig, writeBits, readInt128, writeInt128, readArray, writeArray, viewOf, encodeToBytes,
  decodeFromBytes,
} from './codegen/runtime.ts';
export { generateSkeleton, skeletonClassName, type GenerateSkeletonOptions } from './skel/generate.ts';
export { Skeleton, TypedMap, RawMap, RingBufMap, PerfBufMap, GlobalSection, RAW_RECORD, type SkeletonOpenOptions } from './skel/runtime.ts';

// terminal histograms (libbpf-tools' print_log2_hist)
export { formatLog2Hist, printLog2Hist, formatLinearHist, printLinearHist } from './report/hist.ts';
