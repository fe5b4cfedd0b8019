import path from 'node:path';
import { defineConfig } from 'vitest/config';

// As in vitest.config.mts: the test process loads the union of the components' env files.
process.env.STACK_ENV_FILE ??= path.resolve(__dirname, '.data/env/test.env');
// Not production (lib/config.ts: unset NODE_ENV means production), said here rather than left to vitest's
// own default; the test processes and whatever they start inherit it. An env file's value does not win
// over it, and a NODE_ENV the caller set does.
process.env.NODE_ENV ??= 'test';

/**
 * The cluster profile's own tests (`bash scripts/stack.sh up --profile cluster` first): Temporal's own server
 * behind mTLS, and the replica load run on it (`npx vitest run --config vitest.cluster.config.ts`).
 */
export default defineConfig({
  test: {
    include: ['test/stack/temporal-cluster.test.ts', 'test/stack/replicas.test.ts'],
    setupFiles: ['test/setup/runtime.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 600_000,
    hookTimeout: 600_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.data/test/results-cluster.json' },
  },
});
