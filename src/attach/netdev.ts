// Network interface names -> indexes, for XDP and tc attachments.
import { existsSync, readFileSync } from 'node:fs';
import { AttachError } from './errors.ts';

/** The ifindex of interface `dev` (a name, or already an index), with an error naming it. */
export function ifindexOf(dev: string | number, program: string, target: string): number {
  if (typeof dev === 'number') return dev;
  if (/^\d+$/.test(dev)) return Number(dev);
  const f = `/sys/class/net/${dev}/ifindex`;
  if (dev.includes('/') || !existsSync(f)) throw new AttachError(program, target, `network interface ${dev} does not exist in this network namespace (no ${f})`);
  return Number(readFileSync(f, 'utf8'));
}
