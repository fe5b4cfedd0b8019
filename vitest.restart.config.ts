import path from 'node:path';
import { defineConfig } from 'vitest/config';

// As in vitest.config.mts: the test process loads the union of the components' env files.
process.env.STACK_ENV_FILE ??= path.resolve(__dirname, '.data/env/test.env');

/**
 * The stack-restart test only: it stops and restarts the shared local stack, so it never runs with the rest
 * of the suite (`npx vitest run --config vitest.restart.config.ts`).
 */
export default defineConfig({
  test: {
    include: ['test/stack/restart.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    // Stopping and starting Temporal, OpenBao (unseal, raft election) and PostgreSQL takes a while.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.data/test/results-restart.json' },
  },
});
