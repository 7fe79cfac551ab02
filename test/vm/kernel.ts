// Fetches Debian bookworm kernel packages into the cache, and derives from
// each what its guest boots: the uncompressed vmlinux, the kernel config, the
// few modules the initramfs needs (9p over virtio-mmio, virtio serial ports)
// and a few more that tests load themselves (netfilter conntrack, for module
// BTF and module kfuncs). Everything is cached under
// .cache/vm/<package>_<version>/, one directory per kernel.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractVmlinux } from './bzimage.ts';
import { readModule, resolveModules } from './modules.ts';

/** One kernel of the matrix. */
export interface KernelSpec {
  /** Short name used on the command line (`--kernel 6.12`). */
  id: string;
  /** Debian package and exact version (`apt-cache madison <package>` lists what the mirror has). */
  package: string;
  version: string;
  /** uname -r in the guest. */
  release: string;
  /** Rough download size, for the log line. */
  sizeMb: number;
}

/** The kernels the VM suite runs on, oldest first. */
export const KERNELS: readonly KernelSpec[] = [
  { id: '6.1', package: 'linux-image-6.1.0-50-amd64', version: '6.1.176-1', release: '6.1.0-50-amd64', sizeMb: 70 },
  // bookworm-security's backport of trixie's kernel: kprobe.multi (CONFIG_FPROBE), uprobe.multi, BPF tokens
  { id: '6.12', package: 'linux-image-6.12.118+deb12-amd64', version: '6.12.118-1~deb12u1', release: '6.12.118+deb12-amd64', sizeMb: 107 },
];

/** Looks a kernel up by its id; throws naming the ids there are. */
export function kernelById(id: string): KernelSpec {
  const k = KERNELS.find((x) => x.id === id);
  if (!k) throw new Error(`unknown kernel "${id}": choose one of ${KERNELS.map((x) => x.id).join(', ')} (or all)`);
  return k;
}

/** What the guest loads with insmod at boot (dependencies added; built-in ones skipped). */
export const GUEST_MODULES = ['virtio_mmio', '9pnet_virtio', '9p', 'virtio_console'];
/**
 * Modules the tests may load themselves (from the cache, listed in extra.load).
 * crc32c_generic is libcrc32c's `softdep=pre: crc32c` (an alias we do not
 * resolve): without it libcrc32c, and so nf_conntrack, fails to load.
 */
export const EXTRA_MODULES = ['crc32c_generic', 'nf_conntrack'];

export interface KernelArtifacts {
  spec: KernelSpec;
  dir: string;
  release: string;
  vmlinux: string;
  config: string;
  /** Boot modules: [name, path] in load order. */
  modules: [string, string][];
  /** Directory with the extra modules (`<name>.ko`) and `extra.load`, their load order. */
  extraDir: string;
}

const log = (msg: string) => process.stderr.write(`[vm] ${msg}\n`);

export function prepareKernel(cacheRoot: string, spec: KernelSpec): KernelArtifacts {
  const dir = join(cacheRoot, `${spec.package}_${spec.version}`);
  const stamp = join(dir, 'ready.json');
  if (existsSync(stamp)) {
    const meta = JSON.parse(readFileSync(stamp, 'utf8')) as { modules: string[]; extra?: string[]; extraWanted?: string[] };
    if (meta.extra && meta.extraWanted?.join() === EXTRA_MODULES.join()) {
      return {
        spec,
        dir,
        release: spec.release,
        vmlinux: join(dir, 'vmlinux'),
        config: join(dir, `config-${spec.release}`),
        modules: meta.modules.map((m) => [m, join(dir, 'modules', `${m}.ko`)]),
        extraDir: join(dir, 'extra'),
      };
    }
    // a cache made for another list of extra modules: unpack again (the .deb is kept)
  }
  mkdirSync(dir, { recursive: true });

  const debName = `${spec.package}_${spec.version}_amd64.deb`;
  const deb = join(dir, debName);
  if (!existsSync(deb)) {
    log(`downloading ${spec.package}=${spec.version} (about ${spec.sizeMb} MB) with apt-get download`);
    const dl = mkdtempSync(join(dir, 'dl-'));
    chmodSync(dl, 0o777); // apt drops privileges to _apt for the download
    try {
      execFileSync('apt-get', ['download', `${spec.package}=${spec.version}`], { cwd: dl, stdio: ['ignore', 'ignore', 'inherit'] });
    } catch (e) {
      rmSync(dl, { recursive: true, force: true });
      throw new Error(
        `apt-get download ${spec.package}=${spec.version} failed (run "apt-get update" first; ` +
          `"apt-cache madison ${spec.package}" lists what the mirror offers): ${(e as Error).message}`,
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
    const bz = readFileSync(join(root, 'boot', `vmlinuz-${spec.release}`));
    const { vmlinux, codec } = extractVmlinux(bz);
    log(`extracted vmlinux (${codec} payload, ${(vmlinux.length / 2 ** 20).toFixed(1)} MiB)`);
    writeFileSync(join(dir, 'vmlinux.tmp'), vmlinux);
    renameSync(join(dir, 'vmlinux.tmp'), join(dir, 'vmlinux'));
    copyFileSync(join(root, 'boot', `config-${spec.release}`), join(dir, `config-${spec.release}`));
    // (Debian's System.map is a stub pointing at the -dbg package: not kept)

    // Modules are stored uncompressed (6.12's package ships them as .ko.xz):
    // busybox insmod then needs no decompressor.
    const modRoot = join(root, 'lib', 'modules', spec.release);
    // (file by file through a rename: a concurrent run may be reading the old ones)
    const copyAll = (mods: [string, string][], to: string) => {
      mkdirSync(to, { recursive: true });
      for (const [name, path] of mods) {
        writeFileSync(join(to, `${name}.ko.${process.pid}.tmp`), readModule(path));
        renameSync(join(to, `${name}.ko.${process.pid}.tmp`), join(to, `${name}.ko`));
      }
    };
    const mods = resolveModules(modRoot, GUEST_MODULES);
    copyAll(mods, join(dir, 'modules'));
    const extra = resolveModules(modRoot, EXTRA_MODULES);
    copyAll(extra, join(dir, 'extra'));
    writeFileSync(join(dir, 'extra', 'extra.load'), extra.map(([n]) => n).join('\n') + '\n');
    writeFileSync(
      stamp,
      JSON.stringify({ package: spec.package, version: spec.version, modules: mods.map(([n]) => n), extraWanted: EXTRA_MODULES, extra: extra.map(([n]) => n) }, null, 2),
    );
    return prepareKernel(cacheRoot, spec);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
