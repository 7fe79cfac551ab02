// Kernel configuration for `.kconfig` externs: where libbpf reads it
// (/proc/config.gz, else /boot/config-$(uname -r)), parsed into name -> raw
// value ("y", "m", "\"str\"", "1000"; "n" for "# CONFIG_X is not set").
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { builtin } from '../util/builtin.ts';

/** Parse the text of a kernel .config. Pure. */
export function parseKconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const unset = /^# (CONFIG_\w+) is not set$/.exec(line);
    if (unset) {
      out.set(unset[1]!, 'n');
      continue;
    }
    if (!line.startsWith('CONFIG_')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

/** The running kernel's config, or undefined when neither source exists. `path` overrides the search. */
export function readKernelConfig(path?: string): { source: string; values: Map<string, string> } | undefined {
  const candidates = path ? [path] : ['/proc/config.gz', `/boot/config-${release()}`];
  for (const p of candidates) {
    if (!existsSync(p)) continue;
    const bytes = readFileSync(p);
    const text = p.endsWith('.gz') ? builtin<typeof import('node:zlib')>('node:zlib').gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
    return { source: p, values: parseKconfig(text) };
  }
  return undefined;
}

/** LINUX_KERNEL_VERSION as libbpf computes it: KERNEL_VERSION(major, minor, min(patch, 255)). */
export function kernelVersionCode(releaseString = release()): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(releaseString);
  if (!m) return 0;
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(255, Number(m[3] ?? 0));
}

