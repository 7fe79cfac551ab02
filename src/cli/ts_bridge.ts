// Where `btf dump --format ts` and `gen skeleton` meet the TypeScript code
// generators (src/codegen/ts_types.ts, src/skel/generate.ts).
import { resolve } from 'node:path';
import type { Btf } from '../btf/index.ts';
import { TsbpfError } from '../errors.ts';
import { emitTsTypes } from '../codegen/ts_types.ts';
import { generateSkeleton } from '../skel/generate.ts';

export class NotAvailableError extends TsbpfError {
  /** The exit code `tsbpf` uses for it: the command exists, this build cannot run it. */
  readonly exitCode = 2;
}

export function tsTypes(btf: Btf, roots: number[] | 'all'): string {
  return emitTsTypes(btf, roots);
}

export interface SkeletonOptions { name?: string; types?: string[]; embed?: boolean; objectPath?: string; importFrom?: string }

export function skeleton(object: Uint8Array, opts: SkeletonOptions): string {
  // without embedding, the skeleton reads the object at run time: an absolute path works wherever the module is written
  const objectPath = opts.embed === false && opts.objectPath ? resolve(opts.objectPath) : opts.objectPath;
  return generateSkeleton(object, { ...opts, objectPath });
}
