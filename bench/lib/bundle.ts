// A bench's measured side, bundled to one plain-JS file and run with `node`:
// no tsx in the measured process (its module loader runs on a thread of its
// own, with its own heap and collections), as a user's tool would ship.
import { rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'c', 'build');

/**
 * Bundle `entry` (TypeScript) into bench/c/build (inside the repo, so that koffi
 * and debug resolve from its node_modules), one file per bench process, removed
 * at exit; returns its path. esbuild is loaded here, in the parent only.
 */
export async function bundleForNode(entry: string): Promise<string> {
  const out = join(BUILD, `${basename(entry, '.ts')}.${process.pid}.mjs`);
  process.on('exit', () => rmSync(out, { force: true }));
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out,
    // esbuild: a bench that bundles itself imports it (in the parent only)
    external: ['koffi', 'debug', 'esbuild'],
    // koffi and debug are CommonJS: give the ESM bundle a require() that resolves from the repo
    banner: { js: `import { createRequire as __cr } from 'node:module'; const require = __cr(${JSON.stringify(entry)});` },
    // generated skeletons import 'tsbpf': the sources of this repo
    alias: { tsbpf: join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'index.ts') },
    logLevel: 'error',
  });
  return out;
}
