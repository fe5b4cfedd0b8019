/**
 * One database role per component (docs/security.md): the forgeries of issue 20, each tried with each
 * component's own credentials (WORKER_, API_, RETENTION_, CLI_ and DECRYPTOR_DATABASE_URL), as an attacker holding that
 * process's environment would. None reveals a card or changes a row: after all of them, the link the
 * attacker chose reveals nothing, the order's real links still work once, and every row count and the
 * audit trail are what they were. The legitimate paths (a delivery revealed once, a resend asked for by
 * the order's caller or an operator) are the pipeline's and recipient-correction's tests.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app';
import { config, type DatabaseComponent, databaseUrl } from '../../lib/config';
import { createPool, type Db } from '../../lib/db';
import { generateToken, hashToken } from '../../lib/tokens';
import { type RunningDecryptor, startDecryptor } from '../helpers/decryptor';
import { fixturePool } from '../helpers/fixture-db';
import { createSeeder, type SeededOrder, type Seeder } from '../helpers/seed';

const COMPONENTS: DatabaseComponent[] = ['worker', 'api', 'retention', 'cli', 'decryptor'];
const CALLER = 'checkout';

let fixtures: Db;
let seeder: Seeder;
let decryptor: RunningDecryptor;
let app: FastifyInstance;
let base: string;
/** An order whose link was sent and not used yet, and one whose link the customer already revealed. */
let live: SeededOrder;
let revealed: SeededOrder;
/** Orders whose link was revoked (a resend replaced it), or marked expired. */
let revoked: SeededOrder;
let expired: SeededOrder;
const pools = new Map<DatabaseComponent, pg.Pool>();

/** Everything the forgeries could change, for both orders: row counts, link states, the audit trail. */
async function snapshot() {
  const ids = [live.orderId, revealed.orderId, revoked.orderId, expired.orderId];
  const count = async (sql: string) => (await fixtures.query<{ n: number }>(sql, [ids])).rows[0]!.n;
  return {
    orders: await count(
      'SELECT count(*)::int AS n FROM orders WHERE order_id = ANY($1) AND purged_at IS NULL',
    ),
    cards: await count('SELECT count(*)::int AS n FROM cards WHERE order_id = ANY($1)'),
    deliveries: await count('SELECT count(*)::int AS n FROM deliveries WHERE order_id = ANY($1)'),
    deliveryCards: await count(
      'SELECT count(*)::int AS n FROM delivery_cards dc JOIN deliveries d ON d.id = dc.delivery_id WHERE d.order_id = ANY($1)',
    ),
    tokens: (
      await fixtures.query(
        `SELECT encode(token_hash, 'hex') AS h, delivery_id, consumed_at IS NOT NULL AS used,
                revoked_at IS NOT NULL AS revoked, expired_at IS NOT NULL AS expired
           FROM delivery_tokens WHERE order_id = ANY($1) ORDER BY 1`,
        [ids],
      )
    ).rows,
    bindings: await count('SELECT count(*)::int AS n FROM intake_requests WHERE order_id = ANY($1)'),
    resendRequests: await count('SELECT count(*)::int AS n FROM resend_requests WHERE order_id = ANY($1)'),
    audit: (
      await fixtures.query(
        'SELECT id, event, actor, count, detail FROM audit_log WHERE order_id = ANY($1) ORDER BY id',
        [ids],
      )
    ).rows,
  };
}

const reveal = (token: string) =>
  fetch(`${base}/d/${token}/reveal`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: '',
  });

/** A statement of the attacker's: refused by the database (no privilege, or a row check), never run. */
async function refused(component: DatabaseComponent, sql: string, values: unknown[] = []) {
  const error = await pools
    .get(component)!
    .query(sql, values)
    .then(
      () => undefined,
      (err: { code?: string; message: string }) => err,
    );
  expect(error, `${component}: ${sql}`).toBeDefined();
  expect(error!.code, `${component}: ${sql}: ${error!.message}`).toBe('42501');
}

let before: Awaited<ReturnType<typeof snapshot>>;
const chosen = generateToken();

beforeAll(async () => {
  fixtures = fixturePool(2);
  for (const c of COMPONENTS) pools.set(c, createPool(databaseUrl(c), 1));
  seeder = await createSeeder(fixtures);
  live = await seeder.seed({ orderId: `test-roles-live-${randomUUID()}` });
  revealed = await seeder.seed({ orderId: `test-roles-revealed-${randomUUID()}`, consumed: true });
  revoked = await seeder.seed({ orderId: `test-roles-revoked-${randomUUID()}`, revoked: true });
  expired = await seeder.seed({ orderId: `test-roles-expired-${randomUUID()}`, expired: true });
  // Both orders are an intake caller's, bound to it as intake binds them.
  for (const o of [live, revealed]) {
    await fixtures.query('UPDATE orders SET caller = $2 WHERE order_id = $1', [o.orderId, CALLER]);
    await fixtures.query('INSERT INTO intake_requests (order_id, caller, request_hash) VALUES ($1, $2, $3)', [
      o.orderId,
      CALLER,
      hashToken(o.orderId),
    ]);
  }
  decryptor = await startDecryptor({ poolMax: 2 });
  app = await buildApp({
    db: pools.get('api')!,
    decryptor: decryptor.client,
    publicBaseUrl: config().PUBLIC_BASE_URL!,
    revealVisibleMs: 60_000,
    rateLimitPerMinute: 10_000,
    limitScope: `test-roles-${randomUUID()}`,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  before = await snapshot();
});

afterAll(async () => {
  await app?.close();
  await decryptor?.close();
  for (const pool of pools.values()) await pool.end();
  await fixtures?.query('DELETE FROM intake_requests WHERE order_id = ANY($1)', [
    [live?.orderId, revealed?.orderId],
  ]);
  await fixtures?.query('DELETE FROM resend_requests WHERE order_id = ANY($1)', [[live?.orderId]]);
  await seeder?.cleanup();
  seeder?.close();
  await fixtures?.end();
});

describe.each(COMPONENTS)("with the %s's own database credentials", (component) => {
  it('a chosen token cannot be inserted for an existing delivery, nor an existing one re-pointed', async () => {
    await refused(
      component,
      "INSERT INTO delivery_tokens (token_hash, delivery_id, order_id, expires_at) VALUES ($1, $2, $3, now() + interval '1 day')",
      [hashToken(chosen), live.deliveryId, live.orderId],
    );
    await refused(component, 'UPDATE delivery_tokens SET token_hash = $1 WHERE order_id = $2', [
      hashToken(chosen),
      live.orderId,
    ]);
  });

  it('a used, revoked or expired link cannot be re-armed', async () => {
    for (const [column, order] of [
      ['consumed_at', revealed],
      ['revoked_at', revoked],
      ['expired_at', expired],
    ] as const)
      await refused(component, `UPDATE delivery_tokens SET ${column} = NULL WHERE order_id = $1`, [
        order.orderId,
      ]);
  });

  it('no delivery and no delivery card can be inserted', async () => {
    await refused(
      component,
      "INSERT INTO deliveries (id, order_id, kind, card_count, expires_at) VALUES ($1, $2, 'batch', 2, now() + interval '1 day')",
      [`${live.orderId}:forged`, live.orderId],
    );
    await refused(
      component,
      'INSERT INTO delivery_cards (delivery_id, card_id) SELECT $1, id FROM cards WHERE order_id = $2',
      [revealed.deliveryId, live.orderId],
    );
  });

  it('a sent delivery cannot be reopened', async () => {
    await refused(component, 'UPDATE deliveries SET sent_at = NULL WHERE order_id = $1', [live.orderId]);
  });

  it('no card can be deleted but by the purge, and none changed but by a rewrap', async () => {
    await refused(component, 'DELETE FROM cards WHERE order_id = $1', [live.orderId]);
    await refused(component, 'DELETE FROM delivery_cards WHERE delivery_id = $1', [live.deliveryId]);
    await refused(component, 'UPDATE cards SET order_id = $2 WHERE order_id = $1', [
      revealed.orderId,
      live.orderId,
    ]);
  });

  it('no card is relabelled into another bucket or given another blind index without a new ciphertext', async () => {
    // The retention sweep's move changes all of them at once (migration 1796500000000); a relabel alone
    // would point a card at a bucket that cannot decrypt it, or slip a duplicate past the collect step.
    await refused(component, "UPDATE cards SET key_name = 'cards-2999-01' WHERE order_id = $1", [
      live.orderId,
    ]);
    await refused(component, "UPDATE cards SET blind_index = 'forged' || id WHERE order_id = $1", [
      live.orderId,
    ]);
    if (component !== 'retention')
      await refused(
        component,
        "UPDATE cards SET key_name = 'cards-2999-01', value_ct = serial_ct WHERE order_id = $1",
        [live.orderId],
      );
  });

  it('the audit trail is append-only', async () => {
    await refused(component, "UPDATE audit_log SET event = 'tampered' WHERE order_id = $1", [live.orderId]);
    await refused(component, 'DELETE FROM audit_log WHERE order_id = $1', [live.orderId]);
    await refused(component, 'TRUNCATE audit_log');
  });

  if (component !== 'api')
    it("intake bindings cannot be written (intake is the API's alone)", async () => {
      await refused(component, 'DELETE FROM intake_requests WHERE order_id = $1', [live.orderId]);
      await refused(
        component,
        'INSERT INTO intake_requests (order_id, caller, request_hash) VALUES ($1, $2, $3)',
        [`test-roles-claimed-${randomUUID()}`, 'another', hashToken('x')],
      );
    });

  if (component !== 'api')
    it("no Idempotency-Key answer can be planted for a caller, nor one read (the API's alone)", async () => {
      // A planted answer would be handed to the caller's retry instead of carrying its order out.
      await refused(
        component,
        `INSERT INTO intake_idempotency_keys (caller, idempotency_key, request_hash, status, response, expires_at)
         VALUES ($1, $2, $3, 202, '{"workflowId":"order-forged","existing":true}', now() + interval '1 day')`,
        [CALLER, randomUUID(), hashToken('x')],
      );
      await refused(component, 'SELECT response FROM intake_idempotency_keys WHERE caller = $1', [CALLER]);
    });

  it('no resend request can be forged in the table', async () => {
    await refused(
      component,
      "INSERT INTO resend_requests (order_id, requested_by, kind, expires_at) VALUES ($1, 'operator:mallory', 'redeliver', now() + interval '1 hour')",
      [live.orderId],
    );
  });

  if (component !== 'api')
    it("cannot ask for a resend as the order's caller", async () => {
      await refused(component, 'SELECT request_resend_as_caller($1, $2)', [live.orderId, CALLER]);
    });

  // The ops API (in the API process) records an operator's request under the identity it verified.
  if (component !== 'api')
    it('cannot ask for a resend as an operator', async () => {
      await refused(component, "SELECT request_resend_as_operator($1, 'operator:mallory', 'redeliver')", [
        live.orderId,
      ]);
    });

  if (component !== 'worker')
    it('cannot call the link-maker at all', async () => {
      await refused(component, "SELECT * FROM mint_delivery($1, $2, 'batch', 3600000, $3)", [
        live.deliveryId,
        live.orderId,
        hashToken(chosen),
      ]);
    });
});

describe("the worker's link-maker (mint_delivery), the worker's only way to a token", () => {
  const mint = (deliveryId: string, orderId: string, kind: 'batch' | 'resend') =>
    pools
      .get('worker')!
      .query('SELECT * FROM mint_delivery($1, $2, $3, 3600000, $4)', [
        deliveryId,
        orderId,
        kind,
        hashToken(chosen),
      ]);

  it('mints nothing for an existing delivery, sent or revealed', async () => {
    for (const o of [live, revealed]) {
      const { rows } = await mint(o.deliveryId, o.orderId, 'batch');
      expect(rows[0]).toMatchObject({ minted: false });
    }
  });

  it('mints nothing for a new batch of cards a sent link already covers', async () => {
    const { rows } = await mint(`${revealed.orderId}:batch-forged`, revealed.orderId, 'batch');
    expect(rows[0]).toMatchObject({ minted: false, card_count: 0 });
  });

  it('refuses a resend nobody asked for', async () => {
    await expect(mint(`${revealed.orderId}:resend-forged`, revealed.orderId, 'resend')).rejects.toMatchObject(
      {
        code: '42501',
        message: expect.stringMatching(/a resend needs a request/),
      },
    );
  });

  it("refuses another order's delivery", async () => {
    await expect(mint(live.deliveryId, revealed.orderId, 'batch')).rejects.toMatchObject({ code: '42501' });
  });
});

describe("the API's role, now that the decryptor reveals", () => {
  it("cannot consume a link or a reveal key, nor read or lock a card's ciphertext", async () => {
    await refused('api', 'UPDATE delivery_tokens SET consumed_at = now() WHERE order_id = $1', [
      live.orderId,
    ]);
    await refused('api', 'UPDATE reveal_keys SET consumed_at = now() WHERE order_id = $1', [live.orderId]);
    await refused('api', 'SELECT value_ct, serial_ct FROM cards WHERE order_id = $1', [live.orderId]);
    await refused('api', 'SELECT id FROM cards WHERE order_id = $1 FOR SHARE', [live.orderId]);
  });
});

describe('the shared role of earlier versions', () => {
  it('holds no grant on any table once the component roles are configured', async () => {
    const { rows } = await fixtures.query<{ roles: string[]; grants: number }>(
      `SELECT array_remove(ARRAY[current_setting('giftcards.worker_role', true), current_setting('giftcards.api_role', true),
                                 current_setting('giftcards.retention_role', true), current_setting('giftcards.cli_role', true)], NULL) AS roles,
              (SELECT count(*)::int FROM information_schema.role_table_grants
                WHERE grantee = current_setting('giftcards.app_role', true) AND table_schema = 'public') AS grants`,
    );
    expect(rows[0]!.roles).toHaveLength(4);
    expect(rows[0]!.grants).toBe(0);
  });
});

describe("the CLIs' role", () => {
  it('holds no grant on any table, sequence or function: the ops CLI acts through the ops API', async () => {
    const { rows } = await fixtures.query<{ tables: number; functions: number }>(
      `SELECT (SELECT count(*)::int FROM information_schema.role_table_grants
                WHERE grantee = current_setting('giftcards.cli_role', true) AND table_schema = 'public') AS tables,
              (SELECT count(*)::int FROM information_schema.role_routine_grants
                WHERE grantee = current_setting('giftcards.cli_role', true) AND routine_schema = 'public') AS functions`,
    );
    expect(rows[0]).toEqual({ tables: 0, functions: 0 });
    await refused('cli', 'SELECT order_id FROM orders LIMIT 1');
  });
});

describe('after every forgery', () => {
  it('the chosen token reveals nothing', async () => {
    const res = await reveal(chosen);
    expect(res.status).toBe(404);
    const body = await res.text();
    for (const o of [live, revealed, revoked, expired])
      for (const c of o.cards) expect(body).not.toContain(c.value);
  });

  it('the used, revoked and expired links stay so, and the live one reveals its own cards once', async () => {
    for (const o of [revealed, revoked, expired]) expect((await reveal(o.token)).status).toBe(410);
    const now = await snapshot();
    // Nothing changed: not a row, not a link, not an audit row (the forged "batch" made no delivery).
    expect(now).toEqual(before);
    const res = await reveal(live.token);
    expect(res.status).toBe(200);
    const body = await res.text();
    for (const c of live.cards) expect(body).toContain(c.value);
    expect((await reveal(live.token)).status).toBe(410);
  });
});
