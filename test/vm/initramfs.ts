// Builds the guest's initramfs: busybox-static, the init script, the
// modules (flat, with their load order in /etc/modules.load) and the kernel
// config. Uncompressed newc cpio: nothing to decompress under TCG.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeCpio, type CpioEntry } from './cpio.ts';
import type { KernelArtifacts } from './kernel.ts';

export const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'mount', 'umount', 'insmod', 'mkdir', 'ln', 'cat', 'cp', 'mv', 'echo', 'chroot', 'reboot', 'poweroff', 'sync', 'sleep', 'ls', 'dmesg', 'ip'];

export interface InitramfsOptions {
  msize: number;
  rootCache: string; // 9p cache option(s) for the host root, e.g. "cache=loose"
}

export function buildInitramfs(k: KernelArtifacts, initScriptPath: string, opts: InitramfsOptions): string {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} not found: apt-get install -y busybox-static`);
  const init = readFileSync(initScriptPath, 'utf8')
    .replaceAll('@MSIZE@', String(opts.msize))
    .replaceAll('@ROOT_CACHE@', opts.rootCache);
  const busybox = readFileSync(BUSYBOX);
  const entries: CpioEntry[] = [];
  for (const d of ['bin', 'dev', 'proc', 'sys', 'etc', 'lib', 'lib/modules', 'boot', 'host', 'scratch', 'tmp']) {
    entries.push({ type: 'dir', path: d });
  }
  entries.push({ type: 'file', path: 'init', data: init, mode: 0o755 });
  entries.push({ type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 });
  for (const a of APPLETS) entries.push({ type: 'symlink', path: `bin/${a}`, target: 'busybox' });
  for (const [name, path] of k.modules) entries.push({ type: 'file', path: `lib/modules/${name}.ko`, data: readFileSync(path) });
  entries.push({ type: 'file', path: 'etc/modules.load', data: k.modules.map(([n]) => n).join('\n') + '\n' });
  entries.push({ type: 'file', path: `boot/${basename(k.config)}`, data: readFileSync(k.config) });

  const cpio = writeCpio(entries);
  const hash = createHash('sha256').update(cpio).digest('hex').slice(0, 16);
  const out = join(k.dir, `initramfs-${hash}.cpio`);
  if (!existsSync(out)) {
    writeFileSync(`${out}.${process.pid}.tmp`, cpio);
    renameSync(`${out}.${process.pid}.tmp`, out);
    // drop initramfs images built from older init scripts (a concurrent run may still read one: unlinking is safe)
    for (const f of readdirSync(k.dir)) {
      if (/^initramfs-[0-9a-f]{16}\.cpio$/.test(f) && join(k.dir, f) !== out) rmSync(join(k.dir, f), { force: true });
    }
  }
  return out;
}
