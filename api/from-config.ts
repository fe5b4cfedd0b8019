/**
 * The API as production runs it: every dependency built from configuration, with the API's own Vault
 * identity (the payload codec's key only: no card key, DESIGN 3.7) and the decryptor's address, where
 * links and reveal keys are redeemed. Configuration is checked before anything connects, so a missing
 * secret stops start-up naming the variable.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { retrievedSignal, workflowIdFor } from '../contracts/order';
import { customerSettings } from '../domain/brand';
import { decryptorClient } from '../domain/decryptor-client';
import { defaultPolicy, resendLink, startOrder } from '../domain/orders';
import { type Config, databaseUrl, durationMs, requireSetting } from '../lib/config';
import { createPool } from '../lib/db';
import { logger } from '../lib/logger';
import { dependencyChecks, type ReadinessCheck } from '../lib/ops-server';
import { connectClient, createCodec } from '../lib/temporal';
import { connectVault } from '../lib/vault';
import { API_LIMIT_SCOPE, buildApp } from './app';
import { codecEndpointSettings } from './codec-endpoint/routes';
import { buildInternalApp } from './internal';
import { operatorTokenSettings } from './operators/tokens';

export interface ConfiguredApi {
  app: FastifyInstance;
  /** The internal listener's app (codec endpoint, ops API): for INTERNAL_HOST:INTERNAL_PORT only. */
  internal: FastifyInstance;
  /** What the API cannot serve without, for its /readyz. */
  readiness: Record<string, ReadinessCheck>;
  /** Closes the server, then the database, Temporal and Vault. */
  close(): Promise<void>;
}

export async function apiFromConfig(cfg: Config): Promise<ConfiguredApi> {
  const log = logger().child({ component: 'api' });
  // Checked before anything connects: without its identity provider the codec endpoint and ops API would
  // be useless, and without its own listener they would have nowhere to be served but the public port.
  const codecSettings = codecEndpointSettings(cfg);
  const operators = operatorTokenSettings(cfg);
  requireSetting(cfg, 'INTERNAL_PORT', 'the API (codec endpoint and ops API)');
  const publicBaseUrl = requireSetting(cfg, 'PUBLIC_BASE_URL', 'the delivery API');
  // Without it an order id could not be bound to its first caller and request.
  if (cfg.INTAKE_CLIENTS) requireSetting(cfg, 'INTAKE_REQUEST_KEY', 'the intake API (INTAKE_CLIENTS is set)');
  const customerPages = customerSettings(cfg);
  const decryptorUrl = requireSetting(cfg, 'DECRYPTOR_URL', 'the delivery API');
  const db = createPool(databaseUrl('api', cfg), cfg.DATABASE_POOL_MAX);
  const vault = await connectVault('api');
  // One codec (and key cache) for the API's own client and the codec endpoint.
  const codec = createCodec(vault.transit);
  await codec.ready();
  const temporal = await connectClient({ component: 'api', codec });

  const app = await buildApp({
    db,
    // Past the decryptor's own Vault deadline, plus its transaction: a reveal never hangs on it.
    decryptor: decryptorClient(decryptorUrl, { timeoutMs: durationMs(cfg.VAULT_REQUEST_TIMEOUT) + 5000 }),
    logger: logger(),
    publicBaseUrl,
    revealVisibleMs: durationMs(cfg.REVEAL_VISIBLE),
    customerPages,
    rateLimitPerMinute: cfg.RATE_LIMIT_PER_MINUTE,
    limitScope: API_LIMIT_SCOPE,
    trustProxy: cfg.TRUST_PROXY,
    // The order's workflow learns of the retrieval (and purges at once when its policy says so).
    onRetrieved: ({ orderId, deliveryId }) =>
      temporal.workflow.getHandle(workflowIdFor(orderId)).signal(retrievedSignal, { deliveryId }),
    inApp: cfg.JWT_JWKS_URL
      ? {
          jwt: {
            jwksUrl: cfg.JWT_JWKS_URL,
            issuer: cfg.JWT_ISSUER,
            audience: cfg.JWT_AUDIENCE,
            maxAgeMs: durationMs(cfg.JWT_MAX_AGE),
          },
          revealKeyTtlMs: durationMs(cfg.REVEAL_KEY_TTL),
          rateLimitPerMinute: cfg.RATE_LIMIT_PER_MINUTE,
        }
      : undefined,
    intake: cfg.INTAKE_CLIENTS
      ? {
          clients: cfg.INTAKE_CLIENTS,
          windowMs: durationMs(cfg.INTAKE_WINDOW),
          rateLimitPerMinute: cfg.INTAKE_RATE_LIMIT_PER_MINUTE,
          policyDefaults: defaultPolicy(cfg),
          ...(cfg.INTAKE_ORDER_ID_PREFIXES ? { orderIdPrefixes: cfg.INTAKE_ORDER_ID_PREFIXES } : {}),
          requestKey: cfg.INTAKE_REQUEST_KEY!,
          acceptV1Signatures: cfg.INTAKE_ACCEPT_V1_SIGNATURES,
        }
      : undefined,
    startOrder: (input) => startOrder(temporal, input, cfg.TEMPORAL_TASK_QUEUE),
    resendLink: (orderId, request) => resendLink(temporal, db, orderId, request),
  });
  const internal = await buildInternalApp({
    db,
    https:
      cfg.INTERNAL_TLS_CERT_FILE && cfg.INTERNAL_TLS_KEY_FILE
        ? { cert: readFileSync(cfg.INTERNAL_TLS_CERT_FILE), key: readFileSync(cfg.INTERNAL_TLS_KEY_FILE) }
        : undefined,
    logger: logger(),
    operators,
    codec: { ...codecSettings, codec },
    ops: {
      client: temporal,
      webhookEndpoints: cfg.WEBHOOK_ENDPOINTS ?? new Map(),
      approvalTtlMs: durationMs(cfg.OPERATOR_APPROVAL_TTL),
    },
  });
  if (!cfg.JWT_JWKS_URL) log.warn('JWT_JWKS_URL is not set: the in-app API is not served');
  if (!cfg.INTAKE_CLIENTS) log.warn('INTAKE_CLIENTS is not set: the intake API is not served');

  return {
    app,
    internal,
    readiness: dependencyChecks(db, vault, () => temporal.workflowService.getSystemInfo({})),
    async close() {
      try {
        await app.close();
        await internal.close();
        await db.end();
        await temporal.connection.close();
      } finally {
        vault.close();
      }
    },
  };
}
