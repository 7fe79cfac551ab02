// tsbpf/testing: hooks for tests, not for programs. They force what the
// library would otherwise detect (a kernel feature's answer, the perf-link
// path) or forget what it cached, so that a test can take a path this kernel
// would not. Import them from 'tsbpf/testing'; the main entry does not export them.
export { overrideFeature, type FeatureName } from './features/index.ts';
export { setPerfLinkSupport } from './attach/perf_attach.ts';
export { resetProbePmuCache } from './attach/probe_events.ts';
export { clearKernelBtfCache } from './btf/kernel.ts';
