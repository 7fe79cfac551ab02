// Loading koffi. `require('koffi')` costs ~6.5 ms in a fresh process, of which
// the native addon itself (dlopen and its initialization) is ~2: the rest is
// koffi's loader, compiled on every start (it is not ours, so our compile
// cache does not hold it), probing its platform packages and reading the
// node binary's ELF headers to tell glibc from musl. A tool that loads one
// BPF object pays that on every run, so the addon is required straight from
// the platform package koffi itself would pick, under the same checks:
//  - the package is koffi's own platform package (@koromix/koffi-<os>-<arch>),
//    found from where koffi is installed;
//  - the binary is the glibc or the musl one, chosen by the interpreter the
//    node binary names (PT_INTERP), as koffi's loader does;
//  - the platform package's version, and the addon's, is the version of the
//    koffi package we resolved.
// Anything else (another layout, another koffi, a check failing) falls back
// to `require('koffi')`. The addon is required by path, so a program that also
// imports koffi shares this instance (require's cache is keyed by the real path).
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Koffi from 'koffi';
import { ownFile } from '../util/own_file.ts';

export type KoffiApi = typeof Koffi;

const here = ownFile(import.meta.url);

/** koffi: its native addon when it can be loaded directly (see above), else koffi's own loader. */
export function loadKoffi(): KoffiApi {
  const require = createRequire(here);
  let direct: KoffiApi | undefined;
  try {
    direct = nativeAddon(require);
  } catch {
    direct = undefined; // an unexpected layout: koffi's loader knows best
  }
  return direct ?? (require('koffi') as KoffiApi);
}

function nativeAddon(require: NodeJS.Require): KoffiApi | undefined {
  if (process.platform !== 'linux') return undefined;
  const koffiDir = packageDir(require, 'koffi');
  if (!koffiDir) return undefined;
  const version = versionOf(koffiDir);
  const pkgDir = packageDir(createRequire(join(koffiDir, 'package.json')), `@koromix/koffi-linux-${process.arch}`);
  // koffi pins its platform packages to its own version: another one belongs to another koffi (not loaded at all)
  if (!pkgDir || versionOf(pkgDir) !== version) return undefined;
  const binary = join(pkgDir, `${interpreterIsMusl() ? 'musl' : 'linux'}_${process.arch}`, 'koffi.node');
  if (!existsSync(binary)) return undefined;
  const addon = require(binary) as KoffiApi & { version?: string };
  return addon.version === version ? addon : undefined;
}

function versionOf(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The directory of package `name` as `require` would find it: the first
 * node_modules on its search path that has it. (Not require.resolve: koffi's
 * "exports" send that through the ESM resolver, ~1 ms of its first use.)
 */
function packageDir(require: NodeJS.Require, name: string): string | undefined {
  for (const dir of require.resolve.paths(name) ?? []) {
    if (existsSync(join(dir, name, 'package.json'))) return join(dir, name);
  }
  return undefined;
}

/** Whether the node binary's ELF interpreter (PT_INTERP) is musl's ld-musl-*, as koffi's loader decides. */
function interpreterIsMusl(): boolean {
  const fd = openSync(process.execPath, 'r');
  try {
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    // a 64-bit little-endian ELF: e_phoff at 32, e_phentsize at 54, e_phnum at 56 (else let koffi decide)
    if (n < 64 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) throw new Error('not a 64-bit little-endian ELF');
    const phoff = Number(head.readBigUInt64LE(32));
    const phentsize = head.readUInt16LE(54);
    const phnum = head.readUInt16LE(56);
    if (phentsize < 56 || phoff + phnum * phentsize > n) throw new Error('program headers past the first page');
    for (let i = 0; i < phnum; i++) {
      const ph = phoff + i * phentsize;
      if (head.readUInt32LE(ph) !== 3) continue; // PT_INTERP
      const off = Number(head.readBigUInt64LE(ph + 8));
      const size = Number(head.readBigUInt64LE(ph + 32));
      const interp = Buffer.alloc(size);
      readSync(fd, interp, 0, size, off);
      return /\/ld-musl-[^/]*$/.test(interp.toString('latin1').replace(/\0.*$/s, ''));
    }
    throw new Error('no PT_INTERP'); // a static node: koffi's loader has its own order for that
  } finally {
    closeSync(fd);
  }
}
