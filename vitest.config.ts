import { defineConfig } from 'vitest/config';

export default defineConfig({
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
