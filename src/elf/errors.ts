import { TsbpfError } from '../errors.ts';
/** A malformed or unsupported ELF file. The message names the object, section and byte offset. */
export class ElfError extends TsbpfError {
  override readonly name = 'ElfError';
  constructor(
    message: string,
    /** Byte offset in the file where the problem was found, when known. */
    readonly offset?: number,
  ) {
    super(message);
  }
}
