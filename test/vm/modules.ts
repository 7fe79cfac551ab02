// Kernel module dependency resolution without depmod: the Debian package
// ships no modules.dep (depmod runs at install time), so we read each
// module's `.modinfo` section ("depends=a,b") straight from the ELF file.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Kernel module names treat '-' and '_' alike. */
export const normalizeModName = (s: string): string => s.replace(/-/g, '_');

/** Reads the `.modinfo` key=value strings of a relocatable ELF64 module. */
export function readModinfo(ko: Buffer): Map<string, string[]> {
  if (ko.readUInt32BE(0) !== 0x7f454c46 || ko[4] !== 2 || ko[5] !== 1) {
    throw new Error('not a little-endian ELF64 file');
  }
  const shoff = Number(ko.readBigUInt64LE(0x28));
  const shentsize = ko.readUInt16LE(0x3a);
  const shnum = ko.readUInt16LE(0x3c);
  const shstrndx = ko.readUInt16LE(0x3e);
  const sh = (i: number) => {
    const o = shoff + i * shentsize;
    return { name: ko.readUInt32LE(o), offset: Number(ko.readBigUInt64LE(o + 0x18)), size: Number(ko.readBigUInt64LE(o + 0x20)) };
  };
  const strtab = sh(shstrndx);
  const cstr = (off: number) => {
    const end = ko.indexOf(0, off);
    return ko.toString('latin1', off, end);
  };
  const out = new Map<string, string[]>();
  for (let i = 0; i < shnum; i++) {
    const s = sh(i);
    if (cstr(strtab.offset + s.name) !== '.modinfo') continue;
    for (const kv of ko.toString('latin1', s.offset, s.offset + s.size).split('\0')) {
      const eq = kv.indexOf('=');
      if (eq <= 0) continue;
      const k = kv.slice(0, eq);
      out.set(k, [...(out.get(k) ?? []), kv.slice(eq + 1)]);
    }
  }
  return out;
}

/** A module file's ELF bytes: `*.ko` as is, `*.ko.xz` (6.12's packaging) through `xz -dc`. */
export function readModule(path: string): Buffer {
  if (!path.endsWith('.xz')) return readFileSync(path);
  return execFileSync('xz', ['-dc', path], { maxBuffer: 256 << 20 });
}

/** Indexes every `*.ko` and `*.ko.xz` below `dir` by normalized module name. */
export function indexModules(dir: string): Map<string, string> {
  const idx = new Map<string, string>();
  for (const ent of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const m = ent.isFile() ? /^(.*)\.ko(\.xz)?$/.exec(ent.name) : null;
    if (m) idx.set(normalizeModName(m[1]!), join(ent.parentPath, ent.name));
  }
  return idx;
}

/** Names of the modules built into the kernel (`modules.builtin`: paths like kernel/drivers/char/virtio_console.ko). */
export function builtinModules(dir: string): Set<string> {
  const f = join(dir, 'modules.builtin');
  if (!existsSync(f)) return new Set();
  return new Set(
    readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => normalizeModName(l.slice(l.lastIndexOf('/') + 1).replace(/\.ko$/, ''))),
  );
}

/**
 * The wanted modules plus their dependencies, in load order (dependencies
 * first); those built into the kernel are left out (6.12 builds in
 * virtio_console, 6.1 has it as a module). Returns [name, path] pairs.
 */
export function resolveModules(modDir: string, wanted: string[]): [string, string][] {
  const idx = indexModules(modDir);
  const builtin = builtinModules(modDir);
  const order: [string, string][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, from: string) => {
    name = normalizeModName(name);
    const st = state.get(name);
    if (st === 'done' || builtin.has(name)) return;
    if (st === 'visiting') throw new Error(`module dependency cycle at ${name}`);
    const path = idx.get(name);
    if (!path) throw new Error(`module ${name} (needed by ${from}) not found under ${modDir}`);
    state.set(name, 'visiting');
    const deps = (readModinfo(readModule(path)).get('depends') ?? []).flatMap((d) => d.split(',')).filter(Boolean);
    for (const d of deps) visit(d, name);
    state.set(name, 'done');
    order.push([name, path]);
  };
  for (const w of wanted) visit(w, 'the guest');
  return order;
}
