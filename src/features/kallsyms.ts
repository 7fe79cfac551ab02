// The one reader of /proc/kallsyms: kernel symbol names and addresses (kprobe
// targets, the syscall wrapper prefix, typeless __ksym externs). The text is
// read once per process (a documented cache, in ./cache.ts).
import { existsSync, readFileSync } from 'node:fs';
import { cached } from './cache.ts';

export const KALLSYMS_PATH = '/proc/kallsyms';

/** The whole of /proc/kallsyms, or '' when it cannot be read. */
function kallsymsText(): string {
  return cached('kallsyms', () => (existsSync(KALLSYMS_PATH) ? readFileSync(KALLSYMS_PATH, 'utf8') : ''));
}

/** Is `name` a kernel symbol? undefined when /proc/kallsyms is unreadable. */
export function kernelSymbolExists(name: string): boolean | undefined {
  const text = kallsymsText();
  if (!text) return undefined;
  // lines are "<addr> <type> <name>[\t[module]]"
  return text.includes(` ${name}\n`) || text.includes(` ${name}\t`);
}

/**
 * Addresses of the kernel symbols in `names` (the first of each name). Zero
 * addresses mean kallsyms is hidden from us (kptr_restrict).
 */
export function kernelSymbolAddresses(names: ReadonlySet<string>): Map<string, bigint> {
  const out = new Map<string, bigint>();
  if (names.size === 0) return out;
  // "ffffffff81000000 T _stext\t[module]": address, type, name, optional module
  for (const line of kallsymsText().split('\n')) {
    const s1 = line.indexOf(' ');
    const s2 = line.indexOf(' ', s1 + 1);
    if (s1 <= 0 || s2 <= 0) continue;
    const tab = line.indexOf('\t', s2 + 1);
    const name = tab < 0 ? line.slice(s2 + 1) : line.slice(s2 + 1, tab);
    if (names.has(name) && !out.has(name)) out.set(name, BigInt('0x' + line.slice(0, s1)));
  }
  return out;
}
