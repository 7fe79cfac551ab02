import { readFileSync } from 'node:fs';

/** /proc/<pid>/stat fields, 1-based as in proc(5) (comm may contain spaces: split after the last ')'). */
export function procStat(pid: number | 'self'): string[] {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const close = s.lastIndexOf(')');
  const comm = s.slice(s.indexOf('(') + 1, close);
  return ['', s.slice(0, s.indexOf(' ')), comm, ...s.slice(close + 2).trim().split(' ')];
}
