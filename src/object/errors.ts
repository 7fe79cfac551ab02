import { TsbpfError } from '../errors.ts';
/**
 * An object (a `.bpf.o`) could not be parsed or loaded. The message names the
 * object and, where it applies, the section, program or map.
 */
export class ObjectError extends TsbpfError {
  constructor(
    readonly object: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${object}: ${message}`, options);
    this.name = 'ObjectError';
  }
}
