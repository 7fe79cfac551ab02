// The fuzz targets: a small registry (registerFuzzTarget) and the built-in
// targets over tsbpf's pure parsers. A target runs one input; it returns
// (success) or throws. A TsbpfError is a typed refusal, the expected answer to
// bad input; anything else escaping run() is a finding.
//
// Other targets (the skeleton generator, the CLI's `inspect`) register
// themselves the same way: registerFuzzTarget({ name, format, seeds, run }).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TsbpfError } from '../../src/errors.ts';
import { parseElf } from '../../src/elf/index.ts';
import {
  alignof, findMember, parseBtf, parseBtfExt, sanitizeBtf, sizeof, skipModsAndTypedefs, typeToC, marshalBtf,
  BTF_KIND_STRUCT, BTF_KIND_UNION, type Btf, type BtfType, type BtfTypeInit,
} from '../../src/btf/index.ts';
import { BpfObject, parseObject } from '../../src/object/index.ts';
import { applyCore } from '../../src/object/core.ts';
import { patchObjectBtf } from '../../src/object/btf_fixup.ts';
import { linkProgram } from '../../src/object/linker.ts';
import { generateSkeleton } from '../../src/skel/generate.ts';
import { emitTsTypes } from '../../src/codegen/ts_types.ts';

export interface FuzzTarget {
  /** Short name: corpus files are named `<target>-<hash>.bin`. */
  name: string;
  /** Which structure-aware mutations apply: an ELF object, or a raw BTF blob. */
  format: 'elf' | 'btf';
  /** The seed inputs (computed once per process). */
  seeds(): Uint8Array[];
  /** Run one input: return, or throw (a TsbpfError is a typed refusal; anything else is a finding). */
  run(input: Uint8Array): void;
  /** Relative share of the executions (default 1): expensive targets run less often. */
  weight?: number;
}

const registry = new Map<string, FuzzTarget>();

/** Add a target to the fuzzer (and to the corpus replay): names are unique. */
export function registerFuzzTarget(target: FuzzTarget): void {
  if (registry.has(target.name)) throw new Error(`fuzz target "${target.name}" is already registered`);
  registry.set(target.name, target);
}

/** Every registered target, in registration order. */
export function fuzzTargets(): FuzzTarget[] {
  return [...registry.values()];
}

export function fuzzTarget(name: string): FuzzTarget {
  const t = registry.get(name);
  if (!t) throw new Error(`no fuzz target "${name}" (have: ${[...registry.keys()].join(', ')})`);
  return t;
}

// ---- seeds ----------------------------------------------------------------

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const VMLINUX = '/sys/kernel/btf/vmlinux';

function once<T>(f: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= f());
}

/** Every committed object in bpf/. */
export const objectSeeds = once((): Uint8Array[] =>
  readdirSync(join(ROOT, 'bpf')).filter((f) => f.endsWith('.bpf.o')).sort().map((f) => new Uint8Array(readFileSync(join(ROOT, 'bpf', f)))));

/** The .BTF of every object, plus slices of the kernel's BTF (when the kernel has one). */
export const btfSeeds = once((): Uint8Array[] => {
  const out: Uint8Array[] = [];
  for (const o of objectSeeds()) {
    const s = parseElf(o).sectionByName('.BTF');
    if (s) out.push(s.data.slice());
  }
  if (!existsSync(VMLINUX)) {
    console.error(`fuzz: ${VMLINUX} is absent: no kernel BTF slices among the seeds`);
    return out;
  }
  const vmlinux = parseBtf(new Uint8Array(readFileSync(VMLINUX)), { name: 'vmlinux' });
  const n = vmlinux.typeCount;
  for (const frac of [0, 0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.98]) out.push(btfSlice(vmlinux, 1 + Math.floor(frac * n), 300));
  return out;
});

/** Types [first, first + count) of `btf` as a standalone blob: references out of the slice become void. */
function btfSlice(btf: Btf, first: number, count: number): Uint8Array {
  const last = Math.min(btf.typeCount, first + count - 1);
  const map = (id: number) => (id >= first && id <= last ? id - first + 1 : 0);
  const types: BtfTypeInit[] = [];
  for (let id = first; id <= last; id++) {
    const t = structuredClone(btf.type(id)) as BtfType & { type?: number; indexType?: number };
    if (t.type !== undefined) t.type = map(t.type);
    if (t.indexType !== undefined) t.indexType = map(t.indexType);
    if ('members' in t) for (const m of t.members) m.type = map(m.type);
    if ('params' in t) for (const p of t.params) p.type = map(p.type);
    if ('vars' in t) for (const v of t.vars) v.type = map(v.type);
    const { id: _, ...init } = t;
    types.push(init as BtfTypeInit);
  }
  return marshalBtf(types);
}

/** The fixed target BTF of the CO-RE target: bpf/core.bpf.o's own BTF, so findings replay on any host. */
const coreTargetBtf = once((): Btf => {
  const elf = parseElf(new Uint8Array(readFileSync(join(ROOT, 'bpf', 'core.bpf.o'))), 'core');
  return parseBtf(elf.sectionByName('.BTF')!.data, { name: 'core.bpf.o .BTF (target)' });
});

// ---- helpers --------------------------------------------------------------

/** Run `f`; a typed refusal is an answer (walks go on to the next type), anything else propagates. */
function typed(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof TsbpfError)) throw e;
  }
}

/**
 * Decode every type (the first 20,000) and ask every question the helpers
 * answer (sizes, alignment, C spelling, member and name lookups) of at most
 * 256 of them, evenly spread: most of the cost is there.
 */
export function walkBtf(btf: Btf): void {
  const last = Math.min(btf.typeCount, 20_000);
  const stride = Math.max(1, Math.ceil(last / 256));
  for (let id = 1; id <= last; id++) {
    typed(() => {
      const t = btf.type(id);
      btf.nameOf(id);
      if (t.kind === BTF_KIND_STRUCT || t.kind === BTF_KIND_UNION) for (const m of t.members) btf.kindOf(m.type);
    });
    if (id % stride !== 0) continue;
    typed(() => {
      const t = btf.type(id);
      if ((t.kind === BTF_KIND_STRUCT || t.kind === BTF_KIND_UNION) && t.members.length) findMember(btf, id, t.members[t.members.length - 1]!.name || 'x');
      if (t.name) btf.findByNameKind(t.name, t.kind);
    });
    typed(() => sizeof(btf, id));
    typed(() => alignof(btf, id));
    typed(() => skipModsAndTypedefs(btf, id));
    typeToC(btf, id);
  }
}

// ---- the built-in targets -------------------------------------------------

registerFuzzTarget({
  name: 'elf',
  format: 'elf',
  seeds: objectSeeds,
  run(input) {
    const elf = parseElf(input, 'fuzz');
    for (const s of elf.sections) {
      elf.relocationsFor(s.index);
      elf.symbolsIn(s.index);
    }
  },
});

registerFuzzTarget({
  name: 'btf',
  format: 'btf',
  weight: 0.7,
  seeds: btfSeeds,
  run(input) {
    // Odd-length inputs take the lazy header pass (the kernel BTF's), even ones the eager one.
    walkBtf(parseBtf(input, { name: 'fuzz', lazy: (input.length & 1) === 1 }));
  },
});

registerFuzzTarget({
  name: 'btf_ext',
  format: 'elf',
  seeds: objectSeeds,
  run(input) {
    const elf = parseElf(input, 'fuzz');
    const btfSec = elf.sectionByName('.BTF');
    const extSec = elf.sectionByName('.BTF.ext');
    if (!btfSec || !extSec) return;
    const ext = parseBtfExt(extSec.data, parseBtf(btfSec.data, { name: 'fuzz .BTF' }), 'fuzz .BTF.ext');
    for (const s of ext.lineInfo) for (const r of s.records) { r.fileName; r.line; }
  },
});

registerFuzzTarget({
  name: 'open',
  format: 'elf',
  seeds: objectSeeds,
  run(input) {
    const obj = BpfObject.open(input, { name: 'fuzz' });
    for (const m of obj.spec.maps) {
      if (m.origin !== 'data') continue;
      const g = obj.globals(m.name);
      for (const name of g.vars.keys()) g.get(name);
    }
  },
});

registerFuzzTarget({
  name: 'prepare',
  format: 'elf',
  weight: 0.5,
  seeds: objectSeeds,
  // The kernel-independent half of load(): BTF fix-ups, sanitizing for an old kernel, subprogram linking.
  run(input) {
    const spec = parseObject(input, { name: 'fuzz' });
    if (spec.btf) {
      const kconfigSize = spec.maps.find((m) => m.origin === 'kconfig')?.spec.valueSize ?? 0;
      typed(() => patchObjectBtf({ btf: spec.btf!, elf: spec.elf, externs: spec.externs, kconfigSize }));
      typed(() => sanitizeBtf(spec.btf!, { declTag: false, typeTag: false, enum64: false, float: false, funcLinkage: false, datasec: false }));
    }
    for (const p of spec.programs) typed(() => linkProgram(p, spec.subprograms, (fn) => fn.insns, spec.btfExt, 'fuzz'));
  },
});

registerFuzzTarget({
  name: 'core',
  format: 'elf',
  seeds: () => objectSeeds().filter((o) => Buffer.from(o).includes('.BTF.ext')),
  run(input) {
    const spec = parseObject(input, { name: 'fuzz' });
    applyCore(spec, coreTargetBtf, () => true);
  },
});

/** bpf/core_task.bpf.o, parsed once: the fixed object of the core_target target. */
const coreObject = once(() => parseObject(new Uint8Array(readFileSync(join(ROOT, 'bpf', 'core_task.bpf.o'))), { name: 'core_task' }));

registerFuzzTarget({
  name: 'core_target',
  format: 'btf',
  weight: 0.2,
  // The other side of CO-RE: a fixed object relocated against a hostile target BTF (a module's, or one given by path).
  seeds: () => ['core.bpf.o', 'core_task.bpf.o'].map((f) => parseElf(new Uint8Array(readFileSync(join(ROOT, 'bpf', f)))).sectionByName('.BTF')!.data.slice()),
  run(input) {
    const target = parseBtf(input, { name: 'fuzz target BTF', lazy: (input.length & 1) === 1 });
    applyCore(coreObject(), () => target, () => true);
  },
});

// ---- the skeleton generator and the TypeScript emitter (src/skel, src/codegen) ----

registerFuzzTarget({
  name: 'skeleton',
  format: 'elf',
  weight: 0.3,
  seeds: objectSeeds,
  run(input) {
    // odd lengths also ask for a record type (a typed refusal when the BTF has none)
    generateSkeleton(input, { name: 'fuzz', types: (input.length & 1) === 1 ? ['event'] : [] });
  },
});

registerFuzzTarget({
  name: 'ts_types',
  format: 'btf',
  weight: 0.3,
  seeds: btfSeeds,
  run(input) {
    const btf = parseBtf(input, { name: 'fuzz', lazy: (input.length & 1) === 1 });
    // each named type on its own (one it cannot describe is a typed refusal), with a view for structs
    const last = Math.min(btf.typeCount, 400);
    for (let id = 1; id <= last; id++) {
      typed(() => {
        const k = btf.kindOf(id);
        emitTsTypes(btf, [id], { views: (k === BTF_KIND_STRUCT || k === BTF_KIND_UNION) && btf.nameOf(id) ? [id] : [] });
      });
    }
  },
});
