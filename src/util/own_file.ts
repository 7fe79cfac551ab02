// Where a module of ours is on disk. In the ESM sources (tsx, vitest),
// import.meta.url names the module itself; in the CommonJS bundle the build
// defines import.meta.url away, and __filename is the bundle (dist/tsbpf.cjs).
// import.meta.url is asked first: `node -e` and eval workers define a global
// __filename ('[eval]') that names no file.
import { fileURLToPath } from 'node:url';

/** The file of the module whose `import.meta.url` is given. */
export function ownFile(importMetaUrl: string | undefined): string {
  return typeof importMetaUrl === 'string' ? fileURLToPath(importMetaUrl) : __filename;
}
