// Where `btf dump --format ts` and `gen skeleton` meet the TypeScript code
// generator. Until that generator is part of the library, they exit with a
// clear "not available" line.
import type { Btf } from '../btf/index.ts';
import { TsbpfError } from '../errors.ts';

export class NotAvailableError extends TsbpfError {}

export function tsTypes(_btf: Btf, _roots: number[] | 'all'): string {
  throw new NotAvailableError('TypeScript output is not available in this build (src/codegen/ts_types.ts is missing)');
}
