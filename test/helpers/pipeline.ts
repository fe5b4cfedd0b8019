/**
 * The whole pipeline inside a test process, on the real services: a fulfillment worker on its own task
 * queue (real Temporal dev server, Vault, PostgreSQL, SMTP, provider sandbox) and the delivery API (with its
 * codec endpoint) on an ephemeral port. Everything the workflow does is real, payload encryption included;
 * only the task queue is private to the test file.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import type { ActivityDeps } from '../../activities';
import { buildApp } from '../../api/app';
import { codecEndpointSettings } from '../../api/codec-endpoint/routes';
import { type OrderPolicy, retrievedSignal, workflowIdFor } from '../../contracts/order';
import { createMailer } from '../../domain/mail/mailer';
import { buildOrderInput, defaultPolicy, type OrderRequest, startOrder } from '../../domain/orders';
import type { WebhookEndpoints } from '../../domain/webhooks';
import { config } from '../../lib/config';
import { connectClient, createCodec } from '../../lib/temporal';
import { connectVault, type VaultSession } from '../../lib/vault';
import { createFulfillmentWorker } from '../../workers/create';
import { fulfillmentDeps } from '../../workers/deps';

export interface Pipeline {
  client: Client;
  taskQueue: string;
  apiUrl: string;
  db: Awaited<ReturnType<typeof fulfillmentDeps>>['db'];
  /** `caller`: as if started by that intake caller (its webhook endpoint hears of the order). */
  start(
    request: Omit<OrderRequest, 'policy'> & { policy?: Partial<OrderPolicy> },
    opts?: { caller?: string },
  ): ReturnType<typeof startOrder>;
  stop(): Promise<void>;
}

/** Fast polling for tests; everything else keeps its real default unless a test says otherwise. */
export const FAST_POLLING: Partial<OrderPolicy> = { pollInitialInterval: '200ms', pollMaxInterval: '1s' };

export async function startPipeline(
  opts: {
    revealVisibleMs?: number;
    rateLimitPerMinute?: number /** default: ephemeral */;
    apiPort?: number;
    /** Intake callers' webhook endpoints, instead of WEBHOOK_ENDPOINTS. */
    webhookEndpoints?: WebhookEndpoints;
    /** Another SMTP server for the worker's mail (one that refuses some recipients, say). */
    smtpUrl?: string;
  } = {},
) {
  const cfg = config();
  const apiVault: VaultSession = await connectVault('api');
  const deps = await fulfillmentDeps(cfg);
  // As in production: the client and the codec endpoint share the API's codec, the worker has its own.
  const codec = createCodec(apiVault.transit);
  const client = await connectClient({ component: 'api', codec });
  const api: FastifyInstance = await buildApp({
    db: deps.db,
    transit: apiVault.transit,
    publicBaseUrl: 'http://placeholder',
    revealVisibleMs: opts.revealVisibleMs ?? 60_000,
    rateLimitPerMinute: opts.rateLimitPerMinute ?? 10_000,
    codec: { ...codecEndpointSettings(cfg), codec },
    onRetrieved: async ({ orderId, deliveryId }) => {
      await client.workflow.getHandle(workflowIdFor(orderId)).signal(retrievedSignal, { deliveryId });
    },
  });
  try {
    await api.listen({ port: opts.apiPort ?? 0, host: '127.0.0.1' });
  } catch (err) {
    // A fixed port may be taken: release everything so the caller can fall back.
    await api.close();
    await client.connection.close();
    apiVault.close();
    await deps.close();
    throw err;
  }
  const address = api.server.address();
  const apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  deps.publicBaseUrl = apiUrl;
  if (opts.webhookEndpoints) deps.webhookEndpoints = opts.webhookEndpoints;
  if (opts.smtpUrl) {
    deps.mailer.close();
    deps.mailer = createMailer({ smtpUrl: opts.smtpUrl, from: cfg.MAIL_FROM, requireTls: false });
  }

  const taskQueue = `test-${randomUUID()}`;
  const worker = await runFulfillmentWorker(taskQueue, deps);

  const pipeline: Pipeline = {
    client,
    taskQueue,
    apiUrl,
    db: deps.db,
    async start(request, startOpts = {}) {
      const input = buildOrderInput(
        { ...request, policy: { ...FAST_POLLING, ...request.policy } },
        defaultPolicy(cfg),
        startOpts.caller,
      );
      return startOrder(client, input, taskQueue);
    },
    async stop() {
      await worker.stop();
      await client.connection.close();
      await api.close();
      apiVault.close();
      await deps.close();
    },
  };
  return pipeline;
}

/** A fulfillment worker in this process, as in production (codec included), on a task queue of the test's. */
export async function runFulfillmentWorker(taskQueue: string, deps: ActivityDeps) {
  const cfg = config();
  const connection = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
  const worker: Worker = await createFulfillmentWorker({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue,
    deps,
    codec: createCodec(deps.transit),
    workflowBundle: { codePath: inject('workflowBundlePath') },
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

export function uniqueOrderId(scenario: string): string {
  return `${scenario}-${randomUUID().slice(0, 12)}`;
}

export function uniqueRecipient(): string {
  return `customer-${randomUUID().slice(0, 8)}@example.test`;
}
