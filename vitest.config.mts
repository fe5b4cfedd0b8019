import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // It stops and restarts the shared stack: run alone, last, by vitest.restart.config.ts.
    exclude: ['test/restart.test.ts', '**/node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-runtime.ts'],
    // Every log line of every worker, API and activity the tests run lands here; the leak hunt reads it.
    env: { LOG_FILE: '.data/test/logs/app.log' },
    // Workers and servers run inside the test processes; forks keep their native parts apart.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.data/test/results.json' },
  },
});
