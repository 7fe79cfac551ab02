// src/features: what the running kernel supports, asked once and remembered
// (one cache, one override: ./cache.ts). The public questions follow
// cilium/ebpf's features package: haveProgramType, haveMapType, haveHelper,
// haveLinkKind, haveBtfKind. Each answers true or false, and throws when the
// kernel refused to say (EPERM: a policy, not a missing feature).
export { overrideFeature, resetFeatureCache } from './cache.ts';
export { btfFeatures, haveBtfKind, hasFeatureOverrides, kernelSupports, type FeatureName } from './btf.ts';
export { haveProgramType, haveHelper } from './prog.ts';
export { haveMapType } from './map.ts';
export { haveLinkKind, hasPerfLink } from './link.ts';
export { probePmu, parsePmuFormatBit, PMU_DIR, type ProbeKind, type ProbePmu } from './pmu.ts';
export { kernelSymbolExists, kernelSymbolAddresses, KALLSYMS_PATH } from './kallsyms.ts';
