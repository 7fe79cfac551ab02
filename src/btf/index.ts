// BTF: the type model, a lazy indexed parser, the builder/marshaller, .BTF.ext,
// the kernel's BTF (cached), helpers and sanitization. (load.ts, BPF_BTF_LOAD, is separate.)
export * from './types.ts';
export { BtfError } from './errors.ts';
export { Btf, parseBtf, type BtfHeader, type BtfHeaderIndex, type ParseBtfOptions } from './parse.ts';
export { StringTable } from './strings.ts';
export { BtfBuilder, marshalBtf, cloneType, btfInfo } from './marshal.ts';
export * from './ext.ts';
export * from './helpers.ts';
export { sanitizeBtf, needsSanitization, ALL_BTF_FEATURES, ENUM64_PLACEHOLDER, type BtfFeatures } from './sanitize.ts';
export { loadKernelBtf, loadModuleBtf, kernelModuleBtfNames, clearKernelBtfCache, KERNEL_BTF_DIR, VMLINUX_BTF_PATH } from './kernel.ts';
export { openModuleBtfFds } from './module_fds.ts';
