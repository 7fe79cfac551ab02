// Where `btf dump --format ts` and `gen skeleton` meet the TypeScript code
// generators (src/codegen/ts_types.ts, src/skel/generate.ts). When a build
// lacks them, these say so on one line and the command exits 2.
import type { Btf } from '../btf/index.ts';
import { TsbpfError } from '../errors.ts';

export class NotAvailableError extends TsbpfError {
  /** The exit code `tsbpf` uses for it: the command exists, this build cannot run it. */
  readonly exitCode = 2;
}

export function tsTypes(_btf: Btf, _roots: number[] | 'all'): string {
  throw new NotAvailableError('TypeScript output is not available in this build (no TypeScript type generator: src/codegen/ts_types.ts)');
}

export interface SkeletonOptions { name?: string; types?: string[]; embed?: boolean; objectPath?: string; importFrom?: string }

export function skeleton(_object: Uint8Array, _opts: SkeletonOptions): string {
  throw new NotAvailableError('skeleton generation is not available in this build (no skeleton generator: src/skel/generate.ts)');
}
