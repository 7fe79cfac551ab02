// The layers of src/, checked from the import statements themselves:
// - only src/syscall/ imports koffi;
// - the pure parts (ELF, BTF parsing, CO-RE, object parsing) import no
//   node:fs (nor koffi, nor the syscall layer): they are functions of bytes;
// - no folder imports a folder above it in LAYERS.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../src/', import.meta.url).pathname;

/**
 * Bottom up. A module may import its own folder and any folder listed before
 * its own. The top-level files errors.ts (the error root) is at the bottom;
 * index.ts and testing.ts (the package entries) at the top.
 */
export const LAYERS = [
  'errors.ts', // TsbpfError and friends: imported by everyone, imports nothing
  'uapi', // the kernel's constants and layouts (generated) and the per-architecture table
  'util', // CPU lists, dispose symbols
  'syscall', // koffi: bpf(2), perf_event_open, mmap, ioctl, fds
  'elf', // ELF64 reader (pure)
  'btf', // BTF model and parser (pure), kernel BTF and BPF_BTF_LOAD
  'prog', // programs: spec, instructions, BPF_PROG_LOAD
  'maps', // maps: spec, BpfMap
  'relo', // CO-RE (pure)
  'features', // what the kernel supports (probes load programs and create maps)
  'ringbuf', // ring and perf buffer consumers
  'attach', // the section table and one file per attach kind
  'object', // the lifecycle: ELF -> specs -> load -> attach
  'codegen', // TypeScript / C declarations from BTF
  'skel', // skeletons
  'compile_cache', // the published entry's code cache
  'report', // histograms and tables for the command line
  'cli', // the tsbpf command
  'index.ts', // the package entry
  'testing.ts', // the tsbpf/testing entry
];

/** Files that must stay pure: no file system, no koffi, no system calls. */
const PURE = [/^elf\//, /^relo\//, /^btf\/(?!kernel\.ts$|load\.ts$|module_fds\.ts$)/, /^object\/(parse|spec|linker|btf_maps|btf_fixup|core|explain)\.ts$/];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Each src/ file (relative path) and the specifiers it imports or re-exports. */
export function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of walk(SRC)) {
    const text = readFileSync(file, 'utf8');
    const specs = [...text.matchAll(/^\s*(?:import|export)\b[^'";]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)].map((m) => m[1] ?? m[2]!);
    graph.set(relative(SRC, file), specs);
  }
  return graph;
}

/** The layer (folder, or top-level file) of a path relative to src/. */
function unitOf(rel: string): string {
  return rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel;
}

/** The src/-relative path a relative specifier of `from` points at. */
function target(from: string, spec: string): string {
  return relative(SRC, join(SRC, from, '..', spec));
}

describe('layering of src/', () => {
  const graph = importGraph();

  it('knows every folder', () => {
    const units = new Set([...graph.keys()].map(unitOf));
    for (const u of units) expect(LAYERS, `src/${u} is not in LAYERS (test/layering.test.ts): place it`).toContain(u);
  });

  it('only src/syscall/ imports koffi', () => {
    const importers = [...graph].filter(([, specs]) => specs.includes('koffi')).map(([f]) => f);
    expect(importers.length).toBeGreaterThan(0);
    for (const f of importers) expect(f).toMatch(/^syscall\//);
  });

  it('the pure parts import no node:fs, koffi or the syscall layer', () => {
    let checked = 0;
    for (const [file, specs] of graph) {
      if (!PURE.some((re) => re.test(file))) continue;
      checked++;
      for (const s of specs) {
        expect(s, `${file} imports ${s}`).not.toMatch(/^(node:)?fs(\/promises)?$|^koffi$/);
        if (s.startsWith('.')) expect(unitOf(target(file, s)), `${file} imports ${s}`).not.toBe('syscall');
      }
    }
    expect(checked).toBeGreaterThan(25);
  });

  it('no folder imports a folder above it', () => {
    const upward: string[] = [];
    for (const [file, specs] of graph) {
      const from = LAYERS.indexOf(unitOf(file));
      for (const s of specs.filter((s) => s.startsWith('.'))) {
        const to = unitOf(target(file, s));
        if (to !== unitOf(file) && LAYERS.indexOf(to) > from) upward.push(`${file} -> ${s}`);
      }
    }
    expect(upward).toEqual([]);
  });
});
