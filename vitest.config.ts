import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Oracle and interop suites build network namespaces by name; run files one at a time there.
    fileParallelism: true,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // bin/ptnet-ts.js, spawned by the CLI tests, then runs the TypeScript sources (tsx), not dist/.
    env: { PTNET_TS_SOURCES: '1' },
  },
});
