import path from 'node:path';
import { defineConfig } from 'vitest/config';

// As in vitest.config.mts: the recorder runs a worker, the API and the CLIs' code in one process.
process.env.STACK_ENV_FILE ??= path.resolve(__dirname, '.data/env/test.env');
// Not production (lib/config.ts: unset NODE_ENV means production), as in vitest.config.mts.
process.env.NODE_ENV ??= 'test';

/**
 * `npm run histories:record`: records the order's histories for the replay tests from the running local
 * stack (test/replay/record.ts). Not a test run: it writes fixtures, and fails if a branch cannot be recorded.
 */
export default defineConfig({
  test: {
    name: 'record',
    include: ['test/replay/record.ts'],
    globalSetup: ['test/setup/stack.ts', 'test/setup/workflow-bundle.ts'],
    setupFiles: ['test/setup/runtime.ts'],
    pool: 'forks',
    maxConcurrency: 12,
    env: { LOG_LEVEL: 'error' },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
