import path from 'node:path';
import { defineConfig } from 'vitest/config';

// The test processes run a worker, an API and the CLIs' code side by side: they load the union of the
// components' env files (scripts/stack.sh writes it), unless STACK_ENV_FILE names another.
process.env.STACK_ENV_FILE ??= path.resolve(import.meta.dirname, '.data/env/test.env');
// Not production (lib/config.ts: unset NODE_ENV means production), said here rather than left to vitest's
// own default; the test processes and whatever they start inherit it. An env file's value does not win
// over it, and a NODE_ENV the caller set does.
process.env.NODE_ENV ??= 'test';

/**
 * Two projects: `unit` needs no running service (pure modules, the provider adapter against in-process
 * HTTP servers, the workflows with stubbed activities on the time-skipping test server) and runs alone as
 * `npm run test:unit`; `stack` runs against the real local stack. `npm test` runs both.
 */
export default defineConfig({
  test: {
    // Workers and servers run inside the test processes; forks keep their native parts apart.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', 'json'],
    outputFile: { json: '.data/test/results.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          globalSetup: ['test/setup/workflow-bundle.ts'],
          setupFiles: ['test/setup/runtime.ts'],
          env: { LOG_LEVEL: 'error' },
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'stack',
          include: ['test/stack/**/*.test.ts'],
          // They stop parts of the shared stack: run alone, last, by vitest.restart.config.ts; and the cluster
          // profile's own, by vitest.cluster.config.ts.
          exclude: [
            'test/stack/restart.test.ts',
            'test/stack/replicas.test.ts',
            'test/stack/temporal-cluster.test.ts',
            '**/node_modules/**',
          ],
          globalSetup: ['test/setup/stack.ts', 'test/setup/workflow-bundle.ts'],
          setupFiles: ['test/setup/runtime.ts'],
          // Every log line of every worker, API and activity the tests run lands here; the leak hunt reads it.
          env: { LOG_FILE: '.data/test/logs/app.log' },
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
