// `tsbpf feature`: what this kernel supports, from the library's memoized
// probes (src/features: haveProgramType, haveMapType, haveHelper,
// haveLinkKind, haveBtfKind), printed like `bpftool feature probe`.
import { BTF_KIND_NAMES } from '../btf/index.ts';
import { haveBtfKind, haveHelper, haveLinkKind, haveMapType, haveProgramType } from '../features/index.ts';
import { errnoName } from '../syscall/index.ts';
import { BpfFuncId, BpfLinkType, BpfProgType, MapType } from '../uapi/kernel.ts';
import { parse } from './args.ts';
import { out, outJson } from './output.ts';

const SPEC = {
  usage: 'tsbpf feature [--no-helpers] [--json]',
  summary: 'Probe what the running kernel supports: program types (a trivial program of each type is loaded), map types (a minimal map of each type is created), the helpers each supported program type may call, link kinds and BTF kinds. "refused" means the kernel would not answer (EPERM: our privileges or the machine\'s policy); "not probed" means the type cannot be probed without a target of its own (freplace, struct_ops). Needs root.',
  options: { 'no-helpers': { type: 'boolean' as const } },
  optionHelp: { 'no-helpers': 'skip the helper probes (one load per helper and program type)' },
  json: true,
  positionals: [0, 0] as [number, number],
  examples: ['tsbpf feature', 'tsbpf feature --json | jq \'.helpers.xdp\''],
};

export type Answer = 'yes' | 'no' | 'refused' | 'not probed' | 'error';
export interface FeatureRow { name: string; value: number; answer: Answer; detail?: string }

/** One probe's answer; a thrown refusal becomes 'refused' (with its errno), a probe that cannot be made 'not probed'. */
function ask(name: string, value: number, probe: () => boolean): FeatureRow {
  try {
    return { name, value, answer: probe() ? 'yes' : 'no' };
  } catch (e) {
    if (e instanceof Error && e.name === 'UsageError') return { name, value, answer: 'not probed', detail: e.message };
    // A refusal carries the errno (EPERM: privileges or policy); anything else is the probe's own failure.
    const errno = errnoIn(e);
    return errno !== undefined ? { name, value, answer: 'refused', detail: errnoName(errno) } : { name, value, answer: 'error', detail: (e as Error).message };
  }
}

function errnoIn(e: unknown): number | undefined {
  for (let x = e as { errno?: unknown; cause?: unknown } | undefined, n = 0; x && n < 8; x = x.cause as typeof x, n++)
    if (typeof x.errno === 'number') return x.errno;
  return undefined;
}

/** The enumerators of a numeric TypeScript enum, prefix removed, lower case, UNSPEC left out. */
function members(e: Record<string, string | number>, prefix: string): { name: string; value: number }[] {
  return Object.entries(e)
    .filter(([k, v]) => typeof v === 'number' && v !== 0 && !k.startsWith('__') && !k.endsWith('_DEPRECATED'))
    .map(([k, v]) => ({ name: k.replace(prefix, '').toLowerCase(), value: v as number }));
}

export async function main(args: string[]): Promise<number> {
  const { values } = parse(args, SPEC);
  const programTypes = members(BpfProgType, 'BPF_PROG_TYPE_').map((t) => ask(t.name, t.value, () => haveProgramType(t.value)));
  const mapTypes = members(MapType, 'BPF_MAP_TYPE_').map((t) => ask(t.name, t.value, () => haveMapType(t.value)));
  const linkKinds = members(BpfLinkType, 'BPF_LINK_TYPE_').map((t) => ask(t.name, t.value, () => haveLinkKind(t.value)));
  const btfKinds = BTF_KIND_NAMES.slice(1).map((k, i) => ask(k, i + 1, () => haveBtfKind(i + 1)));
  const helpers: Record<string, string[]> = {};
  if (!values['no-helpers']) {
    const funcs = members(BpfFuncId, 'BPF_FUNC_');
    for (const p of programTypes) {
      if (p.answer !== 'yes') continue;
      helpers[p.name] = funcs.filter((f) => ask(f.name, f.value, () => haveHelper(p.value, f.value)).answer === 'yes').map((f) => `bpf_${f.name}`);
    }
  }
  const result = { programTypes, mapTypes, linkKinds, btfKinds, helpers };
  if (values.json) {
    outJson(result);
    return 0;
  }
  const row = (r: FeatureRow) => `  ${r.name.padEnd(24)} ${r.answer}${(r.answer === 'refused' || r.answer === 'error') && r.detail ? ` (${r.detail})` : ''}`;
  const lines = [
    'program types:', ...programTypes.map(row),
    '', 'map types:', ...mapTypes.map(row),
    '', 'link kinds:', ...linkKinds.map(row),
    '', 'BTF kinds:', ...btfKinds.map(row),
  ];
  for (const [p, hs] of Object.entries(helpers)) lines.push('', `helpers for ${p} programs (${hs.length}):`, ...hs.map((h) => `  ${h}`));
  out(lines.join('\n'));
  return 0;
}
