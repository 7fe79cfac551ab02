// BPF tokens (Linux 6.9+), shared by the host suite and the VM suite: a
// program loads through a token as a non-root user in a user namespace that
// owns a delegated bpffs (test/fixtures/token_userns.c sets it up), and the
// same load without the token fails with EPERM.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BpfObject } from '../../src/object/index.ts';
import { fixtureBinary } from './fixtures.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
const NOBODY = 65534;

/** `supported`: undefined (probe: a kernel that refuses tokens is a skip), true (must work). */
export function tokenTests(label: string, supported: boolean | undefined): void {
  describe(`BPF tokens (${label})`, () => {
    it('a non-root user in a user namespace loads a program through a token from its delegated bpffs, and gets EPERM without it', (ctx) => {
      const helper = fixtureBinary('token_userns');
      // tsx as a loader (its CLI's IPC socket and cache would land in root's /tmp/tsx-0), a temp dir nobody can write
      const tmp = mkdtempSync(join(tmpdir(), 'token-'));
      chmodSync(tmp, 0o777);
      const r = spawnSync(helper, [String(NOBODY), process.execPath, '--import', 'tsx', join(REPO, 'test', 'helpers', 'token_child.ts')], {
        encoding: 'utf8',
        cwd: REPO,
        timeout: 120_000,
        // the guest runs chrooted into the host's root, mounted at /host (test/vm/init.sh)
        env: { ...process.env, HOME: tmp, TMPDIR: tmp, ...(process.env.TSBPF_VM === '1' ? { TSBPF_ESCAPE_CHROOT: '/host' } : {}) },
      });
      rmSync(tmp, { recursive: true, force: true });
      expect(r.status, `${r.stderr} (signal ${r.signal})`).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, string | number | string[]>;
      // root inside, nobody outside
      expect(out.uid).toBe(0);
      expect(out.uidMap).toEqual(['0', String(NOBODY), '1']);
      expect(out.withoutToken, String(out.withoutTokenMessage)).toBe('EPERM');
      if (out.withToken !== 'loaded' && supported === undefined && /BPF_TOKEN_CREATE|EINVAL|EPERM/.test(String(out.withToken))) {
        return ctx.skip(`this kernel refused the token: ${out.withToken}`);
      }
      expect(out.withToken).toBe('loaded');
      // the same program as root, without a token: same tag
      const o = BpfObject.openAndLoad(join(REPO, 'bpf', 'minimal.bpf.o'));
      try {
        expect(out.tag).toBe(o.program('handle_tp').prog!.tag());
      } finally {
        void o.destroy();
      }
    });
  });
}
