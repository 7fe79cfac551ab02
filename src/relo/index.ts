// CO-RE relocation (libbpf's relo_core.c + the CO-RE half of libbpf.c): pure,
// no I/O. Given the object's BTF, a target (kernel) BTF, one ELF section's
// instructions and that section's .BTF.ext core_relo records, patch every
// relocated instruction in place and report what was done.
//
//   for each record:                          (bpf_core_apply_relo)
//     candidates = cache.get(local root type)  (bpf_core_find_cands, name index)
//     local spec = parseSpec(access string)    (bpf_core_parse_spec)
//     for each candidate: specMatch -> calcRelo (bpf_core_spec_match, bpf_core_calc_relo)
//     all matches must agree                   (bpf_core_calc_relo_insn)
//     patchInsn(value or poison)               (bpf_core_patch_insn)
import createDebug from 'debug';
import type { Btf } from '../btf/parse.ts';
import { CandidateCache, type CoreCand } from './candidates.ts';
import { calcReloInsn } from './calc.ts';
import { BPF_INSN_SZ, patchInsn, POISON_HELPER_ID } from './patch.ts';
import { describeSpec, parseSpec, type CoreSpec } from './spec.ts';
import {
  BPF_CORE_TYPE_ID_LOCAL, CoreError, RelocationError, CORE_RELO_KIND_DESC, type CoreRelo, type CoreReloResult,
} from './types.ts';

export * from './types.ts';
export { CandidateCache, findCandidates, type CoreCand } from './candidates.ts';
export { parseSpec, formatSpec, describeRelo, describeSpec, parseAccessString, BPF_CORE_SPEC_MAX_LEN, type CoreSpec, type CoreAccessor } from './spec.ts';
export { specMatch } from './match.ts';
export { fieldsAreCompat, typesAreCompat, typesMatch } from './compat.ts';
export { calcRelo, calcReloInsn, type CoreReloRes } from './calc.ts';
export { patchInsn, POISON_HELPER_ID, BPF_INSN_SZ } from './patch.ts';
export { essentialName, essentialNameLen } from './btf_util.ts';

const log = createDebug('tsbpf:relo');

export interface RelocateCoreArgs {
  /** The object's .BTF. */
  localBtf: Btf;
  /** The BTF to relocate against (the running kernel's vmlinux BTF, or another kernel's). */
  targetBtf: Btf;
  /** This section's core_relo records. */
  relos: readonly CoreRelo[];
  /** This section's instructions; patched in place. */
  insns: Uint8Array;
  /** ELF section name, for messages. */
  section: string;
  /** Name of the program owning section instruction `insnIdx`, for messages. */
  progNameAt?(insnIdx: number): string | undefined;
  /** Candidate lists shared by all sections of one object (a fresh one if omitted). */
  cache?: CandidateCache;
}

/** Apply every CO-RE relocation of one ELF section. Throws RelocationError on the first one that cannot be applied. */
export function relocateCore(args: RelocateCoreArgs): CoreReloResult[] {
  const { localBtf, targetBtf, relos, insns, section } = args;
  const cache = args.cache ?? new CandidateCache();
  const out: CoreReloResult[] = [];
  const t0 = performance.now();
  for (let i = 0; i < relos.length; i++) {
    const relo = relos[i]!;
    const insnIdx = relo.insnOff / BPF_INSN_SZ;
    const program = Number.isInteger(insnIdx) ? args.progNameAt?.(insnIdx) : undefined;
    // Rendered only for debug logs (see calcReloInsn).
    const where = () => `${program ? `prog ${program}` : `section ${section}`} insn ${insnIdx} (relo #${i})`;
    let localSpec: CoreSpec | undefined;
    try {
      if (!Number.isInteger(insnIdx) || insnIdx < 0) throw new CoreError('EINVAL', `instruction offset ${relo.insnOff} is not a multiple of ${BPF_INSN_SZ}`);
      localSpec = parseSpec(localBtf, relo);
      let cands: CoreCand[] | undefined;
      if (relo.kind !== BPF_CORE_TYPE_ID_LOCAL) {
        if (relo.typeId <= 0 || relo.typeId > localBtf.typeCount) throw new CoreError('EINVAL', `type id ${relo.typeId} is out of range (1..${localBtf.typeCount})`);
        cands = cache.get(localBtf, relo.typeId, targetBtf);
      }
      const { res, matched } = calcReloInsn(relo, localBtf, cands, where, localSpec);
      // libbpf keeps only the candidates that matched for the next relocations of this type.
      if (cands && matched.length > 0 && matched.length < cands.length)
        cache.narrow(localBtf, relo.typeId, targetBtf, matched.map((s) => ({ btf: s.btf, id: s.rootTypeId })));
      const p = patchInsn(insns, insnIdx, res);
      const r: CoreReloResult = {
        relo, reloIdx: i, section, insnIdx, program, description: describeSpec(localSpec),
        oldValue: p.oldValue, localValue: res.origVal, newValue: p.poisoned ? 0n : res.newVal,
        poisoned: p.poisoned, poisonReason: p.poisoned ? (p.poisonReason ?? res.poisonReason ?? 'no match in the target BTF') : undefined,
        targetTypeIds: matched.map((s) => s.rootTypeId),
      };
      if (p.memSize) r.memSize = p.memSize;
      out.push(r);
      if (log.enabled) {
        const what = r.poisoned ? `poisoned (${r.poisonReason})` : `${fmt(r.oldValue)} -> ${fmt(r.newValue)}${r.memSize ? ` (access ${r.memSize.from} -> ${r.memSize.to} bytes)` : ''}`;
        log('%s insn %d: %s %s', program ? `prog ${program}` : `section ${section}`, insnIdx, r.description, what);
      }
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      const description = localSpec ? describeSpec(localSpec) : rawDescription(relo);
      const msg = `${section}${program ? ` (prog ${program})` : ''} insn ${insnIdx}: ${description}: ${e.message}`;
      throw new RelocationError(`CO-RE relocation #${i} failed: ${msg}`, {
        section, program, insnIdx, reloIdx: i, relo, description, code: e.code, reason: e.message,
      });
    }
  }
  if (relos.length) log('section %s: %d relocations in %s ms (%d candidate searches so far)', section, relos.length, (performance.now() - t0).toFixed(2), cache.searches);
  return out;
}

/** A record that did not parse, described as it is: "[45] "0:1" (field byte offset)". */
function rawDescription(relo: CoreRelo): string {
  return `[${relo.typeId}] "${relo.accessStr}" (${CORE_RELO_KIND_DESC[relo.kind] ?? `kind ${relo.kind}`})`;
}

function fmt(v: bigint | undefined): string {
  if (v === undefined) return '?';
  return String(v > 0x7fffffffffffffffn ? BigInt.asIntN(64, v) : v);
}

/**
 * For the loader's error message: when a verifier log shows a program reached a
 * poisoned instruction ("invalid func unknown#195896080"), name the relocation
 * behind it: "<description> could not be resolved against this kernel".
 * `toProgInsn` maps a result's section instruction index to the program's
 * instruction index, as the verifier numbers them (identity if omitted);
 * return undefined for results of other programs.
 */
export function explainPoison(
  verifierLog: string,
  results: readonly CoreReloResult[],
  toProgInsn: (r: CoreReloResult) => number | undefined = (r) => r.insnIdx,
): string | undefined {
  const marker = `unknown#${POISON_HELPER_ID}`;
  if (!verifierLog.includes(`invalid func ${marker}`)) return undefined;
  const poisoned = results.filter((r) => r.poisoned);
  const lines = verifierLog.split('\n');
  // The verifier prints the instruction ("123: (85) call unknown#195896080") just before the error.
  let insn: number | undefined;
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^\s*(\d+):\s*\(85\)\s*call\s+unknown#195896080/.exec(lines[i]!);
    if (m) { insn = Number(m[1]); break; }
  }
  let hit: CoreReloResult | undefined;
  if (insn !== undefined) hit = poisoned.find((r) => toProgInsn(r) === insn);
  if (!hit) {
    const mine = poisoned.filter((r) => toProgInsn(r) !== undefined);
    if (mine.length === 1) hit = mine[0];
  }
  if (!hit) return insn !== undefined ? `instruction ${insn} uses a CO-RE relocation that could not be resolved against this kernel` : undefined;
  return `${hit.description} could not be resolved against this kernel`;
}
