/**
 * The intake API through the typed client a caller would use (domain/intake-client.ts), and through the
 * order CLI's HTTP mode, which uses it.
 *
 * Intake's Idempotency-Key (draft-ietf-httpapi-idempotency-key-header), on the stack's database, through
 * the typed client a caller would use: the same key and body get the first answer again (nothing started
 * twice); the same key with another body is 422; the same key while its first request is still being
 * carried out is 409; keys are the caller's own; a request without a key behaves as before; a malformed key
 * is 400 naming the header. The order's start is a stand-in that counts, so each case says exactly how
 * many orders were started.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app';
import { workflowIdFor } from '../../contracts/order';
import type { IntakeClient } from '../../domain/intake-client';
import { defaultPolicy, type StartedOrder } from '../../domain/orders';
import { config, databaseUrl } from '../../lib/config';
import { createPool, type Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { fixturePool } from '../helpers/fixture-db';
import { intakeClient } from '../helpers/intake';
import { uniqueOrderId } from '../helpers/pipeline';
import { problemOf } from '../helpers/problems';

const SECRET = randomBytes(32).toString('hex');
const OTHER_SECRET = randomBytes(32).toString('hex');

/** The API's own role, as in production. */
let apiDb: Db;
/** The test's own reads and seeds, as the schema's owner. */
let db: Db;
let app: FastifyInstance;
let url: string;
let client: IntakeClient;
let other: IntakeClient;
const started: string[] = [];
/** Starts that began (and may be waiting at the gate). */
let arrived = 0;
/** While set, a start waits for it: the first request of a key is then still in flight. */
let gate: Promise<void> | undefined;

beforeAll(async () => {
  const cfg = config();
  apiDb = createPool(databaseUrl('api', cfg));
  db = fixturePool();
  app = await buildApp({
    db: apiDb,
    transit: {} as never,
    logger: createLogger({ level: 'warn', name: 'idempotency-test' }),
    publicBaseUrl: cfg.PUBLIC_BASE_URL!,
    revealVisibleMs: 60_000,
    rateLimitPerMinute: 10_000,
    limitScope: `test-${randomUUID()}`,
    intake: {
      clients: `checkout:${SECRET},partner:${OTHER_SECRET}`,
      windowMs: 5 * 60_000,
      rateLimitPerMinute: 10_000,
      policyDefaults: defaultPolicy(cfg),
      requestKey: randomBytes(32).toString('hex'),
    },
    startOrder: async (input): Promise<StartedOrder> => {
      arrived++;
      await gate;
      const existing = started.includes(input.orderId);
      started.push(input.orderId);
      return { workflowId: workflowIdFor(input.orderId), runId: randomUUID(), existing };
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  client = intakeClient(url, { name: 'checkout', secret: SECRET });
  other = intakeClient(url, { name: 'partner', secret: OTHER_SECRET });
});

afterAll(async () => {
  await app?.close();
  await apiDb?.end();
  await db?.end();
});

const order = () => ({
  orderId: uniqueOrderId('idem'),
  userId: 'user-1',
  email: `idem-${randomUUID().slice(0, 8)}@example.test`,
});

const post = (c: IntakeClient, body: ReturnType<typeof order>, key?: string) =>
  c.POST('/v1/fulfillments', { body, headers: key === undefined ? {} : { 'idempotency-key': key } });

describe('Idempotency-Key on POST /v1/fulfillments', () => {
  it('answers the same key and body with the first answer again, and starts nothing twice', async () => {
    const body = order();
    const key = `"${randomUUID()}"`;
    const first = await post(client, body, key);
    expect(first.response.status).toBe(202);
    expect(first.data).toEqual({ workflowId: workflowIdFor(body.orderId), existing: false });
    // A retry signs anew (a new timestamp, a new signature): the key, not the signature, makes it the same.
    for (let i = 0; i < 3; i++) {
      const again = await post(client, body, key);
      expect(again.response.status).toBe(202);
      expect(again.data).toEqual(first.data);
    }
    expect(started.filter((id) => id === body.orderId)).toHaveLength(1);
    // A bare token is the same key as its quoted form.
    expect((await post(client, body, key.slice(1, -1))).response.status).toBe(202);
    expect(started.filter((id) => id === body.orderId)).toHaveLength(1);
  });

  it('refuses the same key with another body: 422, and nothing is started', async () => {
    const key = randomUUID();
    const body = order();
    expect((await post(client, body, key)).response.status).toBe(202);
    const changed = { ...body, email: `changed-${body.email}` };
    const refused = await post(client, changed, key);
    expect(refused.response.status).toBe(422);
    expect(refused.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.error).toEqual(
      problemOf(422, undefined, 'this Idempotency-Key was used with another request'),
    );
    expect(JSON.stringify(refused.error)).not.toContain(changed.email);
    const elsewhere = await post(client, order(), key);
    expect(elsewhere.response.status).toBe(422);
    expect(started.filter((id) => id === body.orderId)).toHaveLength(1);
  });

  it('refuses the same key while its first request is being carried out: 409, then answers it', async () => {
    const key = randomUUID();
    const body = order();
    let open!: () => void;
    gate = new Promise((resolve) => {
      open = resolve;
    });
    const before = arrived;
    const first = post(client, body, key);
    // The first request holds the key once its start is waiting at the gate.
    await expect.poll(() => arrived).toBe(before + 1);
    const during = await post(client, body, key);
    expect(during.response.status).toBe(409);
    expect(during.error).toEqual(
      problemOf(409, undefined, 'a request with this Idempotency-Key is still being carried out'),
    );
    gate = undefined;
    open();
    expect((await first).response.status).toBe(202);
    const after = await post(client, body, key);
    expect(after.response.status).toBe(202);
    expect(after.data).toEqual((await first).data);
    expect(started.filter((id) => id === body.orderId)).toHaveLength(1);
  });

  it("keeps each caller's keys its own", async () => {
    const key = randomUUID();
    const mine = order();
    const theirs = order();
    expect((await post(client, mine, key)).response.status).toBe(202);
    const res = await post(other, theirs, key);
    expect(res.response.status).toBe(202);
    expect(res.data).toEqual({ workflowId: workflowIdFor(theirs.orderId), existing: false });
  });

  it('keeps the answers a bounded time, and nothing of the request but its keyed fingerprint', async () => {
    const key = randomUUID();
    const body = order();
    expect((await post(client, body, key)).response.status).toBe(202);
    const { rows } = await db.query(
      `SELECT extract(epoch FROM expires_at - created_at)::int AS lifetime, response::text, octet_length(request_hash) AS hash
         FROM intake_idempotency_keys WHERE caller = 'checkout' AND idempotency_key = $1`,
      [key],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].lifetime).toBe(24 * 3600);
    expect(rows[0].hash).toBe(32);
    expect(rows[0].response).not.toContain(body.email);
    // Expired, the key is free again: its old answer is not given, the request is carried out anew.
    await db.query(
      `UPDATE intake_idempotency_keys SET expires_at = now() - interval '1 second'
        WHERE caller = 'checkout' AND idempotency_key = $1`,
      [key],
    );
    const reused = order();
    const res = await post(client, reused, key);
    expect(res.response.status).toBe(202);
    expect(res.data).toEqual({ workflowId: workflowIdFor(reused.orderId), existing: false });
  });

  it('without a key, behaves as before; a malformed key is 400 naming the header', async () => {
    const body = order();
    expect((await post(client, body)).response.status).toBe(202);
    // The same request signed in the same second is the same signature: a replay (409). A second later, a
    // re-signed request is the order found started.
    expect((await post(client, body)).response.status).toBe(409);
    await new Promise((r) => setTimeout(r, 1_100));
    const again = await post(client, body);
    expect(again.response.status).toBe(200);
    expect(again.data).toEqual({ workflowId: workflowIdFor(body.orderId), existing: true });

    for (const bad of ['', 'x'.repeat(256), 'with space', '"unterminated']) {
      const res = await post(client, order(), bad);
      expect(res.response.status, bad).toBe(400);
      expect(res.error, bad).toEqual(problemOf(400, ['idempotency-key']));
    }
  });
});

describe("the order CLI's HTTP mode (npm run order -- --api … --caller …)", () => {
  const run = (args: string[], secret: string) =>
    promisify(execFile)('npx', ['tsx', 'scripts/order.ts', ...args], {
      env: { ...process.env, INTAKE_SECRET: secret, LOG_LEVEL: 'warn' },
      timeout: 60_000,
    }).then(
      (out) => ({ code: 0, ...out }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );

  it('starts the order through the intake API, signed as the caller', async () => {
    const body = order();
    const args = ['--order-id', body.orderId, '--user-id', body.userId, '--email', body.email];
    const ok = await run([...args, '--api', url, '--caller', 'checkout'], SECRET);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Order started.');
    expect(ok.stdout).toContain(workflowIdFor(body.orderId));
    expect(started).toContain(body.orderId);

    const refused = await run([...args, '--api', url, '--caller', 'checkout'], OTHER_SECRET);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('401 Unauthorized');
    expect(refused.stderr).not.toContain(OTHER_SECRET);
  });
});
