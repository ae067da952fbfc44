import { defineConfig } from 'vitest/config';

// Unit tests live next to the code (`src/**/*.test.ts`, `server/**/*.test.ts`,
// `demo/**/*.test.ts`); integration tests that start a real server live in `test/`.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'server/**/*.test.ts', 'demo/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // A redis-server of the run's own, on a free port, for the tests of the Redis engine.
    globalSetup: ['test/global-redis.ts'],
  },
});
