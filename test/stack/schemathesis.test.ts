/**
 * Fuzzed by a tool no one here wrote: Schemathesis (PyPI, installed by scripts/install.sh into .tools/venv)
 * generates requests from the OpenAPI document the API serves at /openapi.json, valid and invalid, for every
 * public operation, and checks each answer: no server error, a status the document lists, the content type
 * it says, a body its schema accepts, the headers it promises. Requests to the intake are signed as a test
 * caller by a Python hook (test/schemathesis/hooks.py), and the in-app ones carry a valid app token, so the
 * generated data reaches the handlers rather than stopping at authentication.
 *
 * The API runs in process on the stack's database and Vault; orders are "started" by a stand-in that
 * starts nothing (no workflow is left behind on the shared Temporal).
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../../api/app';
import { workflowIdFor } from '../../contracts/order';
import { defaultPolicy } from '../../domain/orders';
import { config, databaseUrl } from '../../lib/config';
import { createPool, type Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { connectVault, type VaultSession } from '../../lib/vault';
import { fixturePool } from '../helpers/fixture-db';
import { createSeeder, type SeededOrder, type Seeder } from '../helpers/seed';

const ROOT = resolve(__dirname, '../..');
const SCHEMATHESIS = resolve(ROOT, '.tools/venv/bin/schemathesis');
const CALLER = 'schemathesis';
const USER = 'schemathesis-user';
const SECRET = randomBytes(32).toString('hex');
const JWT_SECRET = randomBytes(32).toString('hex');
/** The checks that say the API keeps its document: no 5xx, and every answer as documented. */
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
  'response_headers_conformance',
  // A request the document says is invalid must be refused. (Not the converse, positive_data_acceptance: a
  // duration's bounds, a supported language, an Idempotency-Key's first body are checked by the API in ways
  // a JSON Schema cannot say, so a request the document allows may still be refused, as documented.)
  'negative_data_rejection',
];

/** The API's own role, as in production. */
let apiDb: Db;
/** The test's own reads and seeds, as the schema's owner. */
let db: Db;
let vault: VaultSession;
let app: FastifyInstance;
let url: string;
let seeder: Seeder;
/** The test caller's and user's order, with cards and a link: what the path parameters name. */
let order: SeededOrder;
const serverErrors: string[] = [];

beforeAll(async () => {
  const cfg = config();
  apiDb = createPool(databaseUrl('api', cfg));
  db = fixturePool();
  vault = await connectVault('api');
  app = await buildApp({
    db: apiDb,
    transit: vault.transit,
    logger: createLogger(
      { level: 'error', name: 'schemathesis-test' },
      { write: (line) => serverErrors.push(line) },
    ),
    publicBaseUrl: cfg.PUBLIC_BASE_URL!,
    revealVisibleMs: 60_000,
    // Schemathesis is one client sending thousands of requests a minute: the limits are not what is tested.
    rateLimitPerMinute: 1_000_000,
    unmatchedPerMinute: 1_000_000,
    limitScope: `test-${randomUUID()}`,
    inApp: {
      jwt: { secret: JWT_SECRET, issuer: cfg.JWT_ISSUER, audience: cfg.JWT_AUDIENCE },
      revealKeyTtlMs: 60_000,
      rateLimitPerMinute: 1_000_000,
    },
    intake: {
      clients: `${CALLER}:${SECRET}`,
      windowMs: 5 * 60_000,
      rateLimitPerMinute: 1_000_000,
      policyDefaults: defaultPolicy(cfg),
      requestKey: randomBytes(32).toString('hex'),
    },
    startOrder: async (input) => ({
      workflowId: workflowIdFor(input.orderId),
      runId: randomUUID(),
      existing: false,
    }),
    resendLink: async () => ({ outcome: 'rejected' }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  seeder = await createSeeder(db);
  order = await seeder.seed({ cards: 2 });
  await db.query('UPDATE orders SET user_id = $2, caller = $3 WHERE order_id = $1', [
    order.orderId,
    USER,
    CALLER,
  ]);
});

afterAll(async () => {
  await seeder?.cleanup();
  seeder?.close();
  await app?.close();
  vault?.close();
  await apiDb?.end();
  await db?.end();
});

function schemathesis(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(SCHEMATHESIS, args, {
      cwd: ROOT,
      env: { ...process.env, ...env, NO_COLOR: '1', COLUMNS: '160' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, output }));
  });
}

it('finds no server error and no answer that breaks the document', { timeout: 180_000 }, async () => {
  const cfg = config();
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(USER)
    .setIssuer(cfg.JWT_ISSUER)
    .setAudience(cfg.JWT_AUDIENCE)
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(JWT_SECRET));
  const run = await schemathesis(
    [
      '--config-file',
      resolve(ROOT, 'test/schemathesis/schemathesis.toml'),
      'run',
      `${url}/openapi.json`,
      '--url',
      url,
      '--checks',
      CHECKS.join(','),
      '--phases',
      'examples,coverage,fuzzing',
      '--max-examples',
      '100',
      '--seed',
      '1',
      // One worker: hypothesis's source inspection is not thread-safe on Python 3.11 (an AST recursion error).
      '--workers',
      '1',
      '--generation-with-security-parameters',
      'false',
      '--generation-database',
      'none',
      '--header',
      `Authorization: Bearer ${token}`,
      '--request-timeout',
      '10',
      '--no-color',
    ],
    {
      PYTHONPATH: resolve(ROOT, 'test/schemathesis'),
      SCHEMATHESIS_HOOKS: 'hooks',
      INTAKE_TEST_CALLER: CALLER,
      INTAKE_TEST_SECRET: SECRET,
      SCHEMATHESIS_ORDER_ID: order.orderId,
      SCHEMATHESIS_LINK_TOKEN: order.token,
    },
  );
  mkdirSync(resolve(ROOT, '.data/test'), { recursive: true });
  writeFileSync(resolve(ROOT, '.data/test/schemathesis-output.txt'), run.output);
  const tail = run.output.slice(-6_000);
  // "N generated, N passed" and the closing "== … in Ns ==" line: the run's own summary, for the record.
  const summary = run.output.split('\n').filter((line) => /generated|=+ .* in [\d.]+s =+/.test(line));
  console.log(summary.join('\n'));
  expect(run.code, tail).toBe(0);
  const counts = /(\d+) generated, (\d+) passed/.exec(run.output);
  expect(counts, tail).not.toBeNull();
  expect(Number(counts![1])).toBeGreaterThan(100);
  expect(counts![2], tail).toBe(counts![1]);
  expect(run.output, tail).not.toMatch(/Runtime Error|failed/);
  expect(serverErrors.join('\n')).toBe('');
});
