import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'controlplane/**/*.test.ts',
      'nodeagent/**/*.test.ts',
      'cli/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real etcd, registry and runc processes; two cores
    // do not take many of those at once.
    maxWorkers: 2,
    reporters: ['default', 'json'],
    outputFile: { json: '.tmp/vitest.json' },
  },
});
