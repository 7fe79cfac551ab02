import { TsbpfError } from '../errors.ts';
/** Malformed BTF or a BTF question with no answer (unknown id, incomplete type, cycle). */
export class BtfError extends TsbpfError {
  override readonly name = 'BtfError';
  constructor(
    message: string,
    /** Byte offset in the BTF blob (or .BTF.ext section) where the problem was found, when known. */
    readonly offset?: number,
    /** errno-like class where a caller needs one (libbpf answers E2BIG for sizes that overflow). */
    readonly errnoClass: 'EINVAL' | 'E2BIG' = 'EINVAL',
  ) {
    super(message);
  }
}
