// Fetches Debian bookworm's 6.1 kernel package into the cache, and derives
// from it what the guest boots: the uncompressed vmlinux, the kernel config
// and the few modules the initramfs needs (9p over virtio-mmio, virtio
// serial ports). Everything is cached under .cache/vm/<package>_<version>/.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractVmlinux } from './bzimage.ts';
import { resolveModules } from './modules.ts';

/** The exact kernel we test against (bookworm/main, 6.1.176-1). */
export const KERNEL_ABI = '6.1.0-50';
export const KERNEL_PACKAGE = `linux-image-${KERNEL_ABI}-amd64`;
export const KERNEL_VERSION = '6.1.176-1';
export const KERNEL_RELEASE = `${KERNEL_ABI}-amd64`; // uname -r in the guest

/** What the guest loads with insmod (dependencies are added automatically). */
export const GUEST_MODULES = ['virtio_mmio', '9pnet_virtio', '9p', 'virtio_console'];

export interface KernelArtifacts {
  dir: string;
  release: string;
  vmlinux: string;
  config: string;
  /** [name, path] in load order. */
  modules: [string, string][];
}

const log = (msg: string) => process.stderr.write(`[vm] ${msg}\n`);

export function prepareKernel(cacheRoot: string): KernelArtifacts {
  const dir = join(cacheRoot, `${KERNEL_PACKAGE}_${KERNEL_VERSION}`);
  const stamp = join(dir, 'ready.json');
  if (existsSync(stamp)) {
    const meta = JSON.parse(readFileSync(stamp, 'utf8')) as { modules: string[] };
    return {
      dir,
      release: KERNEL_RELEASE,
      vmlinux: join(dir, 'vmlinux'),
      config: join(dir, `config-${KERNEL_RELEASE}`),
      modules: meta.modules.map((m) => [m, join(dir, 'modules', `${m}.ko`)]),
    };
  }
  mkdirSync(dir, { recursive: true });

  const debName = `${KERNEL_PACKAGE}_${KERNEL_VERSION}_amd64.deb`;
  const deb = join(dir, debName);
  if (!existsSync(deb)) {
    log(`downloading ${KERNEL_PACKAGE}=${KERNEL_VERSION} (about 70 MB) with apt-get download`);
    const dl = mkdtempSync(join(dir, 'dl-'));
    chmodSync(dl, 0o777); // apt drops privileges to _apt for the download
    try {
      execFileSync('apt-get', ['download', `${KERNEL_PACKAGE}=${KERNEL_VERSION}`], { cwd: dl, stdio: ['ignore', 'ignore', 'inherit'] });
    } catch (e) {
      rmSync(dl, { recursive: true, force: true });
      throw new Error(
        `apt-get download ${KERNEL_PACKAGE}=${KERNEL_VERSION} failed (run "apt-get update" first; ` +
          `"apt-cache madison ${KERNEL_PACKAGE}" lists what the mirror offers): ${(e as Error).message}`,
      );
    }
    const got = readdirSync(dl).find((f) => f.endsWith('.deb'));
    if (!got) throw new Error(`apt-get download produced no .deb in ${dl}`);
    renameSync(join(dl, got), deb);
    rmSync(dl, { recursive: true, force: true });
  }

  log(`unpacking ${debName} with dpkg-deb -x`);
  const root = mkdtempSync(join(dir, 'unpack-'));
  try {
    execFileSync('dpkg-deb', ['-x', deb, root], { stdio: 'inherit' });
    const bz = readFileSync(join(root, 'boot', `vmlinuz-${KERNEL_RELEASE}`));
    const { vmlinux, codec } = extractVmlinux(bz);
    log(`extracted vmlinux (${codec} payload, ${(vmlinux.length / 2 ** 20).toFixed(1)} MiB)`);
    writeFileSync(join(dir, 'vmlinux.tmp'), vmlinux);
    renameSync(join(dir, 'vmlinux.tmp'), join(dir, 'vmlinux'));
    copyFileSync(join(root, 'boot', `config-${KERNEL_RELEASE}`), join(dir, `config-${KERNEL_RELEASE}`));
    // (Debian's System.map is a stub pointing at the -dbg package: not kept)

    const mods = resolveModules(join(root, 'lib', 'modules', KERNEL_RELEASE), GUEST_MODULES);
    mkdirSync(join(dir, 'modules'), { recursive: true });
    for (const [name, path] of mods) copyFileSync(path, join(dir, 'modules', `${name}.ko`));
    writeFileSync(stamp, JSON.stringify({ package: KERNEL_PACKAGE, version: KERNEL_VERSION, modules: mods.map(([n]) => n) }, null, 2));
    return prepareKernel(cacheRoot);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
