// Run by test/fixtures/token_userns as an unprivileged user inside a user
// namespace, with TSBPF_TEST_BPFFS pointing at a bpffs that delegates to that
// namespace: loads bpf/minimal.bpf.o without a token, then with one, and
// prints what happened as one JSON line.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BpfObject } from '../../src/object/index.ts';

const OBJ = join(resolve(import.meta.dirname, '..', '..'), 'bpf', 'minimal.bpf.o');

/** The errno name somewhere in an error's cause chain. */
function codeOf(err: unknown): string {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 8; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
  }
  return `no errno: ${(err as Error).message}`;
}

const out: Record<string, unknown> = { uidMap: readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/), uid: process.getuid!() };
try {
  const o = BpfObject.open(OBJ);
  o.load();
  out.withoutToken = 'loaded';
  await o.destroy();
} catch (e) {
  out.withoutToken = codeOf(e);
  out.withoutTokenMessage = (e as Error).message;
}
try {
  const o = BpfObject.open(OBJ, { bpfTokenPath: process.env.TSBPF_TEST_BPFFS });
  o.load();
  out.withToken = 'loaded';
  out.tag = o.program('handle_tp').prog!.tag();
  await o.destroy();
} catch (e) {
  out.withToken = (e as Error).message;
}
console.log(JSON.stringify(out));
