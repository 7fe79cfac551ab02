/**
 * A comparable image of a CollectionSpec: every byte the spec holds (each
 * function's instructions, each data section's initial image, the BTF, every
 * ELF section of the object as parsed) as a digest, with the decoded
 * description (relocations, maps, globals, externs) beside it. Two images are
 * equal when the specs are byte-identical; an image taken before load()
 * equals one taken after when loading changed nothing in the spec.
 */
import { createHash } from 'node:crypto';
import type { CollectionSpec, FunctionSpec } from '../../src/object/spec.ts';

const digest = (b: Uint8Array | undefined) => (b ? `${b.length}:${createHash('sha256').update(b).digest('hex').slice(0, 24)}` : undefined);

function fnImage(f: FunctionSpec) {
  return { name: f.name, section: f.sectionName, at: f.secInsnOff, count: f.insnCount, insns: digest(f.insns), relocs: JSON.stringify(f.relocs) };
}

export function specImage(spec: CollectionSpec) {
  return {
    name: spec.name,
    license: spec.license,
    kernVersion: spec.kernVersion,
    programs: spec.programs.map(fnImage),
    subprograms: spec.subprograms.map(fnImage),
    maps: spec.maps.map((m) => ({ ...m, initial: digest(m.initial), inner: m.inner?.name })),
    globals: spec.globals,
    externs: spec.externs,
    btf: digest(spec.btf?.bytes),
    sections: spec.elf.sections.map((s) => `${s.name}:${digest(s.data)}`),
  };
}

/** Every function's instructions, concatenated: what the loader must never write into. */
export function specInsns(spec: CollectionSpec): string[] {
  return [...spec.programs, ...spec.subprograms].map((f) => `${f.name}:${Buffer.from(f.insns).toString('hex')}`);
}
