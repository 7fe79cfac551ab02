// The one cache of feature answers, and the one way to override them.
// Every probe in this folder asks `cached(key, probe)`: the first call runs
// the probe, later calls return its answer for the life of the process (what
// the kernel supports does not change under a running process). Tests force
// an answer with overrideFeature(key, value) (from 'tsbpf/testing').
// Keys name the feature: 'btf:enum64', 'prog:BPF_PROG_TYPE_XDP',
// 'map:BPF_MAP_TYPE_ARENA', 'helper:BPF_PROG_TYPE_KPROBE:BPF_FUNC_ktime_get_ns',
// 'link:BPF_LINK_TYPE_PERF_EVENT', 'pmu:kprobe', 'kallsyms'.
import createDebug from 'debug';

const log = createDebug('tsbpf:features');

const answers = new Map<string, unknown>();
const overrides = new Map<string, unknown>();

/** The answer for `key`: an override, a remembered answer, or `probe()`'s (remembered). */
export function cached<T>(key: string, probe: () => T): T {
  if (overrides.has(key)) return overrides.get(key) as T;
  if (answers.has(key)) return answers.get(key) as T;
  const v = probe();
  answers.set(key, v);
  log('probe %s: %o', key, v);
  return v;
}

/** Force the answer for `key` (tests); `undefined` removes the override. */
export function overrideFeature(key: string, value: unknown): void {
  if (value === undefined) overrides.delete(key);
  else overrides.set(key, value);
}

/** Keys with an override (the object loader sanitizes BTF up front when one is set). */
export function overriddenFeatures(): string[] {
  return [...overrides.keys()];
}

/** Forget every remembered answer (tests: re-probe after changing the machine). Overrides stay. */
export function resetFeatureCache(): void {
  answers.clear();
}

/** The errno behind an error (its own, or its causes'), if any. */
export function errnoOf(e: unknown): number | undefined {
  for (let x = e as { errno?: unknown; cause?: unknown } | undefined, depth = 0; x && depth < 8; x = x.cause as typeof x, depth++) {
    if (typeof x.errno === 'number') return x.errno;
  }
  return undefined;
}
