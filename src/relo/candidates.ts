// Candidate search (libbpf's bpf_core_find_cands / bpf_core_add_cands): the
// target types whose kind is CO-RE-compatible with the local root type and
// whose essential name (flavor dropped) equals the local one.
//
// libbpf scans every target type for every local type. Here the target's
// name index answers the exact-name part, and names that carry a flavor in
// the target itself (rare: bpftool's ___2 duplicates) are found once per
// target BTF by searching its string section for "___". Candidate lists are
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

/** For one target BTF: essential name -> the flavored names ("foo___2") present in its strings. */
const flavoredNames = new WeakMap<Btf, Map<string, string[]>>();

function flavoredNamesOf(btf: Btf): Map<string, string[]> {
  let map = flavoredNames.get(btf);
  if (map) return map;
  map = btf.base ? new Map(Array.from(flavoredNamesOf(btf.base), ([k, v]) => [k, [...v]])) : new Map();
  const raw = btf.stringBytes();
  const s = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let p = s.indexOf('___'); p !== -1; ) {
    const start = s.lastIndexOf(0, p) + 1;
    let end = s.indexOf(0, p);
    if (end === -1) end = s.length;
    const name = s.toString('utf8', start, end);
    const n = essentialNameLen(name);
    if (n !== name.length) {
      const key = name.slice(0, n);
      const list = map.get(key);
      if (!list) map.set(key, [name]);
      else if (!list.includes(name)) list.push(name);
    }
    p = s.indexOf('___', end);
  }
  flavoredNames.set(btf, map);
  return map;
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
  const kinds = isAnyEnum(kind) ? [BTF_KIND_ENUM, BTF_KIND_ENUM64] : [kind];
  const ids = new Set<number>();
  for (const k of kinds) {
    // The exact essential name, unless that name itself has a flavor (then its essential name differs).
    if (essentialNameLen(essent) === essent.length) for (const id of targetBtf.findByName(essent, k)) ids.add(id);
    for (const full of flavoredNamesOf(targetBtf).get(essent) ?? []) for (const id of targetBtf.findByName(full, k)) ids.add(id);
  }
  return Array.from(ids).sort((a, b) => a - b).map((id) => ({ btf: targetBtf, id }));
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
      m.set(localId, c);
    }
    return c;
  }

  narrow(localBtf: Btf, localId: number, targetBtf: Btf, cands: CoreCand[]): void {
    this.#map(localBtf, targetBtf).set(localId, cands);
  }
}
