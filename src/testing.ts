// tsbpf/testing: hooks for tests, not for programs. They force what the
// library would otherwise detect (a kernel feature's answer) or forget what it
// cached, so that a test can take a path this kernel would not. Import them
// from 'tsbpf/testing'; the main entry does not export them.
import { overrideFeature, resetFeatureCache } from './features/index.ts';
export { overrideFeature, resetFeatureCache };
export { clearKernelBtfCache } from './btf/kernel.ts';

/** Force the BPF perf link probe's answer (true/false), or re-probe (undefined). */
export function setPerfLinkSupport(v: boolean | undefined): void {
  overrideFeature('link:BPF_LINK_TYPE_PERF_EVENT', v);
}

/** Forget the probed kprobe/uprobe PMUs (and every other remembered feature answer). */
export function resetProbePmuCache(): void {
  resetFeatureCache();
}
