import { TsbpfError } from '../errors.ts';
/**
 * A map that cannot be described, created or used as asked. The message names
 * the map and the reason: `map "events": key_size must be 0 for a ringbuf map`.
 * `cause` carries the underlying BpfSyscallError when the kernel refused.
 */
export class MapError extends TsbpfError {
  readonly mapName: string;
  readonly reason: string;
  constructor(mapName: string, reason: string, options?: { cause?: unknown }) {
    super(`map ${JSON.stringify(mapName)}: ${reason}`, options);
    this.name = 'MapError';
    this.mapName = mapName;
    this.reason = reason;
  }
}
