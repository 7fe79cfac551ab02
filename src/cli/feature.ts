// `tsbpf feature`: what this kernel supports, probed (like `bpftool feature probe`).
import { BTF_KIND_NAMES } from '../btf/index.ts';
import { btfFeatures } from '../features/index.ts';
import { kernelEnum, probeHelper, probeMapType, probeProgType, type ProbeResult } from '../features/probes.ts';
import { parse } from './args.ts';
import { out, outJson } from './output.ts';

const SPEC = {
  usage: 'tsbpf feature [--no-helpers] [--json]',
  summary: 'Probe what the running kernel supports: program types (a trivial program of each type is loaded), map types (a minimal map of each type is created), the helpers each supported program type may call, the link types and BTF kinds it knows. The type and helper names come from the kernel\'s own BTF. "refused" means the kernel knows the feature but refuses it to us (EPERM: privileges or a security policy). Needs root.',
  options: { 'no-helpers': { type: 'boolean' as const } },
  optionHelp: { 'no-helpers': 'skip the helper probes (one load per helper and program type)' },
  json: true,
  positionals: [0, 0] as [number, number],
  examples: ['tsbpf feature', 'tsbpf feature --json | jq \'.helpers.xdp\''],
};

/** BTF kinds by the feature probe that shows the kernel accepts them (kinds 1-13 are in every BTF kernel). */
const BTF_KIND_FEATURES: [string, string][] = [['VAR', 'datasec'], ['DATASEC', 'datasec'], ['FLOAT', 'float'], ['DECL_TAG', 'declTag'], ['TYPE_TAG', 'typeTag'], ['ENUM64', 'enum64']];

export async function main(args: string[]): Promise<number> {
  const { values } = parse(args, SPEC);
  const progTypes = kernelEnum('bpf_prog_type', 'BPF_PROG_TYPE_').filter((t) => t.value !== 0).map((t) => probeProgType(t.name, t.value));
  const mapTypes = kernelEnum('bpf_map_type', 'BPF_MAP_TYPE_').filter((t) => t.value !== 0).map((t) => probeMapType(t.name, t.value));
  const linkTypes = kernelEnum('bpf_link_type', 'BPF_LINK_TYPE_').filter((t) => t.value !== 0).map((t) => t.name);
  const bf = btfFeatures() as unknown as Record<string, boolean>;
  const btfKinds = BTF_KIND_NAMES.slice(1).filter((k) => {
    const f = BTF_KIND_FEATURES.find(([kind]) => kind === k);
    return f ? bf[f[1]] === true : true;
  });
  const helpers: Record<string, string[]> = {};
  if (!values['no-helpers']) {
    const funcs = kernelEnum('bpf_func_id', 'BPF_FUNC_').filter((f) => f.value !== 0);
    for (const p of progTypes) {
      if (p.answer !== 'yes' || ['tracing', 'ext', 'lsm', 'struct_ops'].includes(p.name)) continue;
      helpers[p.name] = funcs.filter((f) => probeHelper(p, f)).map((f) => `bpf_${f.name}`);
    }
  }
  const result = { programTypes: progTypes, mapTypes, linkTypes, btfKinds, helpers };
  if (values.json) {
    outJson(result);
    return 0;
  }
  const row = (r: ProbeResult) => `  ${r.name.padEnd(24)} ${r.answer === 'yes' ? 'yes' : r.answer === 'refused' ? `refused (${r.detail})` : `no${r.detail ? ` (${r.detail})` : ''}`}`;
  const lines = ['program types:', ...progTypes.map(row), '', 'map types:', ...mapTypes.map(row), '', `link types (known to the kernel): ${linkTypes.join(', ')}`, '', `BTF kinds: ${btfKinds.join(', ')}`];
  for (const [p, hs] of Object.entries(helpers)) lines.push('', `helpers for ${p} programs (${hs.length}):`, ...hs.map((h) => `  ${h}`));
  out(lines.join('\n'));
  return 0;
}
