import path from 'node:path';
import { defineConfig } from 'vitest/config';

// As in vitest.config.mts: the test process loads the union of the components' env files.
process.env.STACK_ENV_FILE ??= path.resolve(__dirname, '.data/env/test.env');
// Not production (lib/config.ts: unset NODE_ENV means production), said here rather than left to vitest's
// own default; the test processes and whatever they start inherit it. An env file's value does not win
// over it, and a NODE_ENV the caller set does.
process.env.NODE_ENV ??= 'test';

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
