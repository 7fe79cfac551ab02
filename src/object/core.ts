// CO-RE for a whole object: each ELF section with core_relo records is copied,
// relocated against the target BTF by src/relo, and cut back into its
// functions. One candidate cache serves every section, so each local type is
// looked up in the kernel's name index once per object.
import { extRecordsFor, type Btf } from '../btf/index.ts';
import { CandidateCache, relocateCore, type CoreRelo, type CoreReloResult } from '../relo/index.ts';
export { resultAt } from '../relo/index.ts';
import type { CollectionSpec, FunctionSpec } from './spec.ts';
import { copyBytes } from '../util/bytes.ts';

/** What CO-RE did to one instruction; insnIdx is section-relative here, program-relative on ObjectProgram. */
export type CoreOutcome = CoreReloResult;

export interface CoreResult {
  insns: Uint8Array;
  outcomes: CoreOutcome[];
}

/**
 * Relocate every function that will be loaded (autoloaded programs and all
 * .text subprograms; libbpf skips programs that are not autoloaded, so an
 * unresolvable relocation there cannot fail the load).
 */
export function applyCore(
  spec: CollectionSpec,
  targetBtf: () => Btf,
  isLoaded: (fn: FunctionSpec) => boolean,
  moduleBtfs?: () => readonly Btf[],
): Map<FunctionSpec, CoreResult> {
  const out = new Map<FunctionSpec, CoreResult>();
  const ext = spec.btfExt;
  if (!ext || !spec.btf || ext.coreRelos.length === 0) return out;
  // types vmlinux lacks are looked for in the modules' BTF (moduleBtfs), as libbpf does
  const cache = new CandidateCache(moduleBtfs);
  const functions = [...spec.programs, ...spec.subprograms];
  for (const sec of ext.coreRelos) {
    const fns = functions.filter((f) => f.sectionName === sec.secName);
    if (fns.length === 0 || sec.records.length === 0) continue;
    const loaded = fns.filter(isLoaded);
    const inLoaded = (insnIdx: number) => loaded.find((f) => insnIdx >= f.secInsnOff && insnIdx < f.secInsnOff + f.insnCount);
    const relos: CoreRelo[] = extRecordsFor(ext.coreRelos, sec.secName)
      .filter((r) => inLoaded(r.insnOff / 8) !== undefined)
      .map((r) => ({ insnOff: r.insnOff, typeId: r.typeId, accessStr: r.accessStr, kind: r.kind }));
    if (relos.length === 0) continue;
    // A section-sized scratch copy: relocation records address instructions by section offset.
    const secSize = Math.max(...fns.map((f) => (f.secInsnOff + f.insnCount) * 8));
    const insns = new Uint8Array(secSize);
    for (const f of fns) insns.set(f.insns, f.secInsnOff * 8);
    const results = relocateCore({
      localBtf: spec.btf,
      targetBtf: targetBtf(),
      relos,
      insns,
      section: sec.secName,
      object: spec.name,
      progNameAt: (i) => inLoaded(i)?.name,
      cache,
    });
    for (const f of loaded) {
      out.set(f, {
        insns: copyBytes(insns, f.secInsnOff * 8, (f.secInsnOff + f.insnCount) * 8),
        outcomes: results.filter((r) => r.insnIdx >= f.secInsnOff && r.insnIdx < f.secInsnOff + f.insnCount),
      });
    }
  }
  return out;
}
