// Vitest config for the suite that runs INSIDE the 6.1 guest (npm run test:vm).
// The repo is mounted read-only there: nothing may be written under it, so
// caches go to the guest's tmpfs /tmp and coverage stays off.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  cacheDir: '/tmp/tsbpf-vitest-cache',
  // generated skeletons import 'tsbpf': inside the repo that is src/
  resolve: { alias: [{ find: /^tsbpf$/, replacement: fileURLToPath(new URL('../../src/index.ts', import.meta.url)) }] },
  test: {
    include: ['test/vm/suite/**/*.test.ts'],
    exclude: ['node_modules/**'],
    pool: 'forks',
    // Guest code runs 5-20x slower than native under TCG.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    coverage: { enabled: false },
    watch: false,
    reporters: ['default'],
  },
});
