// What a VM test knows about the guest it runs in: which kernel of the
// matrix (TSBPF_VM_KERNEL, set by test/vm/run.ts), its version and config
// (the kernel has no /proc/config.gz: the runner copies /boot/config-<ver>
// into the guest), and the extra modules it may load. Tests use these to
// skip with a named reason on kernels that lack a feature.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';

export const inGuest = process.env.TSBPF_VM === '1';
/** The matrix id: "6.1" or "6.12" (undefined outside the guest). */
export const guestKernelId = process.env.TSBPF_VM_KERNEL;

/** [major, minor] of the running kernel. */
export function kernelVersion(): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release());
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/** True when the running kernel is at least major.minor. */
export function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = kernelVersion();
  return a > major || (a === major && b >= minor);
}

let config: Map<string, string> | undefined;
/** CONFIG_* values of the running kernel, from /boot/config-$(uname -r). */
export function kernelConfig(): Map<string, string> {
  if (config) return config;
  config = new Map();
  const f = `/boot/config-${release()}`;
  if (existsSync(f)) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      const m = /^(CONFIG_\w+)=(.*)$/.exec(line);
      if (m) config.set(m[1]!, m[2]!);
    }
  }
  return config;
}

/** Undefined when CONFIG_<name> is y (or m), else a skip reason naming it and the kernel. */
export function needsConfig(name: string): string | undefined {
  const v = kernelConfig().get(name);
  return v === 'y' || v === 'm' ? undefined : `${name} is not set in kernel ${release()}`;
}

/** Undefined on major.minor or later, else a skip reason naming the feature. */
export function needsKernel(major: number, minor: number, what: string): string | undefined {
  return kernelAtLeast(major, minor) ? undefined : `${what} needs Linux ${major}.${minor}+, this guest runs ${release()}`;
}

/**
 * Loads a module the runner staged (TSBPF_VM_MODULES/extra.load lists them in
 * dependency order) with busybox insmod, unless it is loaded already.
 */
export function loadModule(name: string): void {
  if (existsSync(`/sys/module/${name}`)) return;
  const dir = process.env.TSBPF_VM_MODULES;
  if (!dir) throw new Error('TSBPF_VM_MODULES is not set (run through npm run test:vm)');
  const order = readFileSync(join(dir, 'extra.load'), 'utf8').split('\n').filter(Boolean);
  const upto = order.indexOf(name);
  if (upto < 0) throw new Error(`module ${name} is not staged (test/vm/kernel.ts EXTRA_MODULES)`);
  for (const m of order.slice(0, upto + 1)) {
    if (!existsSync(`/sys/module/${m}`)) execFileSync('busybox', ['insmod', join(dir, `${m}.ko`)], { stdio: 'inherit' });
  }
}
