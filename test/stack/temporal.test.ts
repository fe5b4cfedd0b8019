/**
 * Temporal plumbing: a worker on the real dev server runs a workflow and its activity, and the time-skipping
 * test server (the local Java TestServer, nothing downloaded) lets a 30-day timer fire in seconds, which is
 * what the order tests rely on for link expiry and retention.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../lib/config';
import { connectionOptions, temporalTarget } from '../../lib/temporal';
import { createTimeSkippingEnv } from '../helpers/time-skipping';
import { greet, sleepThirtyDays, type TrivialActivities } from '../workflows/trivial';

// Node's resolver does not know .ts; the SDK's bundler compiles the file itself.
const workflowsPath = require.resolve('../workflows/trivial.ts');
const activities: TrivialActivities = {
  async hello(name) {
    return `Hello, ${name}!`;
  },
};
const THIRTY_DAYS_MS = 30 * 24 * 60 * 60 * 1000;

describe('on the dev server', () => {
  let connection: NativeConnection;
  let clientConnection: Connection;
  let client: Client;

  beforeAll(async () => {
    const { TEMPORAL_NAMESPACE: namespace } = config();
    connection = await NativeConnection.connect(connectionOptions(temporalTarget()));
    clientConnection = await Connection.connect(connectionOptions(temporalTarget()));
    client = new Client({ connection: clientConnection, namespace });
  });

  afterAll(async () => {
    await clientConnection?.close();
    await connection?.close();
  });

  it('runs a workflow that calls an activity', async () => {
    const taskQueue = `test-trivial-${randomUUID()}`;
    const worker = await Worker.create({
      connection,
      namespace: config().TEMPORAL_NAMESPACE,
      taskQueue,
      workflowsPath,
      activities,
    });
    const result = await worker.runUntil(
      client.workflow.execute(greet, {
        taskQueue,
        workflowId: `test-greet-${randomUUID()}`,
        args: ['Temporal'],
      }),
    );
    expect(result).toBe('Hello, Temporal!');
  });
});

describe('on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
  });

  afterAll(async () => {
    await env?.teardown();
  });

  it('a 30-day sleep finishes in seconds', async () => {
    expect(env.supportsTimeSkipping).toBe(true);
    const taskQueue = `test-skip-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath,
      activities,
    });
    const started = performance.now();
    const { startedAt, endedAt } = await worker.runUntil(
      env.client.workflow.execute(sleepThirtyDays, { taskQueue, workflowId: `test-sleep-${randomUUID()}` }),
    );
    expect(performance.now() - started).toBeLessThan(60_000);
    expect(endedAt - startedAt).toBeGreaterThanOrEqual(THIRTY_DAYS_MS);
  });
});
