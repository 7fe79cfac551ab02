import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // generated skeletons import 'tsbpf': inside the repo that is src/ (as tsconfig's paths say)
  resolve: { alias: [{ find: /^tsbpf$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) }] },
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/vm/**', 'node_modules/**'],
    // Kernel tests create real objects; files run in separate processes so
    // fd-count checks see only their own descriptors.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
