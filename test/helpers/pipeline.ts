/**
 * The whole pipeline inside a test process, on the real services: a fulfillment worker on its own task
 * queue (real Temporal dev server, Vault, PostgreSQL, SMTP, provider sandbox), the delivery API on an
 * ephemeral port, and its internal listener (codec endpoint, ops API) on another. Everything the workflow does is real, payload encryption included;
 * only the task queue is private to the test file.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import type { ActivityDeps } from '../../activities';
import { buildApp } from '../../api/app';
import { codecEndpointSettings } from '../../api/codec-endpoint/routes';
import { buildInternalApp } from '../../api/internal';
import { operatorTokenSettings } from '../../api/operators/tokens';
import {
  type OrderInput,
  type OrderPolicy,
  type ResendRequest,
  retrievedSignal,
  workflowIdFor,
} from '../../contracts/order';
import { createMailer } from '../../domain/mail/mailer';
import type { OrderIdPrefixes, PollBounds } from '../../domain/order-fences';
import {
  buildOrderInput,
  defaultPolicy,
  type OrderRequest,
  resendLink,
  startOrder,
} from '../../domain/orders';
import type { WebhookEndpoints } from '../../domain/webhooks';
import { config, databaseUrl } from '../../lib/config';
import { createPool, type Db } from '../../lib/db';
import {
  connectClient,
  connectionOptions,
  createCodec,
  type TemporalTarget,
  temporalTarget,
} from '../../lib/temporal';
import { activeTracing } from '../../lib/tracing';
import { connectVault, type VaultSession } from '../../lib/vault';
import { createFulfillmentWorker } from '../../workers/create';
import { fulfillmentDeps } from '../../workers/deps';
import { startDecryptor } from './decryptor';
import { fixturePool } from './fixture-db';
import { bundleWorkflows } from './workflow-bundle';

export interface Pipeline {
  client: Client;
  taskQueue: string;
  apiUrl: string;
  /** The API's internal listener (codec endpoint, ops API), e.g. http://127.0.0.1:43210. */
  internalUrl: string;
  /** The tests' own connection (the schema owner's, test/helpers/fixture-db.ts), not a component's. */
  db: Db;
  /** `caller`: as if started by that intake caller (its webhook endpoint hears of the order). */
  start(
    request: Omit<OrderRequest, 'policy'> & { policy?: Partial<OrderPolicy> },
    opts?: { caller?: string },
  ): ReturnType<typeof startOrder>;
  /** One more fulfillment worker on the same task queues (as another process of the fleet would run). */
  addWorker(): ReturnType<typeof runFulfillmentWorker>;
  stop(): Promise<void>;
}

/** Fast polling for tests; everything else keeps its real default unless a test says otherwise. */
export const FAST_POLLING: Partial<OrderPolicy> = { pollInitialInterval: '200ms', pollMaxInterval: '1s' };

/**
 * The poll bounds tests against the sandbox provider order with (FAST_POLLING is far below POLL_BOUNDS'
 * floor); every order of a deployment keeps POLL_BOUNDS.
 */
export const FAST_POLLING_BOUNDS: PollBounds = { floor: '100ms', maxPolls: Number.MAX_SAFE_INTEGER };

export async function startPipeline(
  opts: {
    revealVisibleMs?: number;
    rateLimitPerMinute?: number /** default: ephemeral */;
    apiPort?: number;
    /** Intake callers' webhook endpoints, instead of WEBHOOK_ENDPOINTS. */
    webhookEndpoints?: WebhookEndpoints;
    /** Another SMTP server for the worker's mail (one that refuses some recipients, say). */
    smtpUrl?: string;
    /** The provider's rate limit across the workers (default: PROVIDER_MAX_RPS). */
    providerMaxRps?: number;
    /** How the API's client and the worker reach Temporal (each its own certificate, say); default: config. */
    temporal?: { api: TemporalTarget; worker: TemporalTarget };
    /** Serve the signed intake API too, for these callers ("caller:secret,..."), on this pipeline's queue. */
    intakeClients?: string;
    /** The internal listener's port (default: ephemeral). */
    internalPort?: number;
    /** Browser origins the codec endpoint answers (default: CODEC_CORS_ORIGINS, else the Temporal UI's). */
    codecCorsOrigins?: string[];
    /** Serve the internal listener over https with this key and certificate. */
    internalTls?: { key: string | Buffer; cert: string | Buffer };
    /** Their order-id namespaces (INTAKE_ORDER_ID_PREFIXES); default none. */
    orderIdPrefixes?: OrderIdPrefixes;
    /** The intake's bounds on polling; default FAST_POLLING_BOUNDS. */
    pollBounds?: PollBounds;
  } = {},
) {
  const cfg = config();
  const apiVault: VaultSession = await connectVault('api');
  // The API holds no card key: reveals go through a decryptor of the pipeline's own.
  const decryptor = await startDecryptor();
  const deps = await fulfillmentDeps(cfg);
  // Each component with its own database role, as in production; the tests' own reads as the fixtures'.
  const apiDb = createPool(databaseUrl('api', cfg), 4);
  const fixtures = fixturePool(4);
  // As in production: the client and the codec endpoint share the API's codec, the worker has its own.
  const codec = createCodec(apiVault.transit);
  const client = await connectClient({ component: 'api', codec, target: opts.temporal?.api });
  const taskQueue = `test-${randomUUID()}`;
  const api: FastifyInstance = await buildApp({
    db: apiDb,
    decryptor: decryptor.client,
    publicBaseUrl: 'http://placeholder',
    revealVisibleMs: opts.revealVisibleMs ?? 60_000,
    rateLimitPerMinute: opts.rateLimitPerMinute ?? 10_000,
    limitScope: `test-${randomUUID()}`,
    onRetrieved: async ({ orderId, deliveryId }) => {
      await client.workflow.getHandle(workflowIdFor(orderId)).signal(retrievedSignal, { deliveryId });
    },
    ...(opts.intakeClients
      ? {
          intake: {
            clients: opts.intakeClients,
            windowMs: 5 * 60_000,
            rateLimitPerMinute: 10_000,
            // Orders poll fast unless the test asks for a deployment's bounds.
            policyDefaults: opts.pollBounds ? defaultPolicy(cfg) : { ...defaultPolicy(cfg), ...FAST_POLLING },
            pollBounds: opts.pollBounds ?? FAST_POLLING_BOUNDS,
            ...(opts.orderIdPrefixes ? { orderIdPrefixes: opts.orderIdPrefixes } : {}),
            requestKey: randomBytes(32).toString('hex'),
          },
          startOrder: (input: OrderInput) => startOrder(client, input, taskQueue),
          resendLink: (orderId: string, request: ResendRequest) =>
            resendLink(client, apiDb, orderId, request),
        }
      : {}),
  });
  try {
    await api.listen({ port: opts.apiPort ?? 0, host: '127.0.0.1' });
  } catch (err) {
    // A fixed port may be taken: release everything so the caller can fall back.
    await api.close();
    await client.connection.close();
    apiVault.close();
    await decryptor.close();
    await deps.close();
    await apiDb.end();
    await fixtures.end();
    throw err;
  }
  const address = api.server.address();
  const apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  // The operators' listener, as the API process runs it: the stack's identity provider's tokens only.
  const internal = await buildInternalApp({
    db: apiDb,
    https: opts.internalTls,
    operators: operatorTokenSettings(cfg),
    codec: {
      ...codecEndpointSettings(cfg),
      ...(opts.codecCorsOrigins ? { corsOrigins: opts.codecCorsOrigins } : {}),
      codec,
    },
    ops: {
      client,
      webhookEndpoints: opts.webhookEndpoints ?? cfg.WEBHOOK_ENDPOINTS ?? new Map(),
      approvalTtlMs: 60 * 60_000,
    },
  });
  try {
    await internal.listen({ port: opts.internalPort ?? 0, host: '127.0.0.1' });
  } catch (err) {
    await api.close();
    await internal.close();
    await client.connection.close();
    apiVault.close();
    await deps.close();
    await apiDb.end();
    await fixtures.end();
    throw err;
  }
  const internalAddress = internal.server.address();
  const internalUrl = `${opts.internalTls ? 'https' : 'http'}://127.0.0.1:${typeof internalAddress === 'object' && internalAddress ? internalAddress.port : 0}`;
  deps.publicBaseUrl = apiUrl;
  if (opts.webhookEndpoints) deps.webhookEndpoints = opts.webhookEndpoints;
  if (opts.smtpUrl) {
    deps.mailer.close();
    deps.mailer = createMailer({ smtpUrl: opts.smtpUrl, from: cfg.MAIL_FROM, requireTls: false });
  }

  const providerMaxRps = opts.providerMaxRps ?? cfg.PROVIDER_MAX_RPS;
  const runWorker = () => runFulfillmentWorker(taskQueue, deps, providerMaxRps, opts.temporal?.worker);
  const workers = [await runWorker()];

  const pipeline: Pipeline = {
    client,
    taskQueue,
    apiUrl,
    internalUrl,
    db: fixtures,
    async start(request, startOpts = {}) {
      const input = buildOrderInput(
        { ...request, policy: { ...FAST_POLLING, ...request.policy } },
        defaultPolicy(cfg),
        { ...(startOpts.caller ? { caller: startOpts.caller } : {}), pollBounds: FAST_POLLING_BOUNDS },
      );
      return startOrder(client, input, taskQueue);
    },
    async addWorker() {
      const worker = await runWorker();
      workers.push(worker);
      return worker;
    },
    async stop() {
      for (const worker of workers) await worker.stop();
      await client.connection.close();
      await api.close();
      await internal.close();
      apiVault.close();
      await decryptor.close();
      await deps.close();
      await apiDb.end();
      await fixtures.end();
    },
  };
  return pipeline;
}

/** A fulfillment worker in this process, as in production (codec included), on a task queue of the test's. */
export async function runFulfillmentWorker(
  taskQueue: string,
  deps: ActivityDeps,
  providerMaxRps = config().PROVIDER_MAX_RPS,
  target: TemporalTarget = temporalTarget(),
) {
  const cfg = config();
  const connection = await NativeConnection.connect(connectionOptions(target));
  const worker = await createFulfillmentWorker({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue,
    providerMaxRps,
    deps,
    codec: createCodec(deps.transit),
    workflowBundle: await workflowBundle(),
  });
  const running = worker.run();
  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        worker.shutdown();
        await running;
        await connection.close();
      })();
      return stopped;
    },
  };
}

let tracedBundle: Promise<string> | undefined;

/** The shared bundle; traced, one with the tracing interceptors (a production worker bundles them at start). */
async function workflowBundle(): Promise<WorkerOptions['workflowBundle']> {
  const modules = activeTracing()?.workerOptions.interceptors?.workflowModules;
  if (!modules) return { codePath: inject('workflowBundlePath') };
  tracedBundle ??= bundleWorkflows(modules);
  return { code: await tracedBundle };
}

export function uniqueOrderId(scenario: string): string {
  return `${scenario}-${randomUUID().slice(0, 12)}`;
}

export function uniqueRecipient(): string {
  return `customer-${randomUUID().slice(0, 8)}@example.test`;
}
