import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Stops what each file started and drops its PostgreSQL databases (kept when a test failed).
    setupFiles: ['test/support/file-lifecycle.ts'],
    pool: 'forks',
    // Two cores: each test file gets its own database, and PGlite instances are memory-hungry.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
