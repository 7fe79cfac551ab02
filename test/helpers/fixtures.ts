// C test programs (test/fixtures/*.c) built into test/build/ with cc. The VM
// runner builds them on the host before booting (the guest sees the repo
// read-only, and compiling under TCG is slow); host tests build them when
// missing or older than their source.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '..', '..');
export const BUILD_DIR = join(REPO, 'test', 'build');
/** The fixtures the VM suite runs. */
export const VM_FIXTURES = ['multi_target', 'tcp_cc_client', 'token_userns'];

/** test/build/<name>, built from test/fixtures/<name>.c when missing or stale (never inside the VM). */
export function fixtureBinary(name: string): string {
  const src = join(REPO, 'test', 'fixtures', `${name}.c`);
  const bin = join(BUILD_DIR, name);
  const fresh = existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs;
  if (fresh) return bin;
  if (process.env.TSBPF_VM === '1') throw new Error(`${bin} is missing or older than ${src}: test/vm/run.ts builds it on the host before booting`);
  mkdirSync(BUILD_DIR, { recursive: true });
  execFileSync('cc', ['-O1', '-g', '-o', bin, src]);
  return bin;
}
