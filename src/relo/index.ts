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
// Everything before patchInsn depends only on (root type, kind, access string)
// and the candidate list: a record repeating an earlier one reuses its values.
import createDebug from 'debug';
import type { Btf } from '../btf/parse.ts';
import { CandidateCache, type CoreCand } from './candidates.ts';
import { calcReloInsn, type CoreReloRes } from './calc.ts';
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
  /** Name of the object (file name), first in error messages. */
  object?: string;
  /** Name of the program owning section instruction `insnIdx`, for messages. */
  progNameAt?(insnIdx: number): string | undefined;
  /** Candidate lists shared by all sections of one object (a fresh one if omitted). */
  cache?: CandidateCache;
}

/**
 * What relocateCore reports for one relocation. The description ("struct
 * task_struct::pid (field byte offset)") is for messages and logs only, which
 * most loads never produce: it is rendered from the local spec on first read.
 */
class RelocationResult implements CoreReloResult {
  memSize?: { from: number; to: number };
  /** The parsed local spec the description is rendered from. */
  readonly #spec: CoreSpec;
  #description: string | undefined;
  constructor(
    readonly relo: CoreRelo,
    readonly reloIdx: number,
    readonly section: string,
    readonly insnIdx: number,
    readonly program: string | undefined,
    localSpec: CoreSpec,
    readonly oldValue: bigint | undefined,
    readonly localValue: bigint,
    readonly newValue: bigint,
    readonly poisoned: boolean,
    readonly poisonReason: string | undefined,
    readonly targetTypeIds: number[],
  ) {
    this.#spec = localSpec;
  }
  get description(): string {
    return (this.#description ??= describeSpec(this.#spec));
  }
  /** The same result for instruction `insnIdx` (a program-relative index instead of a section-relative one). */
  at(insnIdx: number): CoreReloResult {
    const r = new RelocationResult(this.relo, this.reloIdx, this.section, insnIdx, this.program, this.#spec,
      this.oldValue, this.localValue, this.newValue, this.poisoned, this.poisonReason, this.targetTypeIds);
    if (this.memSize) r.memSize = this.memSize;
    return r;
  }
}

/**
 * A copy of `r` numbered as instruction `insnIdx` (the loader renumbers section
 * results per program). Keeps relocateCore's lazily rendered description lazy,
 * which an object spread (`{...r}`) would not: it copies own fields only.
 */
export function resultAt(r: CoreReloResult, insnIdx: number): CoreReloResult {
  return r instanceof RelocationResult ? r.at(insnIdx) : { ...r, insnIdx };
}

/**
 * What one relocation computed, before patching: the same (root type, access
 * string, kind) against the same candidate list always computes the same, so a
 * section's repeated accesses (inode::i_mode read in four places) compute once.
 */
interface Computed {
  /** The candidate list it was computed against (by identity: narrowing replaces the list). */
  cands: CoreCand[] | undefined;
  localSpec: CoreSpec;
  res: CoreReloRes;
  targetTypeIds: number[];
}

/** Apply every CO-RE relocation of one ELF section. Throws RelocationError on the first one that cannot be applied. */
export function relocateCore(args: RelocateCoreArgs): CoreReloResult[] {
  const { localBtf, targetBtf, relos, insns, section } = args;
  const cache = args.cache ?? new CandidateCache();
  const computed = new Map<string, Computed>();
  const out: CoreReloResult[] = [];
  const t0 = performance.now();
  for (let i = 0; i < relos.length; i++) {
    const relo = relos[i]!;
    const insnIdx = relo.insnOff / BPF_INSN_SZ;
    const program = Number.isInteger(insnIdx) ? args.progNameAt?.(insnIdx) : undefined;
    let localSpec: CoreSpec | undefined;
    try {
      if (!Number.isInteger(insnIdx) || insnIdx < 0) throw new CoreError('EINVAL', `instruction offset ${relo.insnOff} is not a multiple of ${BPF_INSN_SZ}`);
      const key = `${relo.typeId}:${relo.kind}:${relo.accessStr}`;
      let c = computed.get(key);
      // A repeat is reused while its type's candidate list is the one it was computed against.
      if (c === undefined || (c.cands !== undefined && c.cands !== cache.get(localBtf, relo.typeId, targetBtf))) {
        c = compute(args, cache, relo, i, section, program);
        computed.set(key, c);
      }
      localSpec = c.localSpec;
      const { res } = c;
      const p = patchInsn(insns, insnIdx, res);
      const r = new RelocationResult(relo, i, section, insnIdx, program, localSpec,
        p.oldValue, res.origVal, p.poisoned ? 0n : res.newVal,
        p.poisoned, p.poisoned ? (p.poisonReason ?? res.poisonReason ?? 'no match in the target BTF') : undefined,
        c.targetTypeIds);
      if (p.memSize) r.memSize = p.memSize;
      out.push(r);
      if (log.enabled) {
        const what = r.poisoned ? `poisoned (${r.poisonReason})` : `${fmt(r.oldValue)} -> ${fmt(r.newValue)}${r.memSize ? ` (access ${r.memSize.from} -> ${r.memSize.to} bytes)` : ''}`;
        log('%s insn %d: %s %s', program ? `prog ${program}` : `section ${section}`, insnIdx, r.description, what);
      }
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      const fail = e instanceof SpecError ? e.error : e;
      localSpec ??= e instanceof SpecError ? e.localSpec : undefined;
      const description = localSpec ? describeSpec(localSpec) : rawDescription(relo);
      // Object, then program, then the relocation: its C-like path and the raw access string clang wrote.
      const where = `${args.object ? `${args.object}: ` : ''}${program ? `program "${program}" (section ${section})` : `section ${section}`} insn ${insnIdx}`;
      const msg = `${where}: CO-RE relocation #${i} ${description} [access string "${relo.accessStr}"]: ${fail.message}`;
      throw new RelocationError(msg, {
        section, program, insnIdx, reloIdx: i, relo, description, code: fail.code, reason: fail.message,
      });
    }
  }
  if (relos.length) log('section %s: %d relocations in %s ms (%d candidate searches so far)', section, relos.length, (performance.now() - t0).toFixed(2), cache.searches);
  return out;
}

/** A CoreError raised after the local spec parsed: the message describes the relocation by its spec. */
class SpecError extends CoreError {
  constructor(readonly error: CoreError, readonly localSpec: CoreSpec) {
    super(error.code, error.message);
  }
}

/**
 * One relocation's values (bpf_core_calc_relo_insn after bpf_core_parse_spec and
 * the candidate search), narrowing the type's candidates as libbpf does.
 * CoreErrors raised after the local spec parsed come out as SpecErrors.
 */
function compute(args: RelocateCoreArgs, cache: CandidateCache, relo: CoreRelo, i: number, section: string, program: string | undefined): Computed {
  const { localBtf, targetBtf } = args;
  const localSpec = parseSpec(localBtf, relo);
  try {
    let cands: CoreCand[] | undefined;
    if (relo.kind !== BPF_CORE_TYPE_ID_LOCAL) {
      if (relo.typeId <= 0 || relo.typeId > localBtf.typeCount) throw new CoreError('EINVAL', `type id ${relo.typeId} is out of range (1..${localBtf.typeCount})`);
      cands = cache.get(localBtf, relo.typeId, targetBtf);
    }
    // Rendered only for debug logs (see calcReloInsn).
    const where = () => `${program ? `prog ${program}` : `section ${section}`} insn ${relo.insnOff / BPF_INSN_SZ} (relo #${i})`;
    const { res, matched } = calcReloInsn(relo, localBtf, cands, where, localSpec);
    // libbpf keeps only the candidates that matched for the next relocations of this type.
    if (cands && matched.length > 0 && matched.length < cands.length) {
      cands = matched.map((s) => ({ btf: s.btf, id: s.rootTypeId }));
      cache.narrow(localBtf, relo.typeId, targetBtf, cands);
    }
    return { cands, localSpec, res, targetTypeIds: matched.map((s) => s.rootTypeId) };
  } catch (e) {
    throw e instanceof CoreError ? new SpecError(e, localSpec) : e;
  }
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
 * behind it: "<description> [access string "0:1"] could not be resolved against this kernel".
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
  return `${hit.description} [access string "${hit.relo.accessStr}"] could not be resolved against this kernel`;
}
