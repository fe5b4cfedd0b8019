import path from 'node:path';
import { defineConfig } from 'vitest/config';

// As in vitest.config.mts: the test process loads the union of the components' env files.
process.env.STACK_ENV_FILE ??= path.resolve(__dirname, '.data/env/test.env');

/**
 * The tests that stop parts of the shared local stack (a restart of every service, a worker replica's
 * SIGTERM), so they never run with the rest of the suite (`npx vitest run --config vitest.restart.config.ts`).
 */
export default defineConfig({
  test: {
    include: ['test/stack/restart.test.ts', 'test/stack/replicas.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    // Stopping and starting Temporal, OpenBao (unseal, raft election) and PostgreSQL takes a while.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.data/test/results-restart.json' },
  },
});
