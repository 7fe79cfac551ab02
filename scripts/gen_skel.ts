// npm run gen:skel: a skeleton for every object in bpf/, written to
// bpf/skel/<name>.skel.ts (committed; test/skel.test.ts fails when one differs
// from what the generator writes now). The skeletons reference their object
// (../<name>.bpf.o) instead of embedding it, and import 'tsbpf'.
// Usage: npx tsx scripts/gen_skel.ts [--check]
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSkeleton } from '../src/skel/generate.ts';
import { TsbpfError } from '../src/errors.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BPF_DIR = join(REPO, 'bpf');
export const SKEL_DIR = join(BPF_DIR, 'skel');

/** Record and extra types per object (bpf2go's -type): ring/perf buffer records first. */
export const SKELETON_TYPES: Readonly<Record<string, readonly string[]>> = {
  bootstrap: ['event'],
  codec: ['kitchen'],
  uprobe: ['event', 'probe_kind'],
};

/** What the generator writes now for every object of bpf/: file name -> text, or the typed error an object gets. */
export function generateAll(): Map<string, { text?: string; error?: TsbpfError }> {
  const out = new Map<string, { text?: string; error?: TsbpfError }>();
  for (const f of readdirSync(BPF_DIR).filter((n) => n.endsWith('.bpf.o')).sort()) {
    const name = f.slice(0, -'.bpf.o'.length);
    try {
      const text = generateSkeleton(readFileSync(join(BPF_DIR, f)), { name, objectPath: `../${f}`, embed: false, types: SKELETON_TYPES[name] ?? [] });
      out.set(`${name}.skel.ts`, { text });
    } catch (e) {
      if (!(e instanceof TsbpfError)) throw e;
      out.set(`${name}.skel.ts`, { error: e });
    }
  }
  return out;
}

function main(): void {
  const check = process.argv.includes('--check');
  if (!existsSync(SKEL_DIR)) mkdirSync(SKEL_DIR);
  let stale = 0;
  for (const [file, r] of generateAll()) {
    if (r.error) {
      console.log(`${file}: not generated: ${r.error.message}`);
      continue;
    }
    const path = join(SKEL_DIR, file);
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (current === r.text) continue;
    stale++;
    if (check) console.log(`${file}: stale`);
    else {
      writeFileSync(path, r.text!);
      console.log(`${file}: written`);
    }
  }
  if (check && stale) process.exit(1);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
