// Candidate search (libbpf's bpf_core_find_cands / bpf_core_add_cands): the
// target types whose kind is CO-RE-compatible with the local root type and
// whose essential name (flavor dropped) equals the local one.
//
// libbpf scans every target type for every local type. Here the target BTF's
// findByEssentialName answers it (a native search of the header pass's
// kind + name-prefix keys, covering names that carry a flavor in the target
// itself, such as bpftool's ___2 duplicates). Candidate lists are
// memoized per local type id in a CandidateCache, shared by all relocations of
// one object (and narrowed as libbpf narrows them, see relocateCore).
import type { Btf } from '../btf/parse.ts';
import { BTF_KIND_ENUM, BTF_KIND_ENUM64 } from '../btf/types.ts';
import { essentialNameLen, isAnyEnum } from './btf_util.ts';
import { CoreError } from './types.ts';

/** struct bpf_core_cand */
export interface CoreCand {
  btf: Btf;
  id: number;
}

/**
 * bpf_core_find_cands: candidates for local type `localId`, in target id order.
 * Throws CoreError(EINVAL) for anonymous local types (no name to search by).
 */
export function findCandidates(localBtf: Btf, localId: number, targetBtf: Btf): CoreCand[] {
  const name = localBtf.nameOf(localId);
  if (name === '') throw new CoreError('EINVAL', `candidate search needs a named type, [${localId}] is anonymous`);
  const kind = localBtf.kindOf(localId);
  const essent = name.slice(0, essentialNameLen(name));
  const ids = isAnyEnum(kind) ? targetIds(targetBtf, essent, BTF_KIND_ENUM).concat(targetIds(targetBtf, essent, BTF_KIND_ENUM64)).sort((a, b) => a - b) : targetIds(targetBtf, essent, kind);
  return ids.map((id) => ({ btf: targetBtf, id }));
}

/**
 * Per target BTF: "kind essential-name" -> the target's ids. Local types that
 * differ only by flavor (task_struct, task_struct___old...) share one search;
 * each costs a native pass over the target's 126k type keys. Read-only results
 * of a read-only Btf, dropped with it.
 */
const targetSearches = new WeakMap<Btf, Map<string, readonly number[]>>();

function targetIds(targetBtf: Btf, essent: string, kind: number): readonly number[] {
  let m = targetSearches.get(targetBtf);
  if (!m) targetSearches.set(targetBtf, (m = new Map()));
  const key = `${kind} ${essent}`;
  let ids = m.get(key);
  if (!ids) m.set(key, (ids = targetBtf.findByEssentialName(essent, kind)));
  return ids;
}

/**
 * Candidate lists memoized per (local BTF, target BTF, local type id). One
 * cache per object load; reuse it across the object's sections. libbpf
 * narrows a type's list to the candidates that matched a relocation, so later
 * relocations of the same type only consider those; `narrow` does that.
 */
export class CandidateCache {
  readonly #byLocal = new WeakMap<Btf, WeakMap<Btf, Map<number, CoreCand[]>>>();
  /** Number of candidate searches actually run (cache misses). */
  searches = 0;

  /**
   * `moduleBtfs`: the kernel modules' split BTF, searched (all of them, in
   * order) only for a type the target has no candidate for, as libbpf's
   * bpf_core_find_cands does; a module's candidates are its own types.
   */
  constructor(readonly moduleBtfs?: () => readonly Btf[]) {}

  #map(localBtf: Btf, targetBtf: Btf): Map<number, CoreCand[]> {
    let perTarget = this.#byLocal.get(localBtf);
    if (!perTarget) this.#byLocal.set(localBtf, (perTarget = new WeakMap()));
    let m = perTarget.get(targetBtf);
    if (!m) perTarget.set(targetBtf, (m = new Map()));
    return m;
  }

  get(localBtf: Btf, localId: number, targetBtf: Btf): CoreCand[] {
    const m = this.#map(localBtf, targetBtf);
    let c = m.get(localId);
    if (!c) {
      this.searches++;
      c = findCandidates(localBtf, localId, targetBtf);
      if (c.length === 0 && this.moduleBtfs) {
        for (const mod of this.moduleBtfs()) c.push(...findCandidates(localBtf, localId, mod).filter((x) => x.id >= mod.startId));
      }
      m.set(localId, c);
    }
    return c;
  }

  narrow(localBtf: Btf, localId: number, targetBtf: Btf, cands: CoreCand[]): void {
    this.#map(localBtf, targetBtf).set(localId, cands);
  }
}
